#include "device_fixture.hpp"

#include "gpu-backend/virtio_gpu/edid.hpp"

#include <catch2/catch_test_macros.hpp>

#include <array>

using namespace tessera::gpu;
using namespace tessera::gpu::test;
using proto::Response;

namespace {

constexpr uint32_t ok = code(Response::ok_nodata);

// The guest-side pixel value used in these tests: byte i of the framebuffer.
std::byte pattern(uint64_t i) {
    return static_cast<std::byte>(i * 7 + 3);
}

void paint(const GuestFixture& g, const std::vector<uint64_t>& pages, uint64_t bytes) {
    for (uint64_t i = 0; i < bytes; ++i) {
        g.write_fb(pages, i, pattern(i));
    }
}

} // namespace

TEST_CASE("GET_DISPLAY_INFO reports one enabled mode per scanout", "[device]") {
    GuestFixture g;
    auto response = g.device.process_control(get_display_info(fenced(3))).value();
    REQUIRE(response.size() == proto::display_info_size);
    auto h = response_header(response);
    CHECK(h.type == code(Response::ok_display_info));
    CHECK((h.flags == proto::flag_fence && h.fence_id == 3));
    proto::WireReader r{std::span(response).subspan(24)};
    CHECK((r.u32() == 0 && r.u32() == 0 && r.u32() == 640 && r.u32() == 480 && r.u32() == 1));
    r.u32();
    CHECK((r.u32() == 0 && r.u32() == 0 && r.u32() == 1280 && r.u32() == 720 && r.u32() == 1));
    r.u32();
    CHECK((r.u32() == 0 && r.u32() == 0 && r.u32() == 0 && r.u32() == 0 && r.u32() == 0));

    CHECK(g.device.set_scanout_config(0, {800, 600, 60'000}));
    CHECK_FALSE(g.device.set_scanout_config(2, {800, 600, 60'000}));
    response = g.device.process_control(get_display_info()).value();
    CHECK(response[24 + 8] == std::byte{800 & 0xff});
}

TEST_CASE("GET_EDID answers each scanout's own size and refresh", "[device]") {
    GuestFixture g;
    auto response = g.device.process_control(get_edid(1, fenced(11))).value();
    REQUIRE(response.size() == proto::edid_response_size);
    auto h = response_header(response);
    CHECK(h.type == code(Response::ok_edid));
    CHECK(h.fence_id == 11);
    proto::WireReader r{std::span(response).subspan(24)};
    REQUIRE(r.u32() == 128);
    auto expected = make_edid({1280, 720, 75'000}, 2).value();
    for (size_t i = 0; i < 4; ++i) {
        r.u8();
    }
    for (size_t i = 0; i < 128; ++i) {
        REQUIRE(r.u8() == expected[i]);
    }
    CHECK(g.control(get_edid(2)) == code(Response::err_invalid_scanout_id));
    CHECK(g.control(get_edid(0xffffffff)) == code(Response::err_invalid_scanout_id));
}

TEST_CASE("a scanout too large for an EDID gets an error, display info still works", "[device]") {
    GuestFixture g({{{5120, 1440, 60'000}}, {}});
    CHECK(g.control(get_edid(0)) == code(Response::err_unspec));
    CHECK(g.control(get_display_info()) == code(Response::ok_display_info));
}

TEST_CASE("a Linux-like frame: create, attach fragmented pages, transfer, scan out, flush",
          "[device]") {
    GuestFixture g;
    constexpr uint32_t w = 100, h = 60, stride = w * 4; // 24000 bytes: 6 scattered pages
    auto pages = g.create_with_pages(1, w, h);
    REQUIRE(pages.size() == 6);
    paint(g, pages, uint64_t{stride} * h);

    CHECK(g.control(transfer(1, {0, 0, w, h}, 0)) == ok);
    CHECK(g.control(set_scanout(0, 1, {0, 0, w, h})) == ok);
    REQUIRE(g.scanouts.size() == 1);
    CHECK(g.scanouts[0].scanout == 0);
    CHECK(g.scanouts[0].resource == g.device.find_resource(1));
    CHECK(g.scanouts[0].rect == Rect{0, 0, w, h});

    CHECK(g.control(flush(1, {0, 0, w, h}, fenced(5))) == ok);
    REQUIRE(g.flushes.size() == 1);
    const auto& f = g.flushes[0];
    CHECK((f.scanout == 0 && f.resource_id == 1 && f.damage == Rect{0, 0, w, h}));
    REQUIRE(f.pixels.size() == uint64_t{stride} * h);
    for (uint64_t i = 0; i < f.pixels.size(); ++i) {
        REQUIRE(f.pixels[i] == pattern(i));
    }

    const Resource* res = g.device.find_resource(1);
    REQUIRE(res != nullptr);
    CHECK(res->format() == proto::Format::b8g8r8x8);
    CHECK(res->drm_format() == 0x34325258);
    CHECK((res->width() == w && res->height() == h && res->stride() == stride));

    // The backing holds the image as the resource lays it out: shown in place, nothing copied.
    CHECK(res->image_in_backing());
    CHECK(res->mapped_memory);
    CHECK(g.device.stats().transfers == 1);
    CHECK(g.device.stats().transfer_bytes == 0);
    CHECK(g.device.stats().flushes == 1);
    CHECK(g.device.stats().errors == 0);
}

TEST_CASE("in place, the display sees what the guest draws; transfers copy nothing", "[device]") {
    GuestFixture g;
    constexpr uint32_t w = 64, h = 40, stride = w * 4;
    auto pages = g.create_with_pages(1, w, h);
    CHECK(g.control(set_scanout(0, 1, {0, 0, w, h})) == ok);
    paint(g, pages, uint64_t{stride} * h);
    Rect rect{5, 7, 10, 3};
    CHECK(g.control(transfer(1, rect, uint64_t{rect.y} * stride + rect.x * 4)) == ok);
    auto shown = g.displayed(1);
    REQUIRE(shown.size() == uint64_t{stride} * h);
    for (uint64_t i = 0; i < shown.size(); ++i) {
        REQUIRE(shown[i] == pattern(i));
    }
    CHECK(g.device.stats().transfer_bytes == 0);
    // Host pixels were never needed: untouched.
    CHECK(g.device.find_resource(1)->pixels()[0] == std::byte{0});
}

TEST_CASE("a partial transfer copies only its rectangle, from offset + row * stride", "[device]") {
    GuestFixture g;
    constexpr uint32_t w = 64, h = 40, stride = w * 4;
    auto pages = g.create_with_pages(1, w, h);
    g.stop_reading_in_place(1);
    CHECK(g.device.stats().transfer_bytes == stride * h + 4); // the image, then the 1x1 rect
    paint(g, pages, uint64_t{stride} * h);
    // As Linux: the offset addresses the rect's first pixel in the guest framebuffer.
    Rect rect{5, 7, 10, 3};
    uint64_t offset = uint64_t{rect.y} * stride + rect.x * 4;
    CHECK(g.control(transfer(1, rect, offset)) == ok);
    auto pixels = g.device.find_resource(1)->pixels();
    for (uint32_t y = 0; y < h; ++y) {
        for (uint32_t x = 0; x < stride; ++x) {
            uint64_t i = uint64_t{y} * stride + x;
            bool in_rect = y >= rect.y && y < rect.y + rect.height && x >= rect.x * 4 &&
                           x < (rect.x + rect.width) * 4;
            REQUIRE(pixels[i] == (in_rect ? pattern(i) : std::byte{0}));
        }
    }
    CHECK(g.device.stats().transfer_bytes == stride * h + 4 + 10 * 4 * 3);
    CHECK(g.displayed(1) == std::vector<std::byte>(pixels.begin(), pixels.end()));
}

TEST_CASE("a transfer that reads the backing another way ends showing it in place", "[device]") {
    GuestFixture g;
    constexpr uint32_t w = 32, h = 32, stride = w * 4; // 4096 bytes
    auto pages = g.create_with_pages(1, w, h);
    paint(g, pages, uint64_t{stride} * h);
    CHECK(g.control(set_scanout(0, 1, {0, 0, w, h})) == ok);
    REQUIRE(g.device.find_resource(1)->mapped_memory);
    g.scanouts.clear();
    // A packed 2x2 sub-image at offset 0, as no Linux guest sends it.
    CHECK(g.control(transfer(1, {8, 8, 2, 2}, 0)) == ok);
    const Resource* res = g.device.find_resource(1);
    CHECK_FALSE(res->image_in_backing());
    CHECK_FALSE(res->mapped_memory);
    // The scanout is told again, to read host pixels: the image as shown, then the transfer.
    REQUIRE(g.scanouts.size() == 1);
    CHECK((g.scanouts[0].resource == res && g.scanouts[0].rect == Rect{0, 0, w, h}));
    auto pixels = res->pixels();
    CHECK(pixels[0] == pattern(0));
    CHECK(pixels[8 * stride + 8 * 4] == pattern(0));            // row 0 of the transfer
    CHECK(pixels[9 * stride + 8 * 4] == pattern(stride));       // row 1, one stride on
    CHECK(pixels[20 * stride + 4] == pattern(20 * stride + 4)); // untouched: as it was shown
    // From now on transfers copy, whatever their offset.
    g.write_fb(pages, 0, std::byte{0x5a});
    CHECK(g.control(transfer(1, {0, 0, w, h}, 0)) == ok);
    CHECK(res->pixels()[0] == std::byte{0x5a});
    // A new backing is judged afresh.
    CHECK(g.control(detach(1)) == ok);
    CHECK(g.control(attach(1, scattered_pages(1))) == ok);
    CHECK(g.device.find_resource(1)->image_in_backing());
}

TEST_CASE("transfers read guest memory as it is now", "[device]") {
    GuestFixture g;
    auto pages = g.create_with_pages(1, 16, 16);
    g.stop_reading_in_place(1);
    g.ram->fill(pages[0], page, std::byte{0x11});
    CHECK(g.control(transfer(1, {0, 0, 16, 16}, 0)) == ok);
    CHECK(g.device.find_resource(1)->pixels()[0] == std::byte{0x11});

    // A new memory table with the same layout and other contents.
    auto remapped = std::make_shared<FakeGuestRam>();
    remapped->add_region(ram_base, ram_size);
    remapped->fill(pages[0], page, std::byte{0x22});
    g.device.set_guest_ram(remapped);
    CHECK(g.control(transfer(1, {0, 0, 16, 16}, 0)) == ok);
    CHECK(g.device.find_resource(1)->pixels()[0] == std::byte{0x22});

    // Memory gone: the transfer fails, nothing else does.
    auto other = std::make_shared<FakeGuestRam>();
    other->add_region(0, page);
    g.device.set_guest_ram(other);
    CHECK(g.control(transfer(1, {0, 0, 16, 16}, 0)) == code(Response::err_unspec));
    g.device.set_guest_ram(nullptr);
    CHECK(g.control(transfer(1, {0, 0, 16, 16}, 0)) == code(Response::err_unspec));
    CHECK(g.control(flush(1, {0, 0, 16, 16})) == ok);
}

TEST_CASE("backing that crosses a memory region boundary is read in pieces", "[device]") {
    GuestFixture g;
    REQUIRE(g.control(create_2d(1, xrgb, 32, 32)) == ok); // 4096 bytes
    uint64_t boundary = ram_base + ram_size / 2;
    std::array<proto::MemEntry, 1> entries{{{boundary - 100, 4096}}};
    REQUIRE(g.control(attach(1, entries)) == ok);
    g.ram->fill(boundary - 100, 100, std::byte{0xaa});
    g.ram->fill(boundary, 3996, std::byte{0xbb});
    CHECK(g.control(transfer(1, {0, 0, 32, 32}, 0)) == ok);
    // Copied in pieces once the image is not read in place.
    g.stop_reading_in_place(1);
    CHECK(g.control(transfer(1, {0, 0, 32, 32}, 0)) == ok);
    auto pixels = g.displayed(1);
    REQUIRE(pixels.size() == 4096);
    CHECK(pixels[99] == std::byte{0xaa});
    CHECK(pixels[100] == std::byte{0xbb});
    CHECK(pixels[4095] == std::byte{0xbb});
}

TEST_CASE("attach, detach, attach again; not twice in a row", "[device]") {
    GuestFixture g;
    g.create_with_pages(1, 16, 16);
    std::array<proto::MemEntry, 1> entries{{{ram_base, 1024}}};
    CHECK(g.control(attach(1, entries)) == code(Response::err_unspec));
    CHECK(g.control(detach(1)) == ok);
    CHECK(g.control(detach(1)) == code(Response::err_unspec));
    CHECK(g.control(transfer(1, {0, 0, 16, 16}, 0)) == code(Response::err_unspec));
    CHECK(g.control(attach(1, entries)) == ok);
    CHECK(g.control(transfer(1, {0, 0, 16, 16}, 0)) == ok);
}

TEST_CASE("flush reaches every scanout showing the resource, clipped to its rect", "[device]") {
    GuestFixture g;
    g.create_with_pages(1, 200, 100);
    g.create_with_pages(2, 10, 10, xrgb, page);
    CHECK(g.control(set_scanout(0, 1, {0, 0, 100, 100})) == ok);
    CHECK(g.control(set_scanout(1, 1, {100, 0, 100, 100})) == ok);
    CHECK(g.control(flush(1, {90, 10, 20, 5})) == ok);
    REQUIRE(g.flushes.size() == 2);
    CHECK((g.flushes[0].scanout == 0 && g.flushes[0].damage == Rect{90, 10, 10, 5}));
    CHECK((g.flushes[1].scanout == 1 && g.flushes[1].damage == Rect{100, 10, 10, 5}));

    g.flushes.clear();
    CHECK(g.control(flush(1, {0, 0, 10, 10})) == ok); // only scanout 0's part
    CHECK(g.flushes.size() == 1);
    CHECK(g.control(flush(2, {0, 0, 10, 10})) == ok); // not displayed: nothing to show
    CHECK(g.control(flush(1, {0, 0, 0, 0})) == ok);
    CHECK(g.flushes.size() == 1);
}

TEST_CASE("SET_SCANOUT with resource 0 disables the scanout", "[device]") {
    GuestFixture g;
    g.create_with_pages(1, 64, 64);
    CHECK(g.control(set_scanout(1, 1, {0, 0, 64, 64})) == ok);
    CHECK(g.device.scanout(1).resource_id == 1);
    CHECK(g.control(set_scanout(1, 0, {0, 0, 0, 0})) == ok);
    CHECK(g.device.scanout(1).resource_id == 0);
    REQUIRE(g.scanouts.size() == 2);
    CHECK(g.scanouts[1].resource == nullptr);
    g.flushes.clear();
    CHECK(g.control(flush(1, {0, 0, 64, 64})) == ok);
    CHECK(g.flushes.empty());
}

TEST_CASE("UNREF of an undisplayed resource is answered at once", "[device]") {
    GuestFixture g;
    g.create_with_pages(1, 64, 64);
    auto response = g.device.process_control(unref(1, fenced(4)), 77);
    REQUIRE(response);
    CHECK(response_header(*response).fence_id == 4);
    CHECK(g.device.resource_count() == 0);
    CHECK(g.control(unref(1)) == code(Response::err_invalid_resource_id));
    // The id is free again.
    CHECK(g.control(create_2d(1, xrgb, 8, 8)) == ok);
}

TEST_CASE("UNREF of a displayed resource waits until it is off screen", "[device]") {
    GuestFixture g;
    g.create_with_pages(1, 64, 64);
    REQUIRE(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);

    auto response = g.device.process_control(unref(1, fenced(9)), 1234);
    CHECK_FALSE(response.has_value());
    CHECK(g.device.pending_responses() == 1);
    CHECK(g.device.stats().deferred_unrefs == 1);
    CHECK(g.ready.empty());
    // The guest has let go of it: it no longer answers to its id...
    CHECK(g.control(flush(1, {0, 0, 64, 64})) == code(Response::err_invalid_resource_id));
    CHECK(g.control(transfer(1, {0, 0, 64, 64}, 0)) == code(Response::err_invalid_resource_id));
    CHECK(g.control(set_scanout(1, 1, {0, 0, 64, 64})) == code(Response::err_invalid_resource_id));
    CHECK(g.control(unref(1)) == code(Response::err_invalid_resource_id));
    CHECK(g.control(create_2d(1, xrgb, 8, 8)) == code(Response::err_invalid_resource_id));
    // ...but is still displayed, pixels intact.
    REQUIRE(g.device.find_resource(1) != nullptr);
    CHECK(g.device.scanout(0).resource_id == 1);

    g.scanouts.clear();
    CHECK(g.control(set_scanout(0, 0, {})) == ok);
    // The compositor heard of the scanout change before the resource went away.
    REQUIRE(g.scanouts.size() == 1);
    CHECK(g.scanouts[0].resource == nullptr);
    REQUIRE(g.ready.size() == 1);
    CHECK(g.ready[0].token == 1234);
    auto h = response_header(g.ready[0].response);
    CHECK(h.type == ok);
    CHECK((h.flags == proto::flag_fence && h.fence_id == 9));
    CHECK(g.device.pending_responses() == 0);
    CHECK(g.device.resource_count() == 0);
}

TEST_CASE("a deferred UNREF completes when the last scanout switches away", "[device]") {
    GuestFixture g;
    g.create_with_pages(1, 64, 64);
    g.create_with_pages(2, 64, 64, xrgb, page);
    REQUIRE(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    REQUIRE(g.control(set_scanout(1, 1, {0, 0, 32, 32})) == ok);
    CHECK_FALSE(g.device.process_control(unref(1), 5));

    CHECK(g.control(set_scanout(0, 2, {0, 0, 64, 64})) == ok);
    CHECK(g.ready.empty()); // scanout 1 still shows it
    CHECK(g.control(set_scanout(1, 1, {0, 0, 64, 64})) == code(Response::err_invalid_resource_id));
    CHECK(g.control(set_scanout(1, 2, {0, 0, 64, 64})) == ok);
    REQUIRE(g.ready.size() == 1);
    CHECK(g.ready[0].token == 5);
    CHECK(g.device.find_resource(1) == nullptr);
    CHECK(g.device.find_resource(2) != nullptr);
}

TEST_CASE("reset drops resources and pending responses and blanks the scanouts", "[device]") {
    GuestFixture g;
    g.create_with_pages(1, 64, 64);
    g.create_with_pages(2, 64, 64, xrgb, page);
    REQUIRE(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    REQUIRE(g.cursor_queue(cursor(true, 1, 5, 5, 2)) == ok);
    CHECK_FALSE(g.device.process_control(unref(1), 42));
    g.scanouts.clear();
    g.cursors.clear();

    auto dropped = g.device.reset();
    CHECK(dropped == std::vector<ResponseToken>{42});
    CHECK(g.ready.empty());
    REQUIRE(g.scanouts.size() == 1);
    CHECK((g.scanouts[0].scanout == 0 && g.scanouts[0].resource == nullptr));
    REQUIRE(g.cursors.size() == 1);
    CHECK_FALSE(g.cursors[0].cursor.visible);
    CHECK(g.device.resource_count() == 0);
    CHECK(g.device.pending_responses() == 0);
    // A fresh guest can start over with the same ids and the whole quota.
    g.create_with_pages(1, 64, 64);
}

TEST_CASE("fences are echoed on success and on errors", "[device]") {
    GuestFixture g;
    Fence f{proto::flag_fence | proto::flag_info_ring_idx, 0xfeed'0000'0001, 0, 2};
    for (const Bytes& request :
         {create_2d(1, xrgb, 8, 8, f), create_2d(1, xrgb, 8, 8, f), flush(9, {}, f),
          Request(0x999, f).take(), get_display_info(f), get_edid(0, f)}) {
        auto response = g.device.process_control(request).value();
        auto h = response_header(response);
        CHECK(h.flags == (proto::flag_fence | proto::flag_info_ring_idx));
        CHECK(h.fence_id == 0xfeed'0000'0001);
        CHECK(h.ring_idx == 2);
    }
    auto unfenced = response_header(g.device.process_control(flush(1, {})).value());
    CHECK((unfenced.flags == 0 && unfenced.fence_id == 0));
}

TEST_CASE("RESOURCE_ASSIGN_UUID gives each resource one stable v4 UUID", "[device]") {
    GuestFixture g;
    g.create_with_pages(1, 8, 8);
    g.create_with_pages(2, 8, 8, xrgb, page);
    auto a = g.device.process_control(assign_uuid(1)).value();
    auto again = g.device.process_control(assign_uuid(1)).value();
    auto b = g.device.process_control(assign_uuid(2)).value();
    REQUIRE(a.size() == proto::uuid_response_size);
    CHECK(response_type(a) == code(Response::ok_resource_uuid));
    CHECK(a == again);
    CHECK(a != b);
    CHECK((static_cast<unsigned>(a[24 + 6]) >> 4) == 4);
    CHECK(g.control(assign_uuid(3)) == code(Response::err_invalid_resource_id));
}

TEST_CASE("3D commands and host-memory blobs are refused", "[device]") {
    GuestFixture g;
    Bytes host_blob =
        Request(proto::cmd_type::resource_create_blob).u32(4).u32(2).u32(2).u32(0).u64(0).u64(4096);
    CHECK(g.control(host_blob) == code(Response::err_invalid_parameter));
    CHECK(g.control(Request(0x200).take()) == code(Response::err_unspec));
    CHECK(g.device.stats().errors == 2);
}
