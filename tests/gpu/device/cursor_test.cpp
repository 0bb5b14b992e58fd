#include "device_fixture.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace tessera::gpu;
using namespace tessera::gpu::test;
using proto::Response;

namespace {

constexpr uint32_t ok = code(Response::ok_nodata);

} // namespace

TEST_CASE("UPDATE_CURSOR shows a copy of a 64x64 image, MOVE_CURSOR moves it", "[cursor]") {
    GuestFixture g;
    auto pages = g.create_with_pages(3, 64, 64, argb);
    g.ram->fill(pages[0], page, std::byte{0x7f});
    REQUIRE(g.control(transfer(3, {0, 0, 64, 64}, 0)) == ok);

    CHECK(g.cursor_queue(cursor(true, 1, 100, 200, 3, 4, 5)) == ok);
    REQUIRE(g.cursors.size() == 1);
    const auto& shown = g.cursors[0];
    CHECK(shown.scanout == 1);
    CHECK(shown.image_changed);
    CHECK(shown.cursor.visible);
    CHECK((shown.cursor.x == 100 && shown.cursor.y == 200));
    CHECK((shown.cursor.hot_x == 4 && shown.cursor.hot_y == 5));
    CHECK((shown.cursor.width == 64 && shown.cursor.height == 64));
    CHECK(shown.cursor.format == proto::Format::b8g8r8a8);
    REQUIRE(shown.cursor.pixels.size() == 64 * 64 * 4);
    CHECK(shown.cursor.pixels[0] == std::byte{0x7f});

    CHECK(g.cursor_queue(cursor(false, 1, -10, -20, 0)) == ok);
    REQUIRE(g.cursors.size() == 2);
    CHECK_FALSE(g.cursors[1].image_changed);
    CHECK((g.cursors[1].cursor.x == -10 && g.cursors[1].cursor.y == -20));
    CHECK(g.cursors[1].cursor.visible);
    CHECK(g.device.cursor(1).x == -10);
    CHECK_FALSE(g.device.cursor(0).visible);

    // The copy outlives the resource: UNREF of a cursor image is answered at once.
    CHECK(g.control(unref(3)) == ok);
    CHECK(g.device.cursor(1).pixels.size() == 64 * 64 * 4);

    CHECK(g.cursor_queue(cursor(true, 1, 0, 0, 0)) == ok);
    CHECK_FALSE(g.device.cursor(1).visible);
    CHECK(g.device.cursor(1).pixels.empty());
    CHECK(g.cursors.back().image_changed);
    CHECK(g.device.stats().cursor_commands == 3);
}

TEST_CASE("a cursor's fourth byte is its alpha, whatever its format says", "[cursor]") {
    // Linux makes every dumb buffer B8G8R8X8, cursors included; QEMU blends them with alpha.
    GuestFixture g;
    auto pages = g.create_with_pages(3, 64, 64, xrgb);
    g.ram->fill(pages[0], page, std::byte{0x77});
    REQUIRE(g.control(transfer(3, {0, 0, 64, 64}, 0)) == ok);
    CHECK(g.cursor_queue(cursor(true, 0, 10, 10, 3)) == ok);
    CHECK(g.device.cursor(0).format == proto::Format::b8g8r8a8);
    // Read from the guest's memory in place: what the guest drew, no transfer copy needed.
    CHECK(g.device.cursor(0).pixels[3] == std::byte{0x77});
    CHECK(g.device.stats().transfer_bytes == 0);

    g.create_with_pages(4, 16, 16, static_cast<uint32_t>(proto::Format::x8b8g8r8), page);
    CHECK(g.cursor_queue(cursor(true, 0, 10, 10, 4)) == ok);
    CHECK(g.device.cursor(0).format == proto::Format::a8b8g8r8);
}

TEST_CASE("smaller cursors are fine, hotspots are clamped into the image", "[cursor]") {
    GuestFixture g;
    g.create_with_pages(3, 32, 16, argb);
    CHECK(g.cursor_queue(cursor(true, 0, 1, 1, 3, 1000, 1000)) == ok);
    CHECK((g.device.cursor(0).hot_x == 31 && g.device.cursor(0).hot_y == 15));
    CHECK(g.device.cursor(0).pixels.size() == 32 * 16 * 4);
}

TEST_CASE("cursor errors: size, resource, scanout, wrong queue", "[cursor]") {
    GuestFixture g;
    g.create_with_pages(3, 65, 64, argb);
    g.create_with_pages(4, 64, 64, argb, page);
    CHECK(g.cursor_queue(cursor(true, 0, 0, 0, 3)) == code(Response::err_invalid_parameter));
    CHECK(g.cursor_queue(cursor(true, 0, 0, 0, 99)) == code(Response::err_invalid_resource_id));
    CHECK(g.cursor_queue(cursor(true, 2, 0, 0, 4)) == code(Response::err_invalid_scanout_id));
    CHECK(g.cursor_queue(cursor(false, 0xffffffff, 0, 0, 0)) ==
          code(Response::err_invalid_scanout_id));
    CHECK(g.control(cursor(true, 0, 0, 0, 4)) == code(Response::err_unspec));
    CHECK(g.cursor_queue(get_display_info()) == code(Response::err_unspec));
    CHECK(g.cursor_queue(Bytes(10)) == code(Response::err_unspec));
    CHECK(g.cursors.empty());
    // Fenced cursor requests get their fence back, errors included.
    auto r = response_header(g.device.process_cursor(cursor(true, 5, 0, 0, 4, 0, 0, fenced(8))));
    CHECK((r.flags == proto::flag_fence && r.fence_id == 8));
}
