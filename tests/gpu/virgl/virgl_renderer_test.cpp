// virglrenderer behind the GPU device: a guest's Gallium command stream rendered on the host
// (llvmpipe where there is no GPU) and read back into guest memory, fenced as a guest driver
// waits for it; a hostile stream costs only its own context.
#include "device/device_fixture.hpp"
#include "gallium_stream.hpp"

#include "gpu-backend/virgl/virgl_renderer.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <poll.h>
#include <sys/mman.h>

#include <chrono>
#include <vector>

using namespace tessera::gpu;
using namespace tessera::gpu::test;
using proto::Response;

namespace {

using gallium::format_b8g8r8x8;
using gallium::operator+;

// Clears resource `resource` (a B8G8R8X8 render target) to (r, g, b) through surface 1.
std::vector<uint32_t> clear_stream(uint32_t resource, float r, float g, float b) {
    return gallium::create_surface(1, resource) + gallium::clear(1, r, g, b);
}

struct VirglGuest {
    VirglGuest() {
        auto created = VirglRenderer::create({});
        if (!created) {
            FAIL(created.error());
        }
        renderer = std::move(*created);
        guest.emplace(with_renderer());
    }
    DeviceConfig with_renderer() {
        auto config = two_scanouts();
        config.renderer = renderer.get();
        return config;
    }
    uint32_t control(const Bytes& request) { return guest->control(request); }
    // Sends a fenced request and waits (on the renderer's poll fd) for its answer.
    uint32_t fenced_and_done(const Bytes& request) {
        size_t before = guest->ready.size();
        if (auto now = guest->device.process_control(request, before + 1)) {
            return response_type(*now); // answered at once: it failed
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (guest->ready.size() == before && std::chrono::steady_clock::now() < deadline) {
            pollfd fd{renderer->poll_fd(), POLLIN, 0};
            ::poll(&fd, fd.fd >= 0 ? 1 : 0, 100);
            renderer->poll();
        }
        REQUIRE(guest->ready.size() == before + 1);
        return response_type(guest->ready.back().response);
    }

    std::unique_ptr<VirglRenderer> renderer;
    std::optional<GuestFixture> guest;
};

constexpr uint32_t ok = code(Response::ok_nodata);

} // namespace

TEST_CASE("A virgl guest's clear is rendered by virglrenderer and read back into its memory",
          "[virgl]") {
    VirglGuest g;
    auto& device = g.guest->device;
    REQUIRE(device.num_capsets() >= 1);
    auto capset = device.process_control(get_capset(proto::capset_virgl2, 2));
    REQUIRE(capset);
    CHECK(response_type(*capset) == code(Response::ok_capset));

    REQUIRE(g.control(ctx_create(1, "clear")) == ok);
    REQUIRE(g.control(create_3d(1, {.format = format_b8g8r8x8, .width = 64, .height = 64})) == ok);
    auto pages = scattered_pages(4); // 64 x 64 x 4 bytes
    REQUIRE(g.control(attach(1, pages)) == ok);
    REQUIRE(g.control(ctx_resource(true, 1, 1)) == ok);

    auto stream = clear_stream(1, 0.2f, 0.4f, 0.6f);
    CHECK(g.fenced_and_done(submit_3d(1, stream, 10)) == ok);
    CHECK(g.fenced_and_done(
              transfer_3d(false, 1, {0, 0, 0, 64, 64, 1}, in_context(1, 11), 0, 0, 256)) == ok);

    // Pixel (x, y) lies in page y / 16 (four 4 KiB pages of 16 rows each), as B, G, R, X.
    for (auto [x, y] : {std::pair{0u, 0u}, {63u, 15u}, {17u, 40u}, {63u, 63u}}) {
        std::array<std::byte, 4> pixel{};
        uint64_t addr = pages[y / 16].addr + (y % 16) * 256 + x * 4;
        REQUIRE(g.guest->ram->translate_contiguous(addr, 4));
        std::memcpy(pixel.data(), g.guest->ram->translate_contiguous(addr, 4)->data(), 4);
        INFO("pixel " << x << "," << y);
        CHECK(std::to_integer<int>(pixel[0]) == 153);
        CHECK(std::to_integer<int>(pixel[1]) == 102);
        CHECK(std::to_integer<int>(pixel[2]) == 51);
    }

    // Shown on a scanout, the frame is read back once into the display's copy: where the GL
    // driver cannot export its textures (else they are shown as they are, see [virgl-export]).
    REQUIRE(g.control(set_scanout(0, 1, {0, 0, 64, 64})) == ok);
    REQUIRE(device.find_resource(1) != nullptr);
    if (device.find_resource(1)->exported() != nullptr) {
        CHECK(device.stats().exports == 1);
        CHECK(device.stats().readbacks == 0);
        SKIP("this host's GL driver exports its textures: nothing is read back");
    }
    CHECK(device.stats().readbacks == 1);
    auto shown = g.guest->displayed(1);
    REQUIRE(shown.size() == 64 * 64 * 4);
    CHECK(std::to_integer<int>(shown[(40 * 64 + 17) * 4 + 2]) == 51);

    // The next frame reaches the copy at its flush.
    CHECK(g.fenced_and_done(submit_3d(1, gallium::clear(1, 1, 0, 0), 12)) == ok);
    CHECK(g.control(flush(1, {0, 0, 64, 64})) == ok);
    CHECK(device.stats().readbacks == 2);
    shown = g.guest->displayed(1);
    CHECK(std::to_integer<int>(shown[(63 * 64 + 63) * 4 + 2]) == 255);
    CHECK(std::to_integer<int>(shown[(63 * 64 + 63) * 4 + 1]) == 0);
}

TEST_CASE("A hostile command stream is refused and costs only its own context", "[virgl]") {
    VirglGuest g;
    REQUIRE(g.control(ctx_create(1, "hostile")) == ok);
    REQUIRE(g.control(ctx_create(2, "sane")) == ok);
    REQUIRE(g.control(create_3d(1, {.format = format_b8g8r8x8, .width = 16, .height = 16})) == ok);
    REQUIRE(g.control(create_3d(2, {.format = format_b8g8r8x8, .width = 16, .height = 16})) == ok);
    REQUIRE(g.control(ctx_resource(true, 1, 1)) == ok);
    REQUIRE(g.control(ctx_resource(true, 2, 2)) == ok);

    // Objects of resources it has no right to, lengths past the end, unknown commands.
    std::vector<uint32_t> garbage = clear_stream(2, 1, 0, 0); // resource 2 is not attached to 1
    garbage.insert(garbage.end(),
                   {gallium::header(gallium::create_object, gallium::object_surface, 0xffff), 7,
                    gallium::header(0xff, 0xff, 3), 1, 2, 3});
    CHECK(g.fenced_and_done(submit_3d(1, garbage, 20)) == code(Response::err_invalid_parameter));

    auto stream = clear_stream(2, 0, 1, 0);
    CHECK(g.fenced_and_done(submit_3d(2, stream, 21)) == ok);
    std::vector<std::byte> pixel(4);
    REQUIRE(g.renderer->read_pixels(2, 3, 3, 1, 1, 4, pixel));
    CHECK(std::to_integer<int>(pixel[1]) == 255); // green
    CHECK(std::to_integer<int>(pixel[2]) == 0);
}

// Where the GL driver can export its textures (a GPU render node: TESSERA_RENDER_NODE names one;
// llvmpipe where /dev/udmabuf exists), a guest's scanout buffer reaches the display as a dma-buf
// of the renderer's own texture, with the order of its rows said: OpenGL keeps a texture's first
// row at the bottom unless the guest asked for top first (VIRGL_RESOURCE_Y_0_TOP, which Linux's
// console asks for and its 3D driver does not).
TEST_CASE("A scanout render target is exported as a dma-buf where the GL driver can",
          "[virgl][virgl-export]") {
    const char* node = std::getenv("TESSERA_RENDER_NODE");
    auto created = VirglRenderer::create({.render_node = node != nullptr ? node : ""});
    REQUIRE(created);
    auto& renderer = **created;
    REQUIRE(renderer.create_context(1, proto::capset_virgl2, "export"));
    const bool top_first = GENERATE(false, true);
    INFO((top_first ? "top row first" : "bottom row first"));
    constexpr uint32_t width = 64;
    constexpr uint32_t height = 32;
    proto::ResourceCreate3d args{};
    args.resource_id = 1;
    args.target = 2;
    args.format = format_b8g8r8x8;
    args.bind = 2 | (1u << 18); // render target, scanout
    args.width = width;
    args.height = height;
    args.depth = 1;
    args.array_size = 1;
    args.flags = top_first ? 1 : 0;
    REQUIRE(renderer.create_resource(args));
    renderer.attach_resource(1, 1);

    // The guest's image: its top row red, the rest blue (B, G, R, X).
    std::vector<std::byte> image(size_t{width} * 4 * height);
    for (size_t i = 0; i < image.size(); i += 4) {
        bool top = i < width * 4;
        image[i] = std::byte{top ? uint8_t{0} : uint8_t{255}};
        image[i + 2] = std::byte{top ? uint8_t{255} : uint8_t{0}};
        image[i + 3] = std::byte{255};
    }
    std::array<std::span<std::byte>, 1> backing{std::span(image)};
    REQUIRE(renderer.attach_backing(1, backing));
    proto::Transfer3d upload{.to_host = true,
                             .box = {0, 0, 0, width, height, 1},
                             .offset = 0,
                             .resource_id = 1,
                             .level = 0,
                             .stride = width * 4,
                             .layer_stride = 0};
    REQUIRE(renderer.transfer(1, upload));
    std::vector<std::byte> pixel(4);
    REQUIRE(renderer.read_pixels(1, 0, 0, 1, 1, 4, pixel)); // read back: the guest's order
    CHECK(std::to_integer<int>(pixel[2]) == 255);

    auto exported = renderer.export_image(1);
    if (!exported) {
        SKIP("this host's GL driver exports no textures: " << exported.error());
    }
    // The driver may keep B8G8R8X8 as RGBA (GLES has no BGRA render targets): the fourcc says.
    auto format = proto::format_of_drm_fourcc(exported->drm_format);
    REQUIRE(format);
    CHECK(exported->stride >= width * 4);
    CHECK(exported->size >= uint64_t{exported->stride} * height);
    WARN("exported as DRM format " << std::hex << exported->drm_format << ", modifier "
                                   << exported->modifier
                                   << (exported->bottom_up ? ", bottom up" : ", top down"));
    if (exported->modifier != proto::modifier_linear) {
        return; // tiled: for a GPU to read
    }
    bool blue_first = *format == proto::Format::b8g8r8x8 || *format == proto::Format::b8g8r8a8;
    void* view = mmap(nullptr, exported->size, PROT_READ, MAP_SHARED, exported->dmabuf.get(), 0);
    REQUIRE(view != MAP_FAILED);
    const auto* bytes = static_cast<const uint8_t*>(view) + exported->offset;
    uint32_t red_row = exported->bottom_up ? height - 1 : 0;
    for (uint32_t y : {0u, 1u, height - 2, height - 1}) {
        for (uint32_t x : {0u, 17u, width - 1}) {
            const uint8_t* p = bytes + size_t{y} * exported->stride + size_t{x} * 4;
            INFO("pixel " << x << "," << y << " of the texture's memory");
            CHECK(int{p[blue_first ? 2 : 0]} == (y == red_row ? 255 : 0));
            CHECK(int{p[blue_first ? 0 : 2]} == (y == red_row ? 0 : 255));
        }
    }
    munmap(view, exported->size);
    renderer.detach_backing(1);
}
