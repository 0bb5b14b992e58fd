// 2D images shown from guest memory: a backing laid out as its image is mapped at the scanout
// (or, unmappable, read in place through the device), held while the display uses it, and every
// backing that is not so (short, hostile, gone) ends up copied or refused, never read outside
// guest memory.
#include "device_fixture.hpp"

#include <catch2/catch_test_macros.hpp>

#include <set>

using namespace tessera::gpu;
using namespace tessera::gpu::test;
using proto::Response;

namespace {

constexpr uint32_t ok = code(Response::ok_nodata);

bool shows_pages(const std::vector<std::byte>& image, size_t pages) {
    if (image.size() != pages * page) {
        return false;
    }
    for (size_t i = 0; i < image.size(); ++i) {
        if (image[i] != static_cast<std::byte>(i / page + 1)) {
            return false;
        }
    }
    return true;
}

struct DisplayFixture : GuestFixture {
    explicit DisplayFixture(DeviceConfig config = two_scanouts())
        : GuestFixture(std::move(config)) {
        auto callbacks = recording_callbacks();
        callbacks.is_displayed = [this](uint32_t id) { return held.contains(id); };
        device.set_callbacks(std::move(callbacks));
    }
    std::set<uint32_t> held; // resources whose buffers the display holds
};

// 64x64 (16 rows a page: 4 pages) over scattered pages filled 1, 2, 3, 4.
std::vector<proto::MemEntry> image_in_pages(GuestFixture& g, uint32_t id) {
    REQUIRE(g.control(create_2d(id, xrgb, 64, 64)) == ok);
    auto entries = scattered_pages(4);
    fill_pages(*g.ram, entries);
    REQUIRE(g.control(attach(id, entries)) == ok);
    return entries;
}

} // namespace

TEST_CASE("a 2D image in its backing is mapped at its scanout and shown in place", "[in-place]") {
    DisplayFixture g;
    image_in_pages(g, 1);
    CHECK_FALSE(g.device.find_resource(1)->mapped_memory); // not before it is shown
    CHECK(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    const Resource* res = g.device.find_resource(1);
    REQUIRE(res->mapped_memory);
    CHECK(res->mapped_memory->mappings() == 4);
    CHECK(shows_pages(g.displayed(*res), 4));
    CHECK(g.scanouts.back().image.stride == 64 * 4);
    // What the guest draws next is what the display reads: no transfer copies it.
    g.ram->fill(scattered_pages(4)[0].addr, 4, std::byte{0x42});
    CHECK(g.control(transfer(1, {0, 0, 64, 64}, 0)) == ok);
    CHECK(res->mapped_memory->bytes()[0] == std::byte{0x42});
    CHECK(g.device.stats().transfer_bytes == 0);
}

TEST_CASE("pages past the mapping quota are copied at transfers, as in QEMU", "[in-place]") {
    Quota quota;
    quota.max_blob_mappings = 3;
    DisplayFixture g(two_scanouts(quota));
    image_in_pages(g, 1);
    CHECK(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    const Resource* res = g.device.find_resource(1);
    CHECK_FALSE(res->mapped_memory);
    CHECK_FALSE(res->image_in_backing()); // the display reads host pixels
    // They start as the image the backing holds.
    CHECK(shows_pages(g.displayed(*res), 4));
    // What the guest draws next reaches them with its transfer.
    g.ram->fill(scattered_pages(4)[0].addr, 4, std::byte{0x42});
    CHECK(g.control(transfer(1, {0, 0, 64, 64}, 0)) == ok);
    CHECK(res->pixels()[0] == std::byte{0x42});
    CHECK(g.device.stats().transfer_bytes > 0);
}

TEST_CASE("overlapping backing entries are shown as the guest laid them out", "[in-place]") {
    DisplayFixture g;
    REQUIRE(g.control(create_2d(1, xrgb, 64, 32)) == ok); // two pages
    auto one = scattered_pages(1);
    fill_pages(*g.ram, one);
    std::vector<proto::MemEntry> twice{one[0], one[0]};
    REQUIRE(g.control(attach(1, twice)) == ok);
    CHECK(g.control(set_scanout(0, 1, {0, 0, 64, 32})) == ok);
    auto shown = g.displayed(1);
    REQUIRE(shown.size() == 2 * page);
    CHECK(shown[0] == std::byte{1});
    CHECK(shown[page] == std::byte{1});
}

TEST_CASE("a backing shorter than its image is copied, as QEMU does", "[in-place]") {
    DisplayFixture g;
    REQUIRE(g.control(create_2d(1, xrgb, 64, 64)) == ok);
    auto entries = scattered_pages(2); // half the image
    fill_pages(*g.ram, entries);
    REQUIRE(g.control(attach(1, entries)) == ok);
    CHECK(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    const Resource* res = g.device.find_resource(1);
    CHECK_FALSE(res->image_in_backing());
    CHECK_FALSE(res->mapped_memory);
    CHECK(g.control(transfer(1, {0, 0, 64, 32}, 0)) == ok);
    CHECK(g.device.stats().transfer_bytes == 2 * page);
    CHECK(res->pixels()[page] == std::byte{2});
    CHECK(res->pixels()[3 * page] == std::byte{0}); // never transferred
    CHECK(g.control(transfer(1, {0, 0, 64, 64}, 0)) == code(Response::err_invalid_parameter));
}

TEST_CASE("a backing detached while shown: shown from host pixels, answered once released",
          "[in-place]") {
    DisplayFixture g;
    image_in_pages(g, 1);
    CHECK(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    g.held.insert(1); // the display holds its buffer
    g.scanouts.clear();
    CHECK_FALSE(g.device.process_control(detach(1), 77).has_value());
    const Resource* res = g.device.find_resource(1);
    CHECK_FALSE(res->backing);
    CHECK_FALSE(res->mapped_memory);
    // The scanout is told to read the image another way: the host's copy of it.
    REQUIRE(g.scanouts.size() == 1);
    CHECK(g.scanouts[0].resource == res);
    CHECK(shows_pages(g.displayed(*res), 4));
    CHECK(g.ready.empty());
    // The pages are the guest's again once the display let go.
    g.held.erase(1);
    g.device.display_released(1);
    REQUIRE(g.ready.size() == 1);
    CHECK(g.ready[0].token == 77);
    CHECK(response_type(g.ready[0].response) == ok);
    // A new backing is shown in place again at the next scanout.
    CHECK(g.control(attach(1, scattered_pages(4, 64 * page))) == ok);
    CHECK(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    CHECK(g.device.find_resource(1)->mapped_memory);
}

TEST_CASE("UNREF of an image shown in place waits until it is off screen and released",
          "[in-place]") {
    DisplayFixture g;
    image_in_pages(g, 1);
    CHECK(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    g.held.insert(1);
    CHECK_FALSE(g.device.process_control(unref(1), 5).has_value());
    CHECK(g.control(set_scanout(0, 0, {})) == ok);
    CHECK(g.ready.empty()); // off screen, but the display still holds it
    g.held.erase(1);
    g.device.display_released(1);
    REQUIRE(g.ready.size() == 1);
    CHECK(g.ready[0].token == 5);
    CHECK(g.device.find_resource(1) == nullptr);
}

TEST_CASE("a memory table replaced while an image is mapped: the mapping keeps its pages",
          "[in-place]") {
    DisplayFixture g;
    image_in_pages(g, 1);
    CHECK(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    auto memory = g.device.find_resource(1)->mapped_memory;
    REQUIRE(memory);
    auto other = std::make_shared<FakeGuestRam>();
    other->add_region(ram_base, ram_size); // same addresses, other (zero) pages
    g.device.set_guest_ram(other);
    g.ram.reset(); // the old table's memfds and mappings are gone from the device
    // The mapping reads the pages it was made from, and only those.
    auto bytes = memory->bytes();
    CHECK(bytes[0] == std::byte{1});
    CHECK(bytes[3 * page] == std::byte{4});
}
