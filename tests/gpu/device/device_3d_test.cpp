// The device's side of 3D: capsets, contexts, 3D resources and their backing, transfers,
// command buffers and the fences after them, against a recording renderer.
#include "device_fixture.hpp"
#include "fake_renderer.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <algorithm>
#include <array>
#include <vector>

using namespace tessera::gpu;
using namespace tessera::gpu::test;
using proto::Response;

namespace {

struct Guest3d {
    explicit Guest3d(Quota quota = {}) : guest(with_renderer(quota)) {}
    DeviceConfig with_renderer(Quota quota) {
        auto config = two_scanouts(quota);
        config.renderer = &renderer;
        return config;
    }
    uint32_t control(const Bytes& request) { return guest.control(request); }

    FakeRenderer renderer; // before the device, which it outlives
    GuestFixture guest;
};

constexpr uint32_t ok = code(Response::ok_nodata);

} // namespace

TEST_CASE("Without a renderer the device offers no capsets and fails every 3D command", "[3d]") {
    GuestFixture guest;
    CHECK_FALSE(guest.device.has_3d());
    CHECK(guest.device.num_capsets() == 0);
    CHECK(guest.control(get_capset_info(0)) == code(Response::err_invalid_parameter));
    CHECK(guest.control(ctx_create(1)) == code(Response::err_unspec));
    CHECK(guest.control(create_3d(1)) == code(Response::err_unspec));
    const std::array<uint32_t, 1> nop{0};
    CHECK(guest.control(submit_3d(1, nop)) == code(Response::err_unspec));
}

TEST_CASE("Capsets are the renderer's, read by index and then by id and version", "[3d]") {
    Guest3d g;
    CHECK(g.guest.device.num_capsets() == 2);

    auto info = g.guest.device.process_control(get_capset_info(1));
    REQUIRE(info);
    REQUIRE(info->size() == proto::capset_info_response_size);
    CHECK(response_type(*info) == code(Response::ok_capset_info));
    proto::WireReader r(std::span<const std::byte>(*info).subspan(proto::header_size));
    CHECK(r.u32() == proto::capset_virgl2);
    CHECK(r.u32() == 2);
    CHECK(r.u32() == 1384);
    CHECK(g.control(get_capset_info(2)) == code(Response::err_invalid_parameter));

    auto capset = g.guest.device.process_control(get_capset(proto::capset_virgl2, 2));
    REQUIRE(capset);
    CHECK(response_type(*capset) == code(Response::ok_capset));
    REQUIRE(capset->size() == proto::header_size + 1384);
    CHECK(capset->back() == static_cast<std::byte>(2 * 16 + 2));
    CHECK(g.control(get_capset(proto::capset_virgl2, 3)) == code(Response::err_invalid_parameter));
    CHECK(g.control(get_capset(proto::capset_venus, 0)) == code(Response::err_invalid_parameter));
}

TEST_CASE("Contexts: ids are checked, kinds must be offered, their number is capped", "[3d]") {
    Quota quota;
    quota.max_contexts = 2;
    Guest3d g(quota);

    CHECK(g.control(ctx_create(1, "kmscube")) == ok);
    CHECK(g.renderer.contexts.at(1) == "kmscube");
    CHECK(g.control(ctx_create(1)) == code(Response::err_invalid_context_id));
    CHECK(g.control(ctx_create(0)) == code(Response::err_invalid_context_id));
    CHECK(g.control(ctx_create(2, "venus", proto::capset_venus)) ==
          code(Response::err_invalid_parameter));
    CHECK(g.control(ctx_create(2, "virgl2", proto::capset_virgl2)) == ok);
    CHECK(g.control(ctx_create(3)) == code(Response::err_out_of_memory));
    CHECK(g.guest.device.context_count() == 2);

    CHECK(g.control(ctx_destroy(1)) == ok);
    CHECK_FALSE(g.renderer.contexts.contains(1));
    CHECK(g.control(ctx_destroy(1)) == code(Response::err_invalid_context_id));
    CHECK(g.control(ctx_create(3)) == ok);

    // A name longer than the field is cut to it; a length beyond it reads no further.
    std::string longer(100, 'n');
    CHECK(g.control(ctx_create(4, longer)) == code(Response::err_out_of_memory));
    CHECK(g.control(ctx_destroy(3)) == ok);
    auto request = ctx_create(4, longer);
    CHECK(request.size() == proto::CtxCreate::wire_size);
    CHECK(g.control(request) == ok);
    CHECK(g.renderer.contexts.at(4).size() == proto::context_name_max);
}

TEST_CASE("3D resources share the resource ids, are checked in shape and counted in the quota",
          "[3d]") {
    Quota quota;
    quota.max_resource_bytes = (1 << 20) + 4096; // four 256 KiB textures and a small 2D image
    Guest3d g(quota);

    CHECK(g.control(create_3d(1, {.width = 256, .height = 256})) == ok); // 256 KiB counted
    CHECK(g.renderer.resources.contains(1));
    CHECK(g.control(create_3d(1)) == code(Response::err_invalid_resource_id));
    CHECK(g.control(create_2d(1, xrgb, 8, 8)) == code(Response::err_invalid_resource_id));
    CHECK(g.control(create_2d(2, xrgb, 8, 8)) == ok);
    CHECK(g.control(create_3d(2)) == code(Response::err_invalid_resource_id));
    CHECK(g.control(create_3d(0)) == code(Response::err_invalid_resource_id));

    auto bad_shape = code(Response::err_invalid_parameter);
    CHECK(g.control(create_3d(3, {.width = 0})) == bad_shape);
    CHECK(g.control(create_3d(3, {.target = 9})) == bad_shape);
    CHECK(g.control(create_3d(3, {.target = 0, .width = 4096, .height = 2})) == bad_shape);
    CHECK(g.control(create_3d(3, {.width = 65536})) == bad_shape);
    CHECK(g.control(create_3d(3, {.last_level = 15})) == bad_shape);
    CHECK(g.control(create_3d(3, {.nr_samples = 17})) == bad_shape);
    CHECK(g.control(create_3d(3, {.depth = 4096})) == bad_shape);
    CHECK_FALSE(g.renderer.resources.contains(3));

    // 3 x 256 KiB more passes; the next one is over the quota; freeing one makes room.
    for (uint32_t id : {3, 4, 5}) {
        CHECK(g.control(create_3d(id, {.width = 256, .height = 256})) == ok);
    }
    CHECK(g.control(create_3d(6, {.width = 256, .height = 256})) ==
          code(Response::err_out_of_memory));
    CHECK(g.control(create_3d(6, {.target = 0, .width = 1 << 21, .height = 1})) ==
          code(Response::err_out_of_memory));
    CHECK(g.control(unref(4)) == ok);
    CHECK_FALSE(g.renderer.resources.contains(4));
    CHECK(g.control(create_3d(6, {.width = 256, .height = 256})) == ok);

    g.renderer.refuse_resources = true;
    CHECK(g.control(create_3d(7, {.width = 8, .height = 8})) ==
          code(Response::err_invalid_parameter));
    CHECK(g.guest.device.find_resource(7) == nullptr);
}

TEST_CASE("A 3D resource's backing is guest memory handed to the renderer; transfers are "
          "checked against the resource and the backing",
          "[3d]") {
    Guest3d g;
    REQUIRE(g.control(ctx_create(1)) == ok);
    REQUIRE(g.control(create_3d(1, {.width = 64, .height = 64})) == ok);
    REQUIRE(g.control(ctx_resource(true, 1, 1)) == ok);
    CHECK(g.renderer.attached.contains({1, 1}));
    CHECK(g.control(ctx_resource(true, 2, 1)) == code(Response::err_invalid_context_id));
    CHECK(g.control(ctx_resource(true, 1, 9)) == code(Response::err_invalid_resource_id));
    // A 2D resource, as Linux attaches a 3D client's dumb buffers: nothing for the renderer.
    REQUIRE(g.control(create_2d(9, xrgb, 8, 8)) == ok);
    CHECK(g.control(ctx_resource(true, 1, 9)) == ok);
    CHECK(g.control(ctx_resource(false, 1, 9)) == ok);
    CHECK_FALSE(g.renderer.attached.contains({1, 9}));

    CHECK(g.control(transfer_3d(true, 1, {0, 0, 0, 64, 64, 1}, in_context(1))) ==
          code(Response::err_unspec)); // no backing yet
    auto entries = scattered_pages(4);
    fill_pages(*g.guest.ram, entries);
    REQUIRE(g.control(attach(1, entries)) == ok);
    REQUIRE(g.renderer.backing.at(1).size() == 4);
    CHECK(g.renderer.backing.at(1)[2][0] == std::byte{3}); // the third page, as filled
    CHECK(g.control(attach(1, entries)) == code(Response::err_unspec));

    CHECK(g.control(transfer_3d(true, 1, {0, 0, 0, 64, 64, 1}, in_context(1))) == ok);
    CHECK(g.control(transfer_3d(false, 1, {60, 0, 0, 4, 64, 1}, in_context(1))) == ok);
    REQUIRE(g.renderer.transfers.size() == 2);
    CHECK_FALSE(g.renderer.transfers[1].to_host);
    CHECK(g.renderer.transfers[1].box == proto::Box{60, 0, 0, 4, 64, 1});
    auto outside = code(Response::err_invalid_parameter);
    CHECK(g.control(transfer_3d(true, 1, {61, 0, 0, 4, 1, 1}, in_context(1))) == outside);
    CHECK(g.control(transfer_3d(true, 1, {0, 0xffffffff, 0, 1, 2, 1}, in_context(1))) == outside);
    CHECK(g.control(transfer_3d(true, 1, {0, 0, 1, 1, 1, 1}, in_context(1))) == outside);
    CHECK(g.control(transfer_3d(true, 1, {0, 0, 0, 1, 1, 1}, in_context(1), 0, 1)) == outside);
    CHECK(g.control(transfer_3d(true, 1, {0, 0, 0, 1, 1, 1}, in_context(1), 5 * page)) == outside);
    CHECK(g.control(transfer_3d(true, 1, {0, 0, 0, 1, 1, 1}, in_context(7))) ==
          code(Response::err_invalid_context_id));
    CHECK(g.renderer.transfers.size() == 2);

    CHECK(g.control(detach(1)) == ok);
    CHECK_FALSE(g.renderer.backing.contains(1));
    CHECK(g.control(detach(1)) == code(Response::err_unspec));
    REQUIRE(g.control(attach(1, entries)) == ok);

    // New guest memory (the VMM sent a new table): the renderer gets the new mappings.
    auto moved = std::make_shared<FakeGuestRam>();
    moved->add_region(ram_base, ram_size);
    moved->fill(entries[0].addr, page, std::byte{0x77});
    g.guest.device.set_guest_ram(moved);
    CHECK(g.renderer.backing.at(1)[0][0] == std::byte{0x77});

    CHECK(g.control(unref(1)) == ok);
    CHECK_FALSE(g.renderer.backing.contains(1));
    CHECK_FALSE(g.renderer.attached.contains({1, 1}));
}

TEST_CASE("Fenced 3D commands are answered when the renderer finished them, in order", "[3d]") {
    Guest3d g;
    REQUIRE(g.control(ctx_create(1)) == ok);
    const std::array<uint32_t, 3> commands{0x00010203, 0x04050607, 0x08090a0b};

    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, commands, 10), 100));
    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, commands, 11), 101));
    CHECK(g.renderer.submits.size() == 2);
    CHECK(g.renderer.submits[0].size() == 12);
    CHECK(g.guest.device.pending_responses() == 2);
    CHECK(g.guest.ready.empty());

    g.renderer.complete(10);
    REQUIRE(g.guest.ready.size() == 1);
    CHECK(g.guest.ready[0].token == 100);
    auto header = response_header(g.guest.ready[0].response);
    CHECK(header.type == ok);
    CHECK(header.fence_id == 10);
    CHECK(header.ctx_id == 1);

    // A later fence completes the earlier ones with it; an unknown one completes nothing.
    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, commands, 12), 102));
    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, commands, 13), 103));
    g.renderer.on_fence_done(99);
    CHECK(g.guest.ready.size() == 1);
    g.renderer.complete(13);
    REQUIRE(g.guest.ready.size() == 4);
    CHECK(g.guest.ready[1].token == 101);
    CHECK(g.guest.ready[2].token == 102);
    CHECK(g.guest.ready[3].token == 103);
    CHECK(g.guest.device.pending_responses() == 0);

    // Failed commands are answered at once, fence or not.
    g.renderer.reject_submits = true;
    auto rejected = g.guest.device.process_control(submit_3d(1, commands, 14), 104);
    REQUIRE(rejected);
    CHECK(response_type(*rejected) == code(Response::err_invalid_parameter));
    CHECK(g.control(submit_3d(5, commands)) == code(Response::err_invalid_context_id));

    // A reset drops what waits, and what the renderer held goes.
    g.renderer.reject_submits = false;
    REQUIRE(g.control(create_3d(1)) == ok);
    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, commands, 15), 105));
    auto dropped = g.guest.device.reset();
    CHECK(dropped == std::vector<ResponseToken>{105});
    CHECK(g.renderer.contexts.empty());
    CHECK(g.renderer.resources.empty());
    g.renderer.complete(15);
    CHECK(g.guest.ready.size() == 4);
}

namespace {

// The texel the fake renderer reads back at (x, y) after `submits` command buffers.
std::array<uint8_t, 4> fake_texel(const std::vector<std::byte>& image, uint32_t width, uint32_t x,
                                  uint32_t y) {
    const auto* t = image.data() + (size_t{y} * width + x) * 4;
    return {static_cast<uint8_t>(t[0]), static_cast<uint8_t>(t[1]), static_cast<uint8_t>(t[2]),
            static_cast<uint8_t>(t[3])};
}

} // namespace

TEST_CASE("A 3D resource on a scanout is shown from a copy read back once per new frame", "[3d]") {
    Guest3d g;
    const std::array<uint32_t, 1> draw{0};
    REQUIRE(g.control(ctx_create(1)) == ok);
    REQUIRE(g.control(create_3d(5)) == ok); // 64 x 64
    REQUIRE(g.control(submit_3d(1, draw)) == ok);

    // A flush before any scanout showed it presents nothing and reads nothing.
    CHECK(g.control(flush(5, {0, 0, 64, 64})) == ok);
    CHECK(g.guest.device.stats().readbacks == 0);

    REQUIRE(g.control(set_scanout(0, 5, {0, 0, 64, 64})) == ok);
    REQUIRE(g.guest.scanouts.size() == 1);
    REQUIRE(g.guest.scanouts[0].resource != nullptr);
    CHECK(g.guest.scanouts[0].resource->read_back);
    CHECK(g.guest.scanouts[0].resource->id() == 5);
    CHECK(g.guest.device.stats().readbacks == 1);
    auto shown = g.guest.displayed(5);
    CHECK(fake_texel(shown, 64, 10, 20) == std::array<uint8_t, 4>{10, 20, 1, 0xff});

    // The flush that follows the flip finds nothing new to read.
    CHECK(g.control(flush(5, {0, 0, 64, 64})) == ok);
    CHECK(g.guest.device.stats().readbacks == 1);
    CHECK(g.guest.flushes.size() == 1);

    // The next frame: only the damage is read again.
    REQUIRE(g.control(submit_3d(1, draw)) == ok);
    CHECK(g.control(flush(5, {8, 4, 16, 8})) == ok);
    CHECK(g.guest.device.stats().readbacks == 2);
    CHECK(g.guest.device.stats().readback_bytes == 64 * 64 * 4 + 16 * 8 * 4);
    shown = g.guest.displayed(5);
    CHECK(fake_texel(shown, 64, 8, 4) == std::array<uint8_t, 4>{8, 4, 2, 0xff});
    CHECK(fake_texel(shown, 64, 23, 11)[2] == 2);
    CHECK(fake_texel(shown, 64, 24, 4)[2] == 1); // outside the damage: the frame before
    CHECK(fake_texel(shown, 64, 8, 12)[2] == 1);

    // An upload changes the image as a command buffer does; a download does not.
    REQUIRE(g.control(attach(5, scattered_pages(4))) == ok);
    REQUIRE(g.control(transfer_3d(false, 5, {0, 0, 0, 64, 64, 1})) == ok);
    CHECK(g.control(flush(5, {0, 0, 64, 64})) == ok);
    CHECK(g.guest.device.stats().readbacks == 2);
    REQUIRE(g.control(transfer_3d(true, 5, {0, 0, 0, 64, 64, 1})) == ok);
    CHECK(g.control(flush(5, {0, 0, 64, 64})) == ok);
    CHECK(g.guest.device.stats().readbacks == 3);

    // A renderer that cannot read leaves the last frame shown; the guest is not failed.
    g.renderer.fail_reads = true;
    REQUIRE(g.control(submit_3d(1, draw)) == ok);
    CHECK(g.control(flush(5, {0, 0, 64, 64})) == ok);
    CHECK(g.guest.device.stats().readbacks == 3);
    CHECK(fake_texel(g.guest.displayed(5), 64, 0, 0)[2] == 2);
}

TEST_CASE("A shown 3D resource's renderer image goes at UNREF, its display copy when the display "
          "let go of it",
          "[3d]") {
    Guest3d g;
    REQUIRE(g.control(create_3d(5)) == ok);
    REQUIRE(g.control(set_scanout(0, 5, {0, 0, 64, 64})) == ok);
    auto answer = g.guest.device.process_control(unref(5), 77);
    CHECK_FALSE(answer.has_value()); // deferred while a scanout shows it
    CHECK_FALSE(g.renderer.resources.contains(5));
    CHECK(g.control(create_3d(5)) == code(Response::err_invalid_resource_id));
    CHECK(g.control(flush(5, {0, 0, 64, 64})) == code(Response::err_invalid_resource_id));

    REQUIRE(g.control(set_scanout(0, 0, {0, 0, 0, 0})) == ok);
    REQUIRE(g.guest.ready.size() == 1);
    CHECK(g.guest.ready[0].token == 77);
    CHECK(g.guest.device.find_resource(5) == nullptr);
    CHECK(g.control(create_3d(5)) == ok);
}

TEST_CASE("Only flat textures in a display format are scanned out, their copy within the quota",
          "[3d]") {
    Quota quota;
    quota.max_resource_bytes = 64 * 64 * 4 + 1024; // the texture fits, its copy does not
    Guest3d g(quota);
    auto bad = code(Response::err_invalid_parameter);
    REQUIRE(g.control(create_3d(1, {.target = 3, .width = 8, .height = 8, .depth = 4})) == ok);
    CHECK(g.control(set_scanout(0, 1, {0, 0, 8, 8})) == bad);
    REQUIRE(g.control(create_3d(2, {.format = 999, .width = 8, .height = 8})) == ok);
    CHECK(g.control(set_scanout(0, 2, {0, 0, 8, 8})) == bad);
    REQUIRE(g.control(create_3d(3, {.width = 8, .height = 8, .nr_samples = 4})) == ok);
    CHECK(g.control(set_scanout(0, 3, {0, 0, 8, 8})) == bad);
    CHECK(g.control(unref(1)) == ok);
    CHECK(g.control(unref(2)) == ok);
    CHECK(g.control(unref(3)) == ok);

    REQUIRE(g.control(create_3d(4)) == ok); // 64 x 64
    CHECK(g.control(set_scanout(0, 4, {0, 0, 65, 64})) == bad);
    CHECK(g.control(set_scanout(0, 4, {0, 0, 64, 64})) == code(Response::err_out_of_memory));
    CHECK(g.guest.scanouts.empty());
    CHECK(g.guest.device.stats().readbacks == 0);
}

TEST_CASE("A reset drops 3D resources and their display copies, each reported gone once", "[3d]") {
    Guest3d g;
    std::vector<uint32_t> gone;
    auto callbacks = g.guest.recording_callbacks();
    callbacks.on_resource_destroyed = [&](uint32_t id) { gone.push_back(id); };
    g.guest.device.set_callbacks(callbacks);
    REQUIRE(g.control(create_3d(5)) == ok);
    REQUIRE(g.control(create_3d(6)) == ok);
    REQUIRE(g.control(set_scanout(1, 5, {0, 0, 64, 64})) == ok);
    (void)g.guest.device.reset();
    CHECK(g.renderer.resources.empty());
    CHECK(g.guest.device.resource_count() == 0);
    std::ranges::sort(gone);
    CHECK(gone == std::vector<uint32_t>{5, 6});
    CHECK(g.control(create_3d(5)) == ok);
}

TEST_CASE("A 3D guest is paced by its frames: fences made after a flushed frame wait until it "
          "was presented",
          "[3d]") {
    Guest3d g;
    std::vector<ResponseToken> presenting; // the frames the compositor was told to present
    auto callbacks = g.guest.recording_callbacks();
    callbacks.on_fence = [&](uint32_t, ResponseToken token) { presenting.push_back(token); };
    g.guest.device.set_callbacks(callbacks);
    const std::array<uint32_t, 1> draw{0};
    REQUIRE(g.control(ctx_create(1)) == ok);
    REQUIRE(g.control(create_3d(5)) == ok);
    REQUIRE(g.control(set_scanout(0, 5, {0, 0, 64, 64})) == ok);

    // Before any frame, a fence waits for the renderer only.
    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, draw, 1), 101));
    g.renderer.complete(1);
    REQUIRE(g.guest.ready.size() == 1);

    // Linux's unfenced flush of a 3D scanout: answered at once, presented later.
    CHECK(g.control(flush(5, {0, 0, 64, 64})) == ok);
    REQUIRE(presenting.size() == 1);
    CHECK(g.guest.device.stats().fenced_frames == 1);

    // The next frame's rendering is done, but its fence waits for the frame before on screen.
    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, draw, 2), 102));
    g.renderer.complete(2);
    CHECK(g.guest.ready.size() == 1);
    g.guest.device.signal_fence(presenting[0]);
    REQUIRE(g.guest.ready.size() == 2);
    CHECK(g.guest.ready[1].token == 102);

    // A fenced flush is held until presented itself, and paces the same way.
    CHECK_FALSE(g.guest.device.process_control(flush(5, {0, 0, 64, 64}, fenced(7)), 103));
    REQUIRE(presenting.size() == 2);
    CHECK(presenting[1] == 103);
    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, draw, 3), 104));
    g.renderer.complete(3);
    CHECK(g.guest.ready.size() == 2);
    g.guest.device.signal_fence(103);
    REQUIRE(g.guest.ready.size() == 4);
    CHECK(g.guest.ready[2].token == 103);
    CHECK(g.guest.ready[3].token == 104);

    // A reset hands back the guest's tokens only, not the device's own present notices.
    CHECK(g.control(flush(5, {0, 0, 64, 64})) == ok);
    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, draw, 4), 105));
    auto dropped = g.guest.device.reset();
    CHECK(dropped == std::vector<ResponseToken>{105});
}

TEST_CASE("Where the renderer exports a scanout's texture, the display shows it as it is: nothing "
          "read back, its flush paces the guest",
          "[3d]") {
    Guest3d g;
    std::vector<ResponseToken> presenting;
    auto callbacks = g.guest.recording_callbacks();
    callbacks.on_fence = [&](uint32_t, ResponseToken token) { presenting.push_back(token); };
    g.guest.device.set_callbacks(callbacks);
    // As llvmpipe keeps B8G8R8X8: in RGBA order, rows padded.
    g.renderer.exports = FakeRenderer::Layout{
        .drm_format = proto::drm_fourcc(proto::Format::r8g8b8a8), .stride = 320, .size = 320 * 64};
    const std::array<uint32_t, 1> draw{0};
    REQUIRE(g.control(ctx_create(1)) == ok);
    REQUIRE(g.control(create_3d(5)) == ok); // 64 x 64 B8G8R8X8
    REQUIRE(g.control(submit_3d(1, draw)) == ok);
    REQUIRE(g.control(set_scanout(0, 5, {0, 0, 64, 64})) == ok);

    REQUIRE(g.guest.scanouts.size() == 1);
    const auto& shown = g.guest.scanouts[0];
    REQUIRE(shown.resource != nullptr);
    REQUIRE(shown.resource->exported() != nullptr);
    CHECK_FALSE(shown.resource->read_back);
    CHECK(shown.image.format == proto::Format::r8g8b8a8);
    CHECK(shown.image.stride == 320);
    CHECK(shown.image.width == 64);
    CHECK(shown.image.modifier == proto::modifier_linear);
    CHECK(g.guest.device.stats().exports == 1);

    // Frames are never read back; a flush is a frame that paces the guest.
    CHECK(g.control(flush(5, {0, 0, 64, 64})) == ok);
    CHECK(g.guest.device.stats().readbacks == 0);
    REQUIRE(presenting.size() == 1);
    CHECK_FALSE(g.guest.device.process_control(submit_3d(1, draw, 2), 102));
    g.renderer.complete(2);
    CHECK(g.guest.ready.empty());
    g.guest.device.signal_fence(presenting[0]);
    REQUIRE(g.guest.ready.size() == 1);

    // Flipping back to it exports nothing again; it is no cursor and takes no 2D transfer.
    REQUIRE(g.control(set_scanout(0, 5, {0, 0, 64, 64})) == ok);
    CHECK(g.renderer.exported == std::vector<uint32_t>{5});
    CHECK(g.guest.cursor_queue(cursor(true, 0, 0, 0, 5)) == code(Response::err_invalid_parameter));
    CHECK(g.guest.cursors.empty());
    CHECK(g.control(transfer(5, {0, 0, 64, 64}, 0)) != ok);
}

TEST_CASE("An exported texture the display cannot take is read back instead", "[3d]") {
    auto layout = GENERATE(
        FakeRenderer::Layout{.drm_format = 0x3231564e, .stride = 256, .size = 256 * 64},  // NV12
        FakeRenderer::Layout{.drm_format = 0x34325258, .stride = 128, .size = 256 * 64},  // narrow
        FakeRenderer::Layout{.drm_format = 0x34325258, .stride = 256, .size = 256 * 63}); // short
    Guest3d g;
    g.renderer.exports = layout;
    REQUIRE(g.control(create_3d(5)) == ok);
    REQUIRE(g.control(set_scanout(0, 5, {0, 0, 64, 64})) == ok);
    REQUIRE(g.guest.scanouts.size() == 1);
    REQUIRE(g.guest.scanouts[0].resource != nullptr);
    CHECK(g.guest.scanouts[0].resource->exported() == nullptr);
    CHECK(g.guest.scanouts[0].resource->read_back);
    CHECK(g.guest.device.stats().readbacks == 1);
    CHECK(g.guest.device.stats().exports == 0);
}
