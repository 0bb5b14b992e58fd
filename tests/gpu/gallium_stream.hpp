#pragma once

#include <bit>
#include <cstdint>
#include <vector>

// Pieces of virgl's Gallium command stream (virglrenderer's virgl_protocol.h), as Mesa's
// virgl driver in a guest sends them: enough for a test to render real frames on the host.
namespace tessera::gpu::test::gallium {

// A command's header dword: the command, the object kind it creates, the payload length.
constexpr uint32_t header(uint32_t cmd, uint32_t object, uint32_t length) {
    return cmd | object << 8 | length << 16;
}
inline constexpr uint32_t create_object = 1;
inline constexpr uint32_t set_framebuffer_state = 5;
inline constexpr uint32_t clear_cmd = 7;
inline constexpr uint32_t object_surface = 8;
inline constexpr uint32_t clear_color0 = 1 << 2;
inline constexpr uint32_t format_b8g8r8x8 = 2;
// Bind flags of a resource Mesa scans out: a render target the display reads.
inline constexpr uint32_t bind_render_target = 1 << 1;
inline constexpr uint32_t bind_scanout = 1 << 18;

// Surface `handle` over level 0 of `resource` (a B8G8R8X8 render target).
inline std::vector<uint32_t> create_surface(uint32_t handle, uint32_t resource) {
    return {header(create_object, object_surface, 5), handle, resource, format_b8g8r8x8, 0, 0};
}

// Makes `surface` the only colour buffer and clears it to (r, g, b).
inline std::vector<uint32_t> clear(uint32_t surface, float r, float g, float b) {
    return {header(set_framebuffer_state, 0, 3),
            1,
            0,
            surface,
            header(clear_cmd, 0, 8),
            clear_color0,
            std::bit_cast<uint32_t>(r),
            std::bit_cast<uint32_t>(g),
            std::bit_cast<uint32_t>(b),
            std::bit_cast<uint32_t>(1.0f),
            0,
            0,
            0};
}

inline std::vector<uint32_t> operator+(std::vector<uint32_t> a, const std::vector<uint32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

} // namespace tessera::gpu::test::gallium
