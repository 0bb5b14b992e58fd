#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

// The 3D part of the virtio-gpu wire protocol: rendering contexts, 3D resources, transfers
// between a resource's guest backing and its host copy, command buffers for a context's
// renderer, and the capability sets a guest driver reads first. The command buffers themselves
// (virgl's Gallium stream, venus's Vulkan stream) are opaque here: the renderer parses them.
// The structures are what protocol.hpp decodes; sizes are exact minimum byte counts, header
// included.
namespace tessera::gpu::proto {

namespace cmd_type {
inline constexpr uint32_t ctx_create = 0x200;
inline constexpr uint32_t ctx_destroy = 0x201;
inline constexpr uint32_t ctx_attach_resource = 0x202;
inline constexpr uint32_t ctx_detach_resource = 0x203;
inline constexpr uint32_t resource_create_3d = 0x204;
inline constexpr uint32_t transfer_to_host_3d = 0x205;
inline constexpr uint32_t transfer_from_host_3d = 0x206;
inline constexpr uint32_t submit_3d = 0x207;
} // namespace cmd_type

inline constexpr uint32_t capset_virgl = 1;
inline constexpr uint32_t capset_virgl2 = 2;
inline constexpr uint32_t capset_venus = 4;

// The largest command buffer a guest may submit at once. Mesa's virgl driver flushes at 256 KiB
// (VIRGL_MAX_CMDBUF_DWORDS); venus batches stay below 1 MiB as well.
inline constexpr uint32_t max_submit_bytes = 1u << 20;
// The longest capability set a renderer may report (virgl2's is 1.4 KiB, venus's smaller).
inline constexpr uint32_t max_capset_bytes = 64 * 1024;
inline constexpr size_t context_name_max = 64;

// CONTEXT_INIT's low byte names the capset (the renderer kind) a context speaks; 0: virgl.
inline constexpr uint32_t context_init_capset_id_mask = 0xff;

struct Box {
    uint32_t x, y, z, w, h, d;
    bool operator==(const Box&) const = default;
};

struct CtxCreate {
    static constexpr size_t wire_size = 96;
    uint32_t context_init;       // 0 unless the guest negotiated CONTEXT_INIT
    std::string_view debug_name; // at most context_name_max bytes, inside the request
};
struct CtxDestroy {
    static constexpr size_t wire_size = 24;
};
// CTX_ATTACH_RESOURCE and CTX_DETACH_RESOURCE share one layout; `attach` tells them apart.
struct CtxResource {
    static constexpr size_t wire_size = 32;
    bool attach;
    uint32_t resource_id;
};
struct ResourceCreate3d {
    static constexpr size_t wire_size = 72;
    uint32_t resource_id, target, format, bind, width, height, depth, array_size, last_level,
        nr_samples, flags;
};
// TRANSFER_TO_HOST_3D and TRANSFER_FROM_HOST_3D share one layout; `to_host` tells them apart.
struct Transfer3d {
    static constexpr size_t wire_size = 72;
    bool to_host;
    Box box;
    uint64_t offset;
    uint32_t resource_id, level, stride, layer_stride;
};
struct Submit3d {
    static constexpr size_t wire_size = 32; // + size bytes of commands
    std::span<const std::byte> commands;    // inside the request
};
struct GetCapsetInfo {
    static constexpr size_t wire_size = 32;
    uint32_t capset_index;
};
struct GetCapset {
    static constexpr size_t wire_size = 32;
    uint32_t capset_id, capset_version;
};

} // namespace tessera::gpu::proto
