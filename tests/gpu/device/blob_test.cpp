// Guest-memory blobs: created over scattered guest pages, shown in place with SET_SCANOUT_BLOB,
// fenced frames held until the compositor says they were presented, UNREF held while the
// display uses the pages; and every malformed blob command answered with an error.
#include "device_fixture.hpp"

#include "gpu-backend/virtio_gpu/blob_memory.hpp"
#include "gpu-backend/virtio_gpu/udmabuf.hpp"

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <cstring>
#include <set>

using namespace tessera::gpu;
using namespace tessera::gpu::test;
using proto::Response;

namespace {

constexpr uint32_t ok = code(Response::ok_nodata);

bool view_matches(const BlobMemory& memory, const std::vector<proto::MemEntry>& entries) {
    auto bytes = memory.bytes();
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] != static_cast<std::byte>(i / page + 1)) {
            return false;
        }
    }
    return bytes.size() == entries.size() * page;
}

struct FencedFixture : GuestFixture {
    FencedFixture() {
        auto callbacks = recording_callbacks();
        callbacks.on_fence = [this](uint32_t s, ResponseToken t) { fences.push_back({s, t}); };
        callbacks.is_displayed = [this](uint32_t id) { return displayed.contains(id); };
        callbacks.on_resource_destroyed = [this](uint32_t id) { destroyed.push_back(id); };
        device.set_callbacks(std::move(callbacks));
    }
    std::vector<std::pair<uint32_t, ResponseToken>> fences;
    std::set<uint32_t> displayed;
    std::vector<uint32_t> destroyed;
};

} // namespace

TEST_CASE("a blob is shown in place from its scattered guest pages", "[blob]") {
    GuestFixture g;
    auto entries = scattered_pages(300); // 640x480 at stride 2560 needs 300 pages
    fill_pages(*g.ram, entries);
    REQUIRE(g.control(create_blob(1, 300 * page, entries)) == ok);
    CHECK(g.device.stats().blobs == 1);
    // The guest's page flip: transfer (a no-op for a blob), scanout, flush.
    CHECK(g.control(transfer(1, {0, 0, 640, 480}, 0)) == ok);
    REQUIRE(g.control(set_scanout_blob(0, 1, {640, 480}, {0, 0, 640, 480})) == ok);
    REQUIRE(g.scanouts.size() == 1);
    const auto& shown = g.scanouts.back();
    REQUIRE(shown.resource != nullptr);
    CHECK(shown.resource->is_blob());
    CHECK(shown.image ==
          ScanoutImage{proto::Format::b8g8r8x8, 640, 480, 2560, 0, {0, 0, 640, 480}});
    REQUIRE(shown.resource->mapped_memory);
    const auto& memory = *shown.resource->mapped_memory;
    CHECK(view_matches(memory, entries));
    CHECK(memory.pieces() == 300);
    CHECK(memory.dmabuf() < 0); // no udmabuf given to this device
    // No copy on the host: the view follows what the guest writes next.
    g.ram->fill(entries[7].addr, page, std::byte{0xee});
    CHECK(memory.bytes()[7 * page + 5] == std::byte{0xee});
    CHECK(g.device.stats().transfer_bytes == 0);

    CHECK(g.control(flush(1, {0, 0, 640, 480})) == ok);
    REQUIRE(g.flushes.size() == 1);
    CHECK(g.flushes[0].damage == Rect{0, 0, 640, 480});
}

TEST_CASE("a blob in one contiguous piece is read from guest RAM's own mapping", "[blob]") {
    GuestFixture g;
    std::vector<proto::MemEntry> entries;
    for (uint64_t i = 0; i < 4; ++i) { // adjacent pages: merged into one range
        entries.push_back({ram_base + i * page, static_cast<uint32_t>(page)});
    }
    fill_pages(*g.ram, entries);
    REQUIRE(g.control(create_blob(3, 4 * page, entries)) == ok);
    REQUIRE(g.control(set_scanout_blob(1, 3, {32, 32}, {0, 0, 32, 32})) == ok);
    const auto& memory = *g.scanouts.back().resource->mapped_memory;
    CHECK(memory.pieces() == 1);
    CHECK(view_matches(memory, entries));
    auto host = g.ram->translate(ram_base, 1).value();
    CHECK(memory.bytes().data() == host.front().data());
}

TEST_CASE("2D and blob resources live side by side in one guest", "[blob]") {
    GuestFixture g;
    g.create_with_pages(1, 64, 64);
    REQUIRE(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    auto entries = scattered_pages(16, 512 * page);
    REQUIRE(g.control(create_blob(2, 16 * page, entries)) == ok);
    REQUIRE(g.control(set_scanout_blob(1, 2, {64, 64, xrgb, 256, 0}, {0, 0, 64, 64})) == ok);
    CHECK(!g.device.find_resource(1)->is_blob());
    CHECK(g.device.find_resource(2)->is_blob());
    CHECK(g.device.scanout(0).resource_id == 1);
    CHECK(g.device.scanout(1).resource_id == 2);
    // Each command kind keeps to its kind.
    CHECK(g.control(set_scanout(0, 2, {0, 0, 64, 64})) == code(Response::err_invalid_parameter));
    CHECK(g.control(set_scanout_blob(0, 1, {64, 64}, {0, 0, 64, 64})) ==
          code(Response::err_invalid_parameter));
    CHECK(g.control(attach(2, entries)) == code(Response::err_unspec));
    CHECK(g.control(detach(2)) == code(Response::err_unspec));
    // Unreferencing the blob waits for its scanout to move on, as for 2D.
    CHECK(g.device.process_control(unref(2), 9) == std::nullopt);
    REQUIRE(g.control(set_scanout_blob(1, 0, {}, {})) == ok);
    REQUIRE(g.ready.size() == 1);
    CHECK(g.ready[0].token == 9);
    CHECK(g.device.find_resource(2) == nullptr);
}

TEST_CASE("a blob cursor is its first 64x64 ARGB pixels", "[blob]") {
    GuestFixture g;
    auto entries = scattered_pages(4);
    g.ram->fill(entries[0].addr, page, std::byte{0x40});
    REQUIRE(g.control(create_blob(5, 4 * page, entries)) == ok);
    REQUIRE(g.cursor_queue(cursor(true, 0, 10, 20, 5, 3, 4)) == ok);
    REQUIRE(g.cursors.size() == 1);
    const auto& c = g.cursors[0].cursor;
    CHECK(c.visible);
    CHECK(c.width == 64);
    CHECK(c.height == 64);
    CHECK(c.format == proto::Format::b8g8r8a8);
    CHECK(c.pixels.size() == 64 * 64 * 4);
    CHECK(c.pixels[0] == std::byte{0x40});
    REQUIRE(g.control(create_blob(6, page, scattered_pages(1, 64 * page))) == ok);
    CHECK(g.cursor_queue(cursor(true, 0, 0, 0, 6)) == code(Response::err_invalid_parameter));
}

TEST_CASE("a fenced flush of a shown blob is answered when the compositor signals it", "[blob]") {
    FencedFixture g;
    auto entries = scattered_pages(300);
    REQUIRE(g.control(create_blob(1, 300 * page, entries)) == ok);
    REQUIRE(g.control(set_scanout_blob(0, 1, {640, 480}, {0, 0, 640, 480})) == ok);
    REQUIRE(g.control(create_blob(2, 300 * page, scattered_pages(300, page))) == ok);

    CHECK(g.device.process_control(flush(1, {0, 0, 640, 480}, fenced(77)), 11) == std::nullopt);
    REQUIRE(g.fences.size() == 1);
    CHECK(g.fences[0] == std::pair<uint32_t, ResponseToken>{0, 11});
    CHECK(g.ready.empty());
    CHECK(g.device.pending_responses() == 1);
    CHECK(g.device.stats().fenced_frames == 1);
    g.device.signal_fence(11);
    REQUIRE(g.ready.size() == 1);
    auto header = response_header(g.ready[0].response);
    CHECK(header.type == ok);
    CHECK(header.fence_id == 77);
    CHECK((header.flags & proto::flag_fence) != 0);
    g.device.signal_fence(11); // once only
    CHECK(g.ready.size() == 1);

    // A fenced SET_SCANOUT_BLOB shows a new frame: held the same way.
    CHECK(g.device.process_control(set_scanout_blob(0, 2, {640, 480}, {0, 0, 640, 480}, fenced(78)),
                                   12) == std::nullopt);
    CHECK(g.fences.back() == std::pair<uint32_t, ResponseToken>{0, 12});
    // Nothing to present (resource 1 is off screen now): answered at once.
    auto unshown = g.device.process_control(flush(1, {0, 0, 64, 64}, fenced(79)), 13);
    REQUIRE(unshown);
    CHECK(response_header(*unshown).fence_id == 79);
    // Unfenced flushes never wait.
    CHECK(g.device.process_control(flush(2, {0, 0, 64, 64}), 14).has_value());
    // A reset drops what is held, unanswered.
    auto dropped = g.device.reset();
    CHECK(std::ranges::find(dropped, ResponseToken{12}) != dropped.end());
    g.device.signal_fence(12);
    CHECK(g.ready.size() == 1);
    CHECK(g.destroyed.size() == 2);
}

TEST_CASE("a fence of a blob on two scanouts waits for both", "[blob]") {
    FencedFixture g;
    REQUIRE(g.control(create_blob(1, 16 * page, scattered_pages(16))) == ok);
    REQUIRE(g.control(set_scanout_blob(0, 1, {64, 64}, {0, 0, 64, 64})) == ok);
    REQUIRE(g.control(set_scanout_blob(1, 1, {64, 64}, {0, 0, 64, 64})) == ok);
    CHECK(g.device.process_control(flush(1, {0, 0, 64, 64}, fenced(5)), 21) == std::nullopt);
    CHECK(g.fences.size() == 2);
    g.device.signal_fence(21);
    CHECK(g.ready.empty());
    g.device.signal_fence(21);
    CHECK(g.ready.size() == 1);
}

TEST_CASE("without a pacing compositor fenced flushes are answered at once", "[blob]") {
    GuestFixture g;
    REQUIRE(g.control(create_blob(1, 16 * page, scattered_pages(16))) == ok);
    REQUIRE(g.control(set_scanout_blob(0, 1, {64, 64}, {0, 0, 64, 64})) == ok);
    auto answer = g.device.process_control(flush(1, {0, 0, 64, 64}, fenced(3)), 1);
    REQUIRE(answer);
    CHECK(response_header(*answer).fence_id == 3);
}

TEST_CASE("RESOURCE_UNREF of a blob waits until the display let go of its pages", "[blob]") {
    FencedFixture g;
    REQUIRE(g.control(create_blob(1, 16 * page, scattered_pages(16))) == ok);
    REQUIRE(g.control(create_blob(2, 16 * page, scattered_pages(16, 64 * page))) == ok);
    REQUIRE(g.control(set_scanout_blob(0, 1, {64, 64}, {0, 0, 64, 64})) == ok);
    g.displayed.insert(1); // e.g. still on a plane until the next page flip
    REQUIRE(g.control(set_scanout_blob(0, 2, {64, 64}, {0, 0, 64, 64})) == ok);
    CHECK(g.device.process_control(unref(1), 31) == std::nullopt);
    CHECK(g.ready.empty());
    CHECK(g.device.find_resource(1) != nullptr);
    CHECK(g.control(set_scanout_blob(1, 1, {64, 64}, {0, 0, 64, 64})) ==
          code(Response::err_invalid_resource_id)); // gone for the guest already
    g.displayed.erase(1);
    g.device.display_released(1);
    REQUIRE(g.ready.size() == 1);
    CHECK(g.ready[0].token == 31);
    CHECK(g.device.find_resource(1) == nullptr);
    CHECK(g.destroyed == std::vector<uint32_t>{1});
    // Not displayed: answered at once.
    g.device.display_released(2);
    REQUIRE(g.control(set_scanout_blob(0, 0, {}, {})) == ok);
    CHECK(g.control(unref(2)) == ok);
}

TEST_CASE("hostile blob commands get error responses and change nothing", "[blob-hostile]") {
    GuestFixture g;
    auto entries = scattered_pages(4);
    constexpr auto invalid = code(Response::err_invalid_parameter);
    SECTION("creation") {
        CHECK(g.control(create_blob(0, 4 * page, entries)) ==
              code(Response::err_invalid_resource_id));
        CHECK(g.control(create_blob(1, ~uint64_t{0}, entries)) ==
              code(Response::err_out_of_memory));                       // size overflow
        CHECK(g.control(create_blob(1, 5 * page, entries)) == invalid); // more than its pages
        CHECK(g.control(create_blob(1, 0, entries)) == invalid);
        CHECK(g.control(create_blob(1, page, {})) == invalid);
        std::vector<proto::MemEntry> outside{{ram_base + ram_size - page, 2 * page}};
        CHECK(g.control(create_blob(1, page, outside)) == invalid);
        std::vector<proto::MemEntry> wrapping{{~uint64_t{0} - 100, 4096}};
        CHECK(g.control(create_blob(1, page, wrapping)) == invalid);
        CHECK(g.control(create_blob(1, page, entries, {}, 2)) == invalid); // host memory
        CHECK(g.control(create_blob(1, page, entries, {}, proto::blob_mem_guest, 8)) == invalid);
        std::vector<proto::MemEntry> too_many(proto::max_backing_entries + 1,
                                              {ram_base, static_cast<uint32_t>(page)});
        CHECK(g.control(create_blob(1, page, too_many)) == invalid);
        Bytes truncated = create_blob(1, 4 * page, entries);
        truncated.resize(truncated.size() - 8);
        CHECK(g.control(truncated) == invalid);
        CHECK(g.device.resource_count() == 0);
        REQUIRE(g.control(create_blob(1, 4 * page, entries)) == ok);
        CHECK(g.control(create_blob(1, 4 * page, entries)) ==
              code(Response::err_invalid_resource_id));
    }
    SECTION("scanout") {
        REQUIRE(g.control(create_blob(1, 4 * page, entries)) == ok); // 16 KiB: 64x64 XRGB
        const Rect all{0, 0, 64, 64};
        CHECK(g.control(set_scanout_blob(0, 2, {64, 64}, all)) ==
              code(Response::err_invalid_resource_id)); // unknown blob
        CHECK(g.control(set_scanout_blob(2, 1, {64, 64}, all)) ==
              code(Response::err_invalid_scanout_id));
        CHECK(g.control(set_scanout_blob(0, 1, {64, 64, xrgb, 512}, all)) == invalid); // stride
        CHECK(g.control(set_scanout_blob(0, 1, {64, 64, xrgb, 255}, all)) == invalid);
        CHECK(g.control(set_scanout_blob(0, 1, {64, 64, xrgb, 0, 4}, all)) == invalid); // offset
        CHECK(g.control(set_scanout_blob(0, 1, {64, 64, xrgb, 0xffffffff, 0xffffffff}, all)) ==
              invalid);
        CHECK(g.control(set_scanout_blob(0, 1, {65, 64}, {0, 0, 65, 64})) == invalid);
        CHECK(g.control(set_scanout_blob(0, 1, {64, 64}, {1, 0, 64, 64})) == invalid);
        CHECK(g.control(set_scanout_blob(0, 1, {64, 64}, {0, 0, 0, 0})) == invalid);
        CHECK(g.control(set_scanout_blob(0, 1, {0, 0}, {0, 0, 0, 0})) == invalid);
        CHECK(g.control(set_scanout_blob(0, 1, {64, 64, 99}, all)) == invalid); // format
        CHECK(g.control(set_scanout_blob(0, 1, {1u << 20, 1}, {0, 0, 1, 1})) == invalid);
        CHECK(g.control(flush(1, {0, 0, 1u << 20, 1})) == invalid);
        CHECK(g.device.scanout(0).resource_id == 0);
        CHECK(g.scanouts.empty());
        // The same blob, correctly described, is fine afterwards.
        CHECK(g.control(set_scanout_blob(0, 1, {64, 64}, all)) == ok);
    }
}

TEST_CASE("blobs count against the guest's memory and resource quotas", "[blob-hostile]") {
    Quota quota;
    quota.max_resources = 2;
    quota.max_resource_bytes = 64 * page;
    GuestFixture g(two_scanouts(quota));
    REQUIRE(g.control(create_blob(1, 48 * page, scattered_pages(48))) == ok);
    CHECK(g.control(create_blob(2, 32 * page, scattered_pages(32, 128 * page))) ==
          code(Response::err_out_of_memory));
    REQUIRE(g.control(create_blob(2, 16 * page, scattered_pages(16, 128 * page))) == ok);
    CHECK(g.control(create_blob(3, page, scattered_pages(1, 256 * page))) ==
          code(Response::err_out_of_memory));
    REQUIRE(g.control(unref(1)) == ok);
    CHECK(g.control(create_blob(3, 48 * page, scattered_pages(48, 256 * page))) == ok);
}

TEST_CASE("blobs mapped piece by piece count against the guest's mapping quota", "[blob-hostile]") {
    Quota quota;
    quota.max_blob_mappings = 40;
    GuestFixture g(two_scanouts(quota)); // no udmabuf: every scattered page is a mapping
    REQUIRE(g.control(create_blob(1, 32 * page, scattered_pages(32))) == ok);
    REQUIRE(g.control(create_blob(2, 16 * page, scattered_pages(16, 128 * page))) == ok);
    REQUIRE(g.control(create_blob(3, 8 * page, scattered_pages(8, 256 * page))) == ok);
    REQUIRE(g.control(set_scanout_blob(0, 1, {64, 64}, {0, 0, 64, 64})) == ok);
    CHECK(g.device.find_resource(1)->mapped_memory->mappings() == 32);
    CHECK(g.control(set_scanout_blob(1, 2, {64, 64}, {0, 0, 64, 64})) ==
          code(Response::err_unspec));
    CHECK(g.device.find_resource(2)->mapped_memory == nullptr);
    CHECK(g.device.scanout(1).resource_id == 0);
    CHECK(g.device.scanout(0).resource_id == 1);
    REQUIRE(g.control(set_scanout_blob(1, 3, {64, 32}, {0, 0, 64, 32})) == ok); // 40 of 40
    // The mappings go with their blob.
    REQUIRE(g.control(set_scanout_blob(0, 0, {}, {})) == ok);
    REQUIRE(g.control(unref(1)) == ok);
    CHECK(g.control(set_scanout_blob(0, 2, {64, 64}, {0, 0, 64, 64})) == ok);
}

TEST_CASE("merge_pieces joins pieces that continue each other in the same file", "[udmabuf]") {
    std::vector<FilePiece> pieces{{3, 0, 4096},     {3, 4096, 4096}, {3, 16384, 4096},
                                  {4, 20480, 4096}, {4, 24576, 0},   {4, 24576, 8192}};
    auto merged = merge_pieces(pieces);
    CHECK(merged == std::vector<FilePiece>{{3, 0, 8192}, {3, 16384, 4096}, {4, 20480, 12288}});
}

TEST_CASE("a device that cannot make dma-bufs says why, and the blob is still shown", "[udmabuf]") {
    Udmabuf refusing("/dev/null"); // opens, but is no udmabuf device: the ioctl fails
    REQUIRE(refusing.available());
    Udmabuf missing("/nonexistent/udmabuf");
    CHECK_FALSE(missing.available());
    CHECK(missing.unavailable_reason().find("/nonexistent/udmabuf") != std::string::npos);

    for (Udmabuf* udmabuf : {&refusing, &missing}) {
        auto config = two_scanouts();
        config.udmabuf = udmabuf;
        GuestFixture g(config);
        auto entries = scattered_pages(16);
        fill_pages(*g.ram, entries);
        REQUIRE(g.control(create_blob(1, 16 * page, entries)) == ok);
        REQUIRE(g.control(set_scanout_blob(0, 1, {64, 64}, {0, 0, 64, 64})) == ok);
        const auto& memory = *g.device.find_resource(1)->mapped_memory;
        CHECK(memory.dmabuf() < 0);
        CHECK_FALSE(memory.dmabuf_error().empty());
        CHECK_FALSE(memory.mapped_from_dmabuf());
        CHECK(view_matches(memory, entries));
    }
}

TEST_CASE("udmabuf limits are checked before asking the kernel", "[udmabuf]") {
    Udmabuf udmabuf("/dev/null");
    std::vector<FilePiece> many;
    for (uint64_t i = 0; i < udmabuf.limits().max_pieces + 1; ++i) {
        many.push_back({3, 2 * i * 4096, 4096});
    }
    auto refused = udmabuf.create(many);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().find("pieces") != std::string::npos);
    std::vector<FilePiece> unaligned{{3, 100, 4096}};
    CHECK(udmabuf.create(unaligned).error().find("pages") != std::string::npos);
    std::vector<FilePiece> huge{{3, 0, udmabuf.limits().max_bytes + 4096}};
    CHECK(udmabuf.create(huge).error().find("MiB") != std::string::npos);
}

// Where the kernel has udmabuf (the test VM), the blob's pages become a dma-buf and the host
// view is that dma-buf's own mapping.
TEST_CASE("with /dev/udmabuf a blob becomes a dma-buf of the guest's pages", "[udmabuf]") {
    auto& udmabuf = Udmabuf::system();
    if (!udmabuf.available()) {
        SKIP("no /dev/udmabuf here: " << udmabuf.unavailable_reason());
    }
    auto config = two_scanouts();
    config.udmabuf = &udmabuf;
    GuestFixture g(config);
    auto entries = scattered_pages(300);
    fill_pages(*g.ram, entries);
    REQUIRE(g.control(create_blob(1, 300 * page, entries)) == ok);
    REQUIRE(g.control(set_scanout_blob(0, 1, {640, 480}, {0, 0, 640, 480})) == ok);
    const auto& memory = *g.device.find_resource(1)->mapped_memory;
    INFO(memory.dmabuf_error());
    CHECK(memory.dmabuf() >= 0);
    CHECK(memory.mapped_from_dmabuf());
    CHECK(view_matches(memory, entries));
    g.ram->fill(entries[3].addr, page, std::byte{0x5a});
    CHECK(memory.bytes()[3 * page] == std::byte{0x5a});
}
