#include "gpu-backend/virtio_gpu/edid.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <span>
#include <string_view>

namespace tessera::gpu {
namespace {

constexpr uint32_t h_blank = 160, h_front = 48, h_sync = 32;
constexpr uint32_t v_front = 3, v_back_min = 6, min_v_blank_us = 460;
constexpr uint64_t max_pixel_clock_10khz = 0xffff;
constexpr uint64_t min_pixel_clock_hz = 10'000'000;
constexpr uint32_t max_blank = 4095; // 12-bit fields
constexpr uint32_t dpi = 96;

// The established timings offered (VESA DMT, 60 Hz): where their bit sits in bytes 35-36, and
// their line rate and pixel clock for the range limits.
struct Established {
    uint32_t width, height;
    size_t byte;
    uint8_t bit;
    double h_khz, clock_mhz;
};
constexpr std::array<Established, 3> established_modes{{
    {640, 480, 35, 5, 31.469, 25.175},
    {800, 600, 35, 0, 37.879, 40.0},
    {1024, 768, 36, 3, 48.363, 65.0},
}};

// Standard timing sizes (width a multiple of 8, an aspect ratio a standard timing can say),
// largest first. Aspect codes of EDID 1.3+: 0 16:10, 1 4:3, 2 5:4, 3 16:9.
struct Standard {
    uint32_t width, height;
    uint8_t aspect;
};
constexpr std::array<Standard, 13> standard_modes{{
    {1920, 1200, 0},
    {1920, 1080, 3},
    {1680, 1050, 0},
    {1600, 1200, 1},
    {1600, 900, 3},
    {1440, 900, 0},
    {1400, 1050, 1},
    {1280, 1024, 2},
    {1280, 960, 1},
    {1280, 800, 0},
    {1280, 720, 3},
    {1152, 864, 1},
    {1024, 576, 3},
}};
constexpr size_t max_standard = 8;
constexpr uint32_t other_refresh_hz = 60;

bool fits_inside(uint32_t w, uint32_t h, const EdidMode& preferred) {
    return w <= preferred.width && h <= preferred.height &&
           !(w == preferred.width && h == preferred.height);
}

// A guest builds a standard timing with CVT (normal blanking): its line rate and pixel clock,
// estimated from CVT's formulas (vertical blanking of 550 us, blanking duty cycle
// 30% - 300 kHz / line rate). The range limits get a margin on top.
void cvt_estimate(uint32_t w, uint32_t h, double& h_khz, double& clock_mhz) {
    double lines = h / (1.0 - 550e-6 * other_refresh_hz) + 3;
    h_khz = lines * other_refresh_hz / 1000.0;
    double duty = (30.0 - 300.0 / h_khz) / 100.0;
    clock_mhz = w / (1.0 - duty) * h_khz / 1000.0;
}

// CVT picks the vertical sync width from the aspect ratio; other ratios use 10 lines.
uint32_t vsync_lines(uint32_t w, uint32_t h) {
    uint64_t w64 = w, h64 = h;
    if (w64 * 3 == h64 * 4) {
        return 4;
    }
    if (w64 * 9 == h64 * 16) {
        return 5;
    }
    if (w64 * 10 == h64 * 16) {
        return 6;
    }
    if (w64 * 4 == h64 * 5 || w64 * 9 == h64 * 15) {
        return 7;
    }
    return 10;
}

// Parsers (edid-decode, some sinks) take a detailed timing under 10 MHz for garbage. Tiny
// modes get longer back porches instead, horizontal first, which keeps the refresh rate; with
// both blankings at their 12-bit maximum every mode from 1 Hz up reaches 16 MHz.
void stretch_blanking(DetailedTiming& t, uint64_t refresh_mhz) {
    const uint64_t min_total = (min_pixel_clock_hz * 1000 + refresh_mhz - 1) / refresh_mhz;
    auto h_total = [&] { return uint64_t{t.h_active} + t.h_blank; };
    auto v_total = [&] { return uint64_t{t.v_active} + t.v_blank; };
    if (h_total() * v_total() >= min_total) {
        return;
    }
    uint64_t h_needed = (min_total + v_total() - 1) / v_total();
    t.h_blank = static_cast<uint32_t>(std::min<uint64_t>(h_needed - t.h_active, max_blank));
    if (h_total() * v_total() < min_total) {
        uint64_t v_needed = (min_total + h_total() - 1) / h_total();
        t.v_blank = static_cast<uint32_t>(std::min<uint64_t>(v_needed - t.v_active, max_blank));
    }
}

uint32_t to_mm(uint32_t pixels) {
    return std::max<uint32_t>(1, (pixels * 254 + dpi * 5) / (dpi * 10));
}

void write_timing(std::span<uint8_t, 18> d, const DetailedTiming& t) {
    d[0] = t.pixel_clock_10khz & 0xff;
    d[1] = (t.pixel_clock_10khz >> 8) & 0xff;
    d[2] = t.h_active & 0xff;
    d[3] = t.h_blank & 0xff;
    d[4] = static_cast<uint8_t>(((t.h_active >> 8) & 0xf) << 4 | ((t.h_blank >> 8) & 0xf));
    d[5] = t.v_active & 0xff;
    d[6] = t.v_blank & 0xff;
    d[7] = static_cast<uint8_t>(((t.v_active >> 8) & 0xf) << 4 | ((t.v_blank >> 8) & 0xf));
    d[8] = t.h_front & 0xff;
    d[9] = t.h_sync & 0xff;
    d[10] = static_cast<uint8_t>((t.v_front & 0xf) << 4 | (t.v_sync & 0xf));
    d[11] = static_cast<uint8_t>(((t.h_front >> 8) & 3) << 6 | ((t.h_sync >> 8) & 3) << 4 |
                                 ((t.v_front >> 4) & 3) << 2 | ((t.v_sync >> 4) & 3));
    d[12] = t.width_mm & 0xff;
    d[13] = t.height_mm & 0xff;
    d[14] = static_cast<uint8_t>(((t.width_mm >> 8) & 0xf) << 4 | ((t.height_mm >> 8) & 0xf));
    d[15] = 0; // no borders
    d[16] = 0;
    d[17] = 0x1a; // digital separate sync, hsync +, vsync - (as CVT-RB)
}

// Display descriptor: 0, 0, 0, tag, 0, then 13 bytes of text ended by '\n', padded by ' '.
void write_text(std::span<uint8_t, 18> d, uint8_t tag, std::string_view text) {
    std::ranges::fill(d, 0);
    d[3] = tag;
    auto len = std::min<size_t>(text.size(), 13);
    for (size_t i = 0; i < 13; ++i) {
        char c = i < len ? text[i] : i == len ? '\n' : ' ';
        d[5 + i] = static_cast<uint8_t>(c);
    }
}

// Range limits around the offered modes; left as a dummy descriptor when a rate needs the
// offset flags (above 255), which a non-continuous-frequency 1.4 display may omit.
void write_range_limits(std::span<uint8_t, 18> d, const DetailedTiming& t, uint32_t refresh_mhz,
                        const OtherModes& others) {
    std::ranges::fill(d, 0);
    uint64_t h_total = t.h_active + t.h_blank;
    uint64_t clock_hz = uint64_t{t.pixel_clock_10khz} * 10'000;
    // One unit of slack each way: the rounded pixel clock moves the rates a little.
    auto minus_one = [](uint64_t v) { return v > 2 ? v - 1 : 1; };
    uint64_t v_min = minus_one(refresh_mhz / 1000);
    uint64_t v_max = (refresh_mhz + 999) / 1000 + 1;
    uint64_t h_khz_min = minus_one(clock_hz / h_total / 1000);
    uint64_t h_khz_max = (clock_hz / h_total + 999) / 1000 + 1;
    uint64_t clock_10mhz = (clock_hz + 9'999'999) / 10'000'000;
    auto cover = [&](double h_khz, double clock_mhz) {
        v_min = std::min<uint64_t>(v_min, other_refresh_hz - 1);
        v_max = std::max<uint64_t>(v_max, other_refresh_hz + 1);
        h_khz_min = std::min(h_khz_min, minus_one(static_cast<uint64_t>(h_khz)));
        h_khz_max = std::max(h_khz_max, static_cast<uint64_t>(std::ceil(h_khz)) + 1);
        clock_10mhz = std::max(clock_10mhz, static_cast<uint64_t>(std::ceil(clock_mhz / 10)) + 1);
    };
    for (const auto& m : others.established) {
        for (const auto& e : established_modes) {
            if (e.width == m.width && e.height == m.height) {
                cover(e.h_khz, e.clock_mhz);
            }
        }
    }
    for (const auto& m : others.standard) {
        double h_khz = 0, clock_mhz = 0;
        cvt_estimate(m.width, m.height, h_khz, clock_mhz);
        cover(h_khz, clock_mhz);
    }
    if (v_max > 255 || h_khz_max > 255 || clock_10mhz > 255) {
        d[3] = 0x10;
        return;
    }
    d[3] = 0xfd;
    d[5] = static_cast<uint8_t>(v_min);
    d[6] = static_cast<uint8_t>(v_max);
    d[7] = static_cast<uint8_t>(h_khz_min);
    d[8] = static_cast<uint8_t>(h_khz_max);
    d[9] = static_cast<uint8_t>(std::max<uint64_t>(1, clock_10mhz));
    d[10] = 0x01; // range limits only
    d[11] = '\n';
    std::fill(d.begin() + 12, d.end(), ' ');
}

// Chromaticity in 10-bit fixed point (value * 1024), sRGB primaries and D65 white.
void write_chromaticity(std::span<uint8_t> e) {
    constexpr std::array<uint32_t, 8> c{655, 338, 307, 614, 154, 61, 320, 337}; // rx ry gx ...
    e[25] = static_cast<uint8_t>((c[0] & 3) << 6 | (c[1] & 3) << 4 | (c[2] & 3) << 2 | (c[3] & 3));
    e[26] = static_cast<uint8_t>((c[4] & 3) << 6 | (c[5] & 3) << 4 | (c[6] & 3) << 2 | (c[7] & 3));
    for (size_t i = 0; i < c.size(); ++i) {
        e[27 + i] = static_cast<uint8_t>(c[i] >> 2);
    }
}

// Bytes 35-37 and 38-53: the established timings' bits, the standard timings (unused: 01 01).
void write_other_modes(std::span<uint8_t> e, const OtherModes& others) {
    for (const auto& m : others.established) {
        for (const auto& est : established_modes) {
            if (est.width == m.width && est.height == m.height) {
                e[est.byte] = static_cast<uint8_t>(e[est.byte] | 1u << est.bit);
            }
        }
    }
    std::fill(e.begin() + 38, e.begin() + 54, uint8_t{0x01});
    size_t slot = 0;
    for (const auto& m : others.standard) {
        for (const auto& std_mode : standard_modes) {
            if (std_mode.width == m.width && std_mode.height == m.height) {
                e[38 + 2 * slot] = static_cast<uint8_t>(m.width / 8 - 31);
                e[39 + 2 * slot] =
                    static_cast<uint8_t>(std_mode.aspect << 6 | (other_refresh_hz - 60));
                ++slot;
            }
        }
    }
}

} // namespace

OtherModes other_modes(const EdidMode& preferred) {
    OtherModes others;
    for (const auto& e : established_modes) {
        if (fits_inside(e.width, e.height, preferred)) {
            others.established.push_back({e.width, e.height, other_refresh_hz * 1000});
        }
    }
    for (const auto& s : standard_modes) {
        if (others.standard.size() < max_standard && fits_inside(s.width, s.height, preferred)) {
            others.standard.push_back({s.width, s.height, other_refresh_hz * 1000});
        }
    }
    return others;
}

std::string_view describe(EdidError error) {
    switch (error) {
    case EdidError::size_out_of_range:
        return "size outside 1..4095";
    case EdidError::refresh_out_of_range:
        return "refresh rate outside 1..1000 Hz";
    case EdidError::pixel_clock_too_high:
        return "pixel clock above 655.35 MHz";
    }
    return "?";
}

std::expected<DetailedTiming, EdidError> compute_timing(const EdidMode& mode) {
    if (mode.width == 0 || mode.height == 0 || mode.width > edid_max_active ||
        mode.height > edid_max_active) {
        return std::unexpected(EdidError::size_out_of_range);
    }
    if (mode.refresh_mhz < edid_min_refresh_mhz || mode.refresh_mhz > edid_max_refresh_mhz) {
        return std::unexpected(EdidError::refresh_out_of_range);
    }
    DetailedTiming t{};
    t.h_active = mode.width;
    t.h_blank = h_blank;
    t.h_front = h_front;
    t.h_sync = h_sync;
    t.v_active = mode.height;
    t.v_front = v_front;
    t.v_sync = vsync_lines(mode.width, mode.height);
    // Lines in 460 us: 460 / ((frame period - 460) / v_active), all in microseconds, where the
    // frame period is 1e9 / refresh_mhz; multiplied through to stay in integers.
    uint64_t refresh = mode.refresh_mhz;
    uint64_t lines = uint64_t{min_v_blank_us} * mode.height * refresh /
                         (1'000'000'000 - uint64_t{min_v_blank_us} * refresh) +
                     1;
    t.v_blank = static_cast<uint32_t>(std::max<uint64_t>(lines, v_front + t.v_sync + v_back_min));
    stretch_blanking(t, refresh);
    uint64_t total = uint64_t{t.h_active + t.h_blank} * (t.v_active + t.v_blank);
    uint64_t clock = (total * refresh + 5'000'000) / 10'000'000;
    if (clock > max_pixel_clock_10khz) {
        return std::unexpected(EdidError::pixel_clock_too_high);
    }
    t.pixel_clock_10khz = static_cast<uint32_t>(clock);
    t.width_mm = to_mm(mode.width);
    t.height_mm = to_mm(mode.height);
    return t;
}

std::expected<std::array<uint8_t, 128>, EdidError> make_edid(const EdidMode& mode,
                                                             uint32_t serial) {
    auto timing = compute_timing(mode);
    if (!timing) {
        return std::unexpected(timing.error());
    }
    std::array<uint8_t, 128> e{};
    constexpr std::array<uint8_t, 8> header{0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    std::ranges::copy(header, e.begin());
    // Manufacturer "TSR": three 5-bit letters ('A' = 1), big-endian.
    constexpr uint16_t vendor = ('T' - '@') << 10 | ('S' - '@') << 5 | ('R' - '@');
    e[8] = vendor >> 8;
    e[9] = vendor & 0xff;
    e[10] = 0x01; // product code 1, little-endian
    e[11] = 0x00;
    for (size_t i = 0; i < 4; ++i) {
        e[12 + i] = static_cast<uint8_t>(serial >> (8 * i));
    }
    e[16] = 0;           // week unspecified
    e[17] = 2025 - 1990; // year of manufacture
    e[18] = 1;           // EDID 1.4
    e[19] = 4;
    e[20] = 0xa0; // digital input, 8 bits per colour, interface unspecified
    e[21] = static_cast<uint8_t>(std::clamp<uint32_t>((timing->width_mm + 5) / 10, 1, 255));
    e[22] = static_cast<uint8_t>(std::clamp<uint32_t>((timing->height_mm + 5) / 10, 1, 255));
    e[23] = 120;  // gamma 2.2
    e[24] = 0x06; // RGB 4:4:4, sRGB default colour space, preferred timing is native
    write_chromaticity(e);
    auto others = other_modes(mode);
    write_other_modes(e, others);
    auto descriptor = [&](size_t i) { return std::span<uint8_t, 18>(e.data() + 54 + 18 * i, 18); };
    write_timing(descriptor(0), *timing);
    write_text(descriptor(1), 0xfc, "tessera");
    write_range_limits(descriptor(2), *timing, mode.refresh_mhz, others);
    std::ranges::fill(descriptor(3), 0);
    descriptor(3)[3] = 0x10; // dummy
    e[126] = 0;              // no extension blocks
    uint8_t sum = 0;
    for (size_t i = 0; i < 127; ++i) {
        sum = static_cast<uint8_t>(sum + e[i]);
    }
    e[127] = static_cast<uint8_t>(0x100 - sum);
    return e;
}

} // namespace tessera::gpu
