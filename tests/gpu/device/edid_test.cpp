#include "gpu-backend/virtio_gpu/edid.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

using namespace tessera::gpu;

namespace {

// An independent reading of the first detailed timing descriptor (EDID 1.4, section 3.10.2).
struct ParsedTiming {
    uint32_t clock_10khz, h_active, h_blank, v_active, v_blank, h_front, h_sync, v_front, v_sync;
    uint32_t width_mm, height_mm;
    double refresh_hz() const {
        return clock_10khz * 10'000.0 / ((h_active + h_blank) * double(v_active + v_blank));
    }
};

ParsedTiming parse_dtd(const std::array<uint8_t, 128>& e, size_t at = 54) {
    const uint8_t* d = e.data() + at;
    ParsedTiming t{};
    t.clock_10khz = d[0] | d[1] << 8;
    t.h_active = d[2] | (d[4] >> 4) << 8;
    t.h_blank = d[3] | (d[4] & 0xf) << 8;
    t.v_active = d[5] | (d[7] >> 4) << 8;
    t.v_blank = d[6] | (d[7] & 0xf) << 8;
    t.h_front = d[8] | (d[11] >> 6) << 8;
    t.h_sync = d[9] | ((d[11] >> 4) & 3) << 8;
    t.v_front = (d[10] >> 4) | ((d[11] >> 2) & 3) << 4;
    t.v_sync = (d[10] & 0xf) | (d[11] & 3) << 4;
    t.width_mm = d[12] | (d[14] >> 4) << 8;
    t.height_mm = d[13] | (d[14] & 0xf) << 8;
    return t;
}

std::string descriptor_text(const std::array<uint8_t, 128>& e, uint8_t tag) {
    for (size_t at = 72; at < 126; at += 18) {
        if (e[at] == 0 && e[at + 1] == 0 && e[at + 3] == tag) {
            std::string text(e.begin() + at + 5, e.begin() + at + 18);
            return text.substr(0, text.find('\n'));
        }
    }
    return {};
}

} // namespace

TEST_CASE("EDID base block: header, vendor, version, checksum", "[edid]") {
    auto edid = make_edid({1920, 1080, 60'000}, 7);
    REQUIRE(edid);
    const auto& e = *edid;
    CHECK(std::vector<uint8_t>(e.begin(), e.begin() + 8) ==
          std::vector<uint8_t>{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0});
    // "TSR": 5-bit letters, 'A' = 1.
    uint16_t vendor = static_cast<uint16_t>(e[8] << 8 | e[9]);
    CHECK(char('@' + ((vendor >> 10) & 31)) == 'T');
    CHECK(char('@' + ((vendor >> 5) & 31)) == 'S');
    CHECK(char('@' + (vendor & 31)) == 'R');
    CHECK(e[12] == 7); // serial
    CHECK((e[18] == 1 && e[19] == 4));
    CHECK((e[20] & 0x80) != 0); // digital
    CHECK((e[21] > 0 && e[22] > 0));
    CHECK(e[126] == 0); // no extensions
    CHECK(std::accumulate(e.begin(), e.end(), 0u) % 256 == 0);
    CHECK(descriptor_text(e, 0xfc) == "tessera");
}

TEST_CASE("EDID's detailed timing gives back the mode", "[edid]") {
    auto [w, h, mhz] = GENERATE(table<uint32_t, uint32_t, uint32_t>({
        {1920, 1080, 60'000},
        {641, 479, 60'000},
        {3840, 1080, 60'000},
        {1024, 768, 75'000},
        {1280, 800, 59'940},
        {2560, 1440, 144'000},
        {4095, 4095, 30'000},
        {320, 200, 60'000},
        {1, 1, 60'000},
        {4095, 1, 1'000},
    }));
    CAPTURE(w, h, mhz);
    auto edid = make_edid({w, h, mhz});
    REQUIRE(edid);
    CHECK(std::accumulate(edid->begin(), edid->end(), 0u) % 256 == 0);
    auto t = parse_dtd(*edid);
    CHECK(t.h_active == w);
    CHECK(t.v_active == h);
    CHECK(t.h_blank >= 160);
    if (uint64_t{w} * h >= 1920 * 1080 / 4) {
        CHECK(t.h_blank == 160);
    }
    CHECK(t.clock_10khz >= 1000); // parsers take a slower clock for garbage
    CHECK(t.h_front + t.h_sync <= t.h_blank);
    CHECK(t.v_front + t.v_sync < t.v_blank);
    // The pixel clock is rounded to 10 kHz: the refresh is off by at most half a unit.
    double tolerance = 5'000.0 / ((t.h_active + t.h_blank) * double(t.v_active + t.v_blank));
    CHECK(std::abs(t.refresh_hz() - mhz / 1000.0) <= tolerance + 1e-9);
    // At least 460 us of vertical blanking.
    double line_us = 1e6 / (t.refresh_hz() * (t.v_active + t.v_blank));
    CHECK(t.v_blank * line_us >= 460.0 * 0.99);
    CHECK((t.width_mm >= 1 && t.height_mm >= 1));
    CHECK((*edid)[54 + 17] == 0x1a);

    // The same timing as compute_timing reports.
    auto c = compute_timing({w, h, mhz});
    REQUIRE(c);
    CHECK(c->pixel_clock_10khz == t.clock_10khz);
    CHECK(c->v_blank == t.v_blank);
}

TEST_CASE("EDID for 1920x1080@60 matches CVT reduced blanking", "[edid]") {
    auto t = parse_dtd(make_edid({1920, 1080, 60'000}).value());
    CHECK(t.h_active + t.h_blank == 2080);
    CHECK(t.v_active + t.v_blank == 1111);
    CHECK(t.v_sync == 5); // 16:9
    CHECK(t.clock_10khz == 13865);
}

TEST_CASE("EDID range limits cover the mode, or are left out", "[edid]") {
    auto e = make_edid({1920, 1080, 60'000}).value();
    REQUIRE(e[90 + 3] == 0xfd);
    CHECK(e[90 + 5] <= 60);
    CHECK(e[90 + 6] >= 60);
    CHECK(e[90 + 9] * 10 >= 139); // max pixel clock, MHz

    auto fast = make_edid({640, 480, 400'000}).value(); // 400 Hz does not fit a byte
    CHECK(fast[90 + 3] == 0x10);
    CHECK(std::accumulate(fast.begin(), fast.end(), 0u) % 256 == 0);
}

namespace {

struct Size {
    uint32_t width, height, hz;
    bool operator==(const Size&) const = default;
};

// An independent reading of the standard timings (EDID 1.4, section 3.9).
std::vector<Size> standard_timings(const std::array<uint8_t, 128>& e) {
    std::vector<Size> sizes;
    for (size_t at = 38; at < 54; at += 2) {
        if (e[at] == 0x01 && e[at + 1] == 0x01) {
            continue;
        }
        uint32_t w = (e[at] + 31u) * 8;
        uint32_t h = 0;
        switch (e[at + 1] >> 6) {
        case 0:
            h = w * 10 / 16;
            break;
        case 1:
            h = w * 3 / 4;
            break;
        case 2:
            h = w * 4 / 5;
            break;
        default:
            h = w * 9 / 16;
            break;
        }
        sizes.push_back({w, h, (e[at + 1] & 0x3fu) + 60});
    }
    return sizes;
}

} // namespace

TEST_CASE("EDID offers the established and standard modes inside the preferred one", "[edid]") {
    auto full_hd = make_edid({1920, 1080, 60'000}).value();
    CHECK(full_hd[35] == 0x21); // 640x480@60, 800x600@60
    CHECK(full_hd[36] == 0x08); // 1024x768@60
    CHECK(full_hd[37] == 0x00);
    CHECK(standard_timings(full_hd) == std::vector<Size>{{1680, 1050, 60},
                                                         {1600, 900, 60},
                                                         {1440, 900, 60},
                                                         {1400, 1050, 60},
                                                         {1280, 1024, 60},
                                                         {1280, 960, 60},
                                                         {1280, 800, 60},
                                                         {1280, 720, 60}});
    CHECK(std::accumulate(full_hd.begin(), full_hd.end(), 0u) % 256 == 0);

    // Never the preferred size itself, never larger in either direction.
    auto xga = make_edid({1024, 768, 75'000}).value();
    CHECK(xga[35] == 0x21);
    CHECK(xga[36] == 0x00);
    CHECK(standard_timings(xga) == std::vector<Size>{{1024, 576, 60}});
    auto vga = make_edid({640, 480, 60'000}).value();
    CHECK((vga[35] == 0 && vga[36] == 0));
    CHECK(standard_timings(vga).empty());
    auto portrait = make_edid({720, 1280, 60'000}).value();
    CHECK(portrait[35] == 0x20); // 640x480 only
    CHECK(standard_timings(portrait).empty());

    // The range limits cover the 60 Hz modes too, with their line rates and clocks.
    REQUIRE(xga[90 + 3] == 0xfd);
    CHECK(xga[90 + 5] <= 59);
    CHECK(xga[90 + 6] >= 76);
    CHECK(xga[90 + 7] <= 31); // 640x480: 31.5 kHz
    CHECK(xga[90 + 8] >= 60); // 1024x768@75 (the preferred): about 60 kHz
}

TEST_CASE("EDID refuses modes a detailed timing cannot hold", "[edid]") {
    CHECK(make_edid({4096, 1080, 60'000}).error() == EdidError::size_out_of_range);
    CHECK(make_edid({1920, 4096, 60'000}).error() == EdidError::size_out_of_range);
    CHECK(make_edid({0, 1080, 60'000}).error() == EdidError::size_out_of_range);
    CHECK(make_edid({1920, 1080, 0}).error() == EdidError::refresh_out_of_range);
    CHECK(make_edid({1920, 1080, 999}).error() == EdidError::refresh_out_of_range);
    CHECK(make_edid({1920, 1080, 1'000'001}).error() == EdidError::refresh_out_of_range);
    CHECK(make_edid({3840, 2160, 144'000}).error() == EdidError::pixel_clock_too_high);
    CHECK_FALSE(describe(EdidError::pixel_clock_too_high).empty());
}
