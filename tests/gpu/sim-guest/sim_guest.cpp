// tessera-sim-guest: a simulated virtual machine for tessera's guest sockets. It plays QEMU's
// vhost-user-gpu-pci (the in-repo Frontend) and a Linux guest driver (GuestDriver): it takes
// the mode offered for each enabled scanout, then draws the test pattern (guest_pattern.hpp)
// and flips it. 2D (default): at a fixed rate, transferring the rows that changed and flushing
// once per frame. --blob: double-buffered blobs flipped as the Linux driver does (fenced
// flush, then up to 50 ms for the fence), as fast as the fences come back unless --fps is given.
// --virgl: a GL guest on virgl: double-buffered 3D render targets that the host's renderer
// clears to each frame's colour (virgl_colour()) from a fenced Gallium command buffer, flipped
// with an unfenced flush as Linux does (the next frame's fence is paced instead).
// For tests, the benchmark and the demo where QEMU cannot run. Prints "mode S WxH", "frame N"
// every 60 frames, and last "flips N late-fences M" and "done".
#include <unistd.h>

#include "frontend.hpp"
#include "gallium_stream.hpp"
#include "guest_driver.hpp"
#include "guest_pattern.hpp"
#include "test_loop.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <print>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace tessera::gpu;
using namespace tessera::gpu::test;

namespace {

struct Args {
    std::string socket;
    double fps = 60;
    uint64_t frames = 0;       // 0: until killed
    uint64_t reboot_every = 0; // reboots the guest after every N frames (0: never)
    uint64_t hang_after = 0;   // blob: after N frames, hangs with a flip's answer untaken
    int fence_wait_ms = GuestDriver::fence_timeout_ms; // blob: how long a flip waits its fence
    bool garbage = false;
    bool cursor = false;
    bool blob = false;
    bool fps_given = false;
    bool rgbx = false;       // blob framebuffers in R8G8B8X8 instead of B8G8R8X8
    bool hold = false;       // after --frames, stay connected showing the last frame
    bool staged = false;     // 2D: each band drawn past the image and transferred from there
    bool cheap = false;      // 2D: flips transfer and flush the bands without drawing them again
    bool fixed_mode = false; // keeps its first mode when the device says the displays changed
    bool virgl = false;      // 3D framebuffers rendered by the host (virgl)
};

// The rendering context of a --virgl guest, and (with --garbage) the one it sends hostile
// command streams to.
constexpr uint32_t virgl_context = 1;
constexpr uint32_t hostile_context = 2;

// Frame n of a --virgl guest: red steps through 16 values, green and blue stay.
std::array<float, 3> virgl_colour(uint64_t n) {
    return {static_cast<float>(n % 16) * 16.0f / 255.0f, 0.5f, 0.25f};
}

[[noreturn]] void usage(const char* error) {
    std::println(
        stderr,
        "tessera-sim-guest: {}\nusage: tessera-sim-guest --socket PATH [--fps F] "
        "[--frames N [--hold]] [--garbage] [--cursor] [--blob [--rgbx] | --staged | --cheap | "
        "--virgl] "
        "[--fixed-mode] [--reboot-every N] [--hang-after N] [--fence-wait-ms N]\n  --fps 0 "
        "flips as fast as the device "
        "answers; --garbage sends malformed commands between frames; --cursor shows a 16x16 "
        "magenta cursor with its hotspot at 100,60 of scanout 0; --blob uses blob framebuffers "
        "and fenced flips (unpaced by itself unless --fps is given); --rgbx makes them R8G8B8X8 "
        "(same picture); --virgl renders each frame on the host through virgl (3D render "
        "targets cleared to a colour that changes every frame: red (n mod 16) * 16, green 128, "
        "blue 64) and flips them as blobs; --staged draws each changed band into a staging area "
        "after the image "
        "and transfers it from there (legal, though no Linux guest does it: the image in guest "
        "memory stays frame 0); --cheap flips (2D) without drawing anything new, so that a "
        "flip costs the device its work and the guest almost nothing (for benchmarks); "
        "--fixed-mode keeps the first mode when the device reports a display change (a guest "
        "that ignores hotplug), where it otherwise takes the new preferred size; --hold "
        "keeps the last frame on screen after --frames until killed; --reboot-every N reboots the "
        "guest after every N frames as a VM reset does (rings stopped, fresh rings and driver "
        "on the same connection, new framebuffers); --hang-after N (--blob) sends frame N + 1's "
        "fenced flip and then takes nothing back, as a guest kernel that hangs with a frame in "
        "flight (its VMM stays connected; prints \"hung\"); --fence-wait-ms N (--blob, 1 to "
        "60000) waits up to N ms for a flip's fence before drawing the next frame, where Linux "
        "waits 50 ms and then draws into the buffer that may still be on screen",
        error);
    std::exit(2);
}

// The options that only switch something on.
struct Flag {
    std::string_view name;
    bool Args::* member;
};
constexpr std::array<Flag, 9> flags{{
    {"--virgl", &Args::virgl},
    {"--garbage", &Args::garbage},
    {"--cursor", &Args::cursor},
    {"--blob", &Args::blob},
    {"--hold", &Args::hold},
    {"--rgbx", &Args::rgbx},
    {"--staged", &Args::staged},
    {"--cheap", &Args::cheap},
    {"--fixed-mode", &Args::fixed_mode},
}};

Args parse(int argc, char** argv) {
    Args args;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage(("missing value for " + arg).c_str());
            }
            return argv[++i];
        };
        if (arg == "--socket") {
            args.socket = value();
        } else if (arg == "--fps") {
            args.fps = std::strtod(value().c_str(), nullptr);
            args.fps_given = true;
        } else if (arg == "--frames") {
            args.frames = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--hang-after") {
            args.hang_after = std::strtoull(value().c_str(), nullptr, 10);
        } else if (arg == "--fence-wait-ms") {
            auto ms = std::strtol(value().c_str(), nullptr, 10);
            if (ms < 1 || ms > 60000) {
                usage("--fence-wait-ms takes 1 to 60000");
            }
            args.fence_wait_ms = static_cast<int>(ms);
        } else if (arg == "--reboot-every") {
            args.reboot_every = std::strtoull(value().c_str(), nullptr, 10);
        } else if (auto flag = std::ranges::find(flags, arg, &Flag::name); flag != flags.end()) {
            args.*(flag->member) = true;
        } else {
            usage(("unknown argument " + arg).c_str());
        }
    }
    if (args.socket.empty()) {
        usage("--socket is required");
    }
    if (args.rgbx && !args.blob) {
        usage("--rgbx needs --blob");
    }
    if (args.virgl && (args.blob || args.staged || args.cheap)) {
        usage("--virgl renders its own framebuffers: no --blob, --staged or --cheap");
    }
    if ((args.staged || args.cheap) && args.blob) {
        usage("--staged and --cheap are for 2D framebuffers, not --blob");
    }
    if (args.hang_after > 0 && !args.blob) {
        usage("--hang-after needs --blob");
    }
    if ((args.blob || args.virgl) && !args.fps_given) {
        args.fps = 0; // the fences pace it
    }
    return args;
}

struct Screen {
    uint32_t scanout;
    Framebuffer fb;
    std::optional<Framebuffer> back; // blob mode: the buffer drawn while fb is shown
};

// Writes rows [y0, y1) of frame n into the framebuffer's guest memory from `at` bytes on.
void draw_rows_at(GuestDriver& driver, const Framebuffer& fb, uint32_t y0, uint32_t y1, uint32_t n,
                  uint64_t at) {
    std::vector<std::byte> row(size_t{fb.width} * 4);
    for (uint32_t y = y0; y < y1; ++y) {
        for (uint32_t x = 0; x < fb.width; ++x) {
            uint32_t p = tessera::test::pattern_pixel(x, y, fb.width, fb.height, n);
            if (fb.format == static_cast<uint32_t>(proto::Format::r8g8b8x8)) {
                p = (p & 0xff00ff00u) | ((p >> 16) & 0xffu) | ((p & 0xffu) << 16);
            }
            std::memcpy(row.data() + size_t{x} * 4, &p, 4); // B, G, R, X (or R, G, B, X)
        }
        driver.write(fb, at + uint64_t{y - y0} * row.size(), row);
    }
}

// The same, where the rows belong in the image.
void draw_rows(GuestDriver& driver, const Framebuffer& fb, uint32_t y0, uint32_t y1, uint32_t n) {
    draw_rows_at(driver, fb, y0, y1, n, uint64_t{y0} * fb.width * 4);
}

// Draws rows [y0, y1) of frame n and transfers them: from where they belong, or --staged, from
// past the image.
bool update_rows(GuestDriver& driver, const Screen& s, uint32_t y0, uint32_t y1, uint32_t n,
                 const Args& args) {
    uint64_t stride = uint64_t{s.fb.width} * 4;
    uint64_t at = args.staged ? stride * s.fb.height : stride * y0;
    if (!args.cheap) {
        draw_rows_at(driver, s.fb, y0, y1, n, at);
    }
    return driver.ok(transfer(s.fb.id, {0, y0, s.fb.width, y1 - y0}, at));
}

// What a broken or hostile guest sends: unknown commands, truncated requests, bad ids,
// rectangles outside resources; with --virgl also command streams its renderer must refuse
// (objects of resources not its own, lengths past the end, unknown commands) in a context of
// their own. Each gets an error response; the device goes on.
void send_garbage(GuestDriver& driver, uint64_t n, bool virgl) {
    if (virgl) {
        auto hostile = gallium::create_surface(n % 7 + 1, n % 5 + 1);
        hostile.insert(hostile.end(),
                       {gallium::header(gallium::create_object, gallium::object_surface, 0xffff),
                        static_cast<uint32_t>(n), gallium::header(0xff, 0xff, 3), 1, 2, 3});
        (void)driver.command(submit_3d(hostile_context, hostile));
        (void)driver.command(submit_3d(99, hostile));
        (void)driver.command(ctx_create(virgl_context));
    }
    Bytes junk(40);
    for (size_t i = 0; i < junk.size(); ++i) {
        junk[i] = std::byte(static_cast<uint8_t>(n * 31 + i * 7));
    }
    (void)driver.command(junk);
    (void)driver.command(Bytes(7, std::byte{0xff}));
    (void)driver.command(flush(0xdead, {0, 0, 1u << 20, 1u << 20}));
    (void)driver.command(create_2d(0, 99, 1u << 30, 1u << 30));
}

// Renders frame n of a --virgl guest into `fb` (its surface has the resource's id).
bool render_frame(GuestDriver& driver, const Framebuffer& fb, uint64_t n) {
    auto [r, g, b] = virgl_colour(n);
    auto stream = gallium::clear(fb.id, r, g, b);
    return driver.render(virgl_context, stream);
}

// --virgl: two 3D framebuffers with a surface each, frame 0 rendered and shown.
std::optional<Screen> start_rendered_screen(GuestDriver& driver, uint32_t index,
                                            const ScanoutMode& mode) {
    auto fb = driver.create_3d_framebuffer(virgl_context, mode.width, mode.height);
    auto back = driver.create_3d_framebuffer(virgl_context, mode.width, mode.height);
    if (!fb || !back) {
        std::println(stderr, "tessera-sim-guest: cannot create {}x{} 3D framebuffers", mode.width,
                     mode.height);
        return std::nullopt;
    }
    using gallium::operator+;
    auto surfaces =
        gallium::create_surface(fb->id, fb->id) + gallium::create_surface(back->id, back->id);
    if (!driver.render(virgl_context, surfaces) || !render_frame(driver, *fb, 0) ||
        !driver.flip(index, *fb)) {
        std::println(stderr, "tessera-sim-guest: the first 3D frame on scanout {} failed", index);
        return std::nullopt;
    }
    std::println("mode {} {}x{}", index, mode.width, mode.height);
    return Screen{index, *fb, back};
}

// Framebuffers of the mode's size with frame 0, shown on the scanout; says "mode I WxH".
std::optional<Screen> start_screen(GuestDriver& driver, const Args& args, uint32_t index,
                                   const ScanoutMode& mode) {
    auto create = [&] {
        auto format =
            static_cast<uint32_t>(args.rgbx ? proto::Format::r8g8b8x8 : proto::Format::b8g8r8x8);
        // --staged: room for the largest band (a quarter of the image) after it.
        uint64_t staging = args.staged ? uint64_t{mode.width} * 4 * (mode.height / 4) : 0;
        return args.blob ? driver.create_blob_framebuffer(mode.width, mode.height, format)
                         : driver.create_framebuffer(mode.width, mode.height, format, staging);
    };
    if (args.virgl) {
        return start_rendered_screen(driver, index, mode);
    }
    auto fb = create();
    auto back = args.blob ? create() : std::nullopt;
    if (!fb || (args.blob && !back)) {
        std::println(stderr, "tessera-sim-guest: cannot create a {}x{} framebuffer", mode.width,
                     mode.height);
        return std::nullopt;
    }
    draw_rows(driver, *fb, 0, fb->height, 0);
    if (back) {
        draw_rows(driver, *back, 0, back->height, 0);
    }
    if (!(args.blob ? driver.flip_blob(index, *fb).ok : driver.flip(index, *fb))) {
        std::println(stderr, "tessera-sim-guest: the first flip on scanout {} failed", index);
        return std::nullopt;
    }
    std::println("mode {} {}x{}", index, mode.width, mode.height);
    return Screen{index, *fb, back};
}

// The device said its displays changed (a config change on the backend channel): as a Linux
// guest, read the display info again and take each scanout's new preferred size.
bool follow_display_change(GuestDriver& driver, const Args& args, std::vector<Screen>& screens) {
    auto modes = driver.display_info();
    if (!modes) {
        return false;
    }
    for (auto& s : screens) {
        const auto& mode = (*modes)[s.scanout];
        if (!mode.enabled || (mode.width == s.fb.width && mode.height == s.fb.height)) {
            continue;
        }
        auto next = start_screen(driver, args, s.scanout, mode);
        if (!next) {
            return false;
        }
        // The old framebuffers are off screen now; UNREF answers once the display let go.
        (void)driver.destroy(s.fb);
        if (s.back) {
            (void)driver.destroy(*s.back);
        }
        s = std::move(*next);
    }
    return true;
}

// What the guest's driver does at boot: read the display info, show frame 0 on every enabled
// scanout, and the cursor if asked. False (with a message) when the device refuses.
bool boot(GuestDriver& driver, const Args& args, std::vector<Screen>& screens) {
    auto modes = driver.display_info();
    if (!modes) {
        std::println(stderr, "tessera-sim-guest: no display info");
        return false;
    }
    screens.clear();
    if (args.virgl && (!driver.ok(ctx_create(virgl_context, "tessera-sim-guest")) ||
                       (args.garbage && !driver.ok(ctx_create(hostile_context, "hostile"))))) {
        std::println(stderr, "tessera-sim-guest: no 3D context (is 3D on for this guest?)");
        return false;
    }
    for (uint32_t i = 0; i < modes->size(); ++i) {
        if (!(*modes)[i].enabled) {
            continue;
        }
        auto screen = start_screen(driver, args, i, (*modes)[i]);
        if (!screen) {
            return false;
        }
        screens.push_back(std::move(*screen));
    }

    if (args.cursor && !screens.empty()) {
        // As the Linux driver does: a 64x64 dumb buffer (B8G8R8X8, whose fourth byte the
        // cursor uses as alpha), transferred, then UPDATE_CURSOR. An opaque magenta square and
        // beside it a translucent one (premultiplied white at 0x77), transparent elsewhere.
        auto image =
            driver.create_framebuffer(64, 64, static_cast<uint32_t>(proto::Format::b8g8r8x8));
        if (!image) {
            std::println(stderr, "tessera-sim-guest: cannot create the cursor");
            return false;
        }
        driver.draw(*image, [](uint32_t x, uint32_t y) {
            if (y < 8 || y >= 24 || x < 8 || x >= 40) {
                return 0u;
            }
            return x < 24 ? 0xffff00ffu : 0x77777777u;
        });
        if (!driver.ok(transfer(image->id, {0, 0, 64, 64}, 0)) ||
            !driver.cursor_command(cursor(true, 0, 100, 60, image->id, 8, 8))) {
            std::println(stderr, "tessera-sim-guest: the cursor update failed");
            return false;
        }
        std::println("cursor");
    }
    return true;
}

// A VM reset: the rings stop (GET_VRING_BASE), the guest's memory is free again, and a fresh
// driver starts over on fresh rings; the device has let go of everything the old one made.
bool reboot(Frontend& frontend, std::optional<GuestDriver>& driver, const Args& args,
            std::vector<Screen>& screens) {
    driver.reset();
    if (!frontend.stop()) {
        std::println(stderr, "tessera-sim-guest: the device did not stop its rings");
        return false;
    }
    frontend.reset_rings();
    frontend.forget_allocations();
    if (!frontend.driver_ok()) {
        std::println(stderr, "tessera-sim-guest: the device did not restart");
        return false;
    }
    driver.emplace(frontend);
    return boot(*driver, args, screens);
}

} // namespace

int main(int argc, char** argv) {
    Args args = parse(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, nullptr, _IOLBF, 0);

    TestEventLoop loop;
    FrontendOptions options;
    options.connect_path = args.socket;
    options.regions = {{0, 64ull << 20}};
    if (args.blob) {
        options.features |= gpu_feature::resource_blob;
    }
    if (args.virgl) {
        options.features |= gpu_feature::virgl;
    }
    std::optional<Frontend> frontend;
    try {
        frontend.emplace(loop, options);
    } catch (const std::exception& e) {
        std::println(stderr, "tessera-sim-guest: {}", e.what());
        return 1;
    }
    if (!frontend->start()) {
        std::println(stderr, "tessera-sim-guest: the device did not start");
        return 1;
    }
    std::optional<GuestDriver> driver(std::in_place, *frontend);
    std::vector<Screen> screens;
    if (!boot(*driver, args, screens)) {
        return 1;
    }

    auto period = args.fps > 0 ? std::chrono::duration<double>(1.0 / args.fps)
                               : std::chrono::duration<double>(0);
    auto next = std::chrono::steady_clock::now();
    uint64_t flips = 0;
    uint64_t late_fences = 0;
    for (uint64_t n = 1; args.frames == 0 || n <= args.frames; ++n) {
        if (args.reboot_every > 0 && n > 1 && (n - 1) % args.reboot_every == 0) {
            if (!reboot(*frontend, driver, args, screens)) {
                return 1;
            }
            std::println("reboot {}", (n - 1) / args.reboot_every);
        }
        if (!frontend->backend_requests().empty() && !args.fixed_mode &&
            !follow_display_change(*driver, args, screens)) {
            std::println(stderr, "tessera-sim-guest: following a display change failed");
            return 1;
        }
        for (auto& s : screens) {
            uint32_t h = s.fb.height;
            auto frame = static_cast<uint32_t>(n);
            if (s.back) {
                // Draw the hidden buffer (it holds frame n - 2: only the two bands change) and
                // flip to it.
                std::swap(s.fb, *s.back);
                if (s.fb.rendered) {
                    // As Linux flips a 3D framebuffer: an unfenced flush. The next frame's
                    // rendering fence is what waits for this one to be presented.
                    if (!render_frame(*driver, s.fb, n) || !driver->flip(s.scanout, s.fb)) {
                        std::println(stderr, "tessera-sim-guest: 3D frame {} failed", n);
                        return 1;
                    }
                    ++flips;
                    continue;
                } else {
                    draw_rows(*driver, s.fb, 0, h / 16, frame);
                    draw_rows(*driver, s.fb, 3 * h / 8, 5 * h / 8, frame);
                }
                if (args.hang_after > 0 && n > args.hang_after) {
                    if (!driver->flip_blob_and_hang(s.scanout, s.fb)) {
                        std::println(stderr, "tessera-sim-guest: flip {} failed", n);
                        return 1;
                    }
                    std::println("hung");
                    for (;;) {
                        pause(); // until a signal ends the process
                    }
                }
                auto flip = driver->flip_blob(s.scanout, s.fb, args.fence_wait_ms);
                if (!flip.ok) {
                    std::println(stderr, "tessera-sim-guest: flip {} failed", n);
                    return 1;
                }
                ++flips;
                late_fences += flip.fence_timed_out ? 1 : 0;
                continue;
            }
            // Two damaged bands, one flush of their union: as the Linux driver merges damage.
            if (!update_rows(*driver, s, 0, h / 16, frame, args) ||
                !update_rows(*driver, s, 3 * h / 8, 5 * h / 8, frame, args) ||
                !driver->ok(flush(s.fb.id, {0, 0, s.fb.width, 5 * h / 8}))) {
                std::println(stderr, "tessera-sim-guest: flip {} failed", n);
                return 1;
            }
            ++flips;
        }
        if (args.garbage) {
            send_garbage(*driver, n, args.virgl);
        }
        if (n % 60 == 0) {
            std::println("frame {}", n);
        }
        next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
        std::this_thread::sleep_until(next);
    }
    std::println("flips {} late-fences {}", flips, late_fences);
    if (args.hold) {
        std::println("holding");
        for (;;) {
            // A live guest kernel still takes its answers (a late fence's among them).
            (void)frontend->wait_used(0, 1000);
        }
    }
    std::println("done");
    return 0;
}
