#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <string_view>
#include <vector>

// EDID 1.4 base blocks for the guest's virtual monitors: a guest takes its preferred mode and
// refresh rate from GET_EDID, so the block carries one detailed timing for the configured size,
// and, as QEMU's EDID does, the smaller standard and established modes a guest's display
// settings may pick instead.
namespace tessera::gpu {

inline constexpr uint32_t edid_max_active = 4095; // 12-bit fields of a detailed timing
inline constexpr uint32_t edid_min_refresh_mhz = 1'000;
inline constexpr uint32_t edid_max_refresh_mhz = 1'000'000;

struct EdidMode {
    uint32_t width = 0;
    uint32_t height = 0;
    uint32_t refresh_mhz = 60'000;
};

// A CVT reduced-blanking-like timing: horizontal blanking of 160, vertical blanking of at least
// 460 us, pixel clock rounded to the 10 kHz unit of a detailed timing descriptor. Modes so small
// that the clock would stay under 10 MHz get longer blanking (same refresh rate).
struct DetailedTiming {
    uint32_t h_active, h_blank, h_front, h_sync;
    uint32_t v_active, v_blank, v_front, v_sync;
    uint32_t pixel_clock_10khz;
    uint32_t width_mm, height_mm;
};

enum class EdidError {
    size_out_of_range,    // width or height is 0 or above edid_max_active
    refresh_out_of_range, // outside [edid_min_refresh_mhz, edid_max_refresh_mhz]
    pixel_clock_too_high, // above the 655.35 MHz a descriptor can hold
};
[[nodiscard]] std::string_view describe(EdidError error);

[[nodiscard]] std::expected<DetailedTiming, EdidError> compute_timing(const EdidMode& mode);

// The modes offered besides the preferred one, all at 60 Hz and inside it (never larger in
// either direction, never the same size): the established 640x480, 800x600 and 1024x768, and
// up to eight standard timings of common sizes, largest first.
struct OtherModes {
    std::vector<EdidMode> established;
    std::vector<EdidMode> standard;
};
[[nodiscard]] OtherModes other_modes(const EdidMode& preferred);

// A valid 128-byte block (checksum included, no extensions); `serial` tells monitors apart.
// Modes a detailed timing cannot hold are refused, not clamped: the guest then falls back to
// the display info's modes, which still have the right size.
[[nodiscard]] std::expected<std::array<uint8_t, 128>, EdidError> make_edid(const EdidMode& mode,
                                                                           uint32_t serial = 0);

} // namespace tessera::gpu
