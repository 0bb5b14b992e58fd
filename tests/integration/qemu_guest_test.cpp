// The real thing: QEMU 10 with vhost-user-gpu-pci (TCG) boots the Debian kernel with an
// initramfs whose /init (tests/vm/guest/flipper.c) sets the offered mode through raw DRM
// ioctls and page-flips the test pattern. tessera serves its GPU and shows it in a zone.
// Skipped, saying why, where QEMU, the kernel or a static libc is missing.
#include "guest/guests.hpp"
#include "guest_pattern_check.hpp"
#include "headless_compositor.hpp"
#include "input_devices.hpp"
#include "output.hpp"
#include "test_paths.hpp"

#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <format>
#include <fstream>
#include <functional>

using namespace tessera;
using namespace tessera::test;
using compositor::Guest;
namespace fs = std::filesystem;

namespace {

constexpr PatternArea vm_zone{0, 0, 640, 480};
constexpr auto boot_timeout = std::chrono::seconds(90); // TCG on a loaded 2-core machine

std::string find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string_view rest = path ? path : "/usr/bin:/bin";
    while (!rest.empty()) {
        auto colon = rest.find(':');
        auto dir = rest.substr(0, colon);
        if (auto candidate = fs::path(dir) / name; fs::exists(candidate)) {
            return candidate.string();
        }
        rest = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
    }
    return {};
}

// The QEMU to run: TESSERA_QEMU (a program name or a path, e.g. the patched QEMU of
// tools/lib/qemu-blob.sh), else qemu-system-x86_64.
std::string qemu_program() {
    const char* program = std::getenv("TESSERA_QEMU");
    return program && *program ? program : "qemu-system-x86_64";
}

// The newest /boot/vmlinuz-KVER with its modules.
std::optional<std::pair<std::string, std::string>> find_kernel() {
    std::optional<std::pair<std::string, std::string>> found;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/boot", error)) {
        auto name = entry.path().filename().string();
        if (!name.starts_with("vmlinuz-")) {
            continue;
        }
        auto version = name.substr(8);
        if (fs::exists("/lib/modules/" + version + "/modules.dep") &&
            (!found || version > found->second)) {
            found = std::pair(entry.path().string(), version);
        }
    }
    return found;
}

struct GuestImage {
    std::string kernel;
    std::string initramfs;
};

// Builds the guest program and its initramfs under the build tree, or says why it cannot.
std::expected<GuestImage, std::string> build_guest_image(HeadlessCompositor& compositor) {
    auto qemu = qemu_program();
    if (qemu.find('/') != std::string::npos ? !fs::exists(qemu) : find_program(qemu).empty()) {
        return std::unexpected(qemu + " is not installed");
    }
    auto kernel = find_kernel();
    if (!kernel) {
        return std::unexpected("no /boot/vmlinuz-* with modules in /lib/modules");
    }
    if (!fs::exists("/usr/lib/x86_64-linux-gnu/libc.a")) {
        return std::unexpected("no static libc (libc6-dev) for the guest program");
    }
    auto dir = fs::path(TESSERA_TEST_OUTPUT_DIR) / "qemu-guest";
    fs::create_directories(dir);
    auto program = (dir / "flipper").string();
    auto initramfs = (dir / "initramfs.cpio").string();
    auto built = compositor.run_command(
        std::vector<std::string>{"cc", "-static", "-O2", "-Wall", "-Wextra", "-o", program,
                                 source_path("tests/vm/guest/flipper.c")},
        60s);
    if (built.status != 0) {
        return std::unexpected("cannot build the guest program: " + built.output);
    }
    auto packed = compositor.run_command(
        std::vector<std::string>{"python3", source_path("tests/vm/guest/make-initramfs.py"),
                                 "--program", program, "--kernel-version", kernel->second,
                                 "--output", initramfs},
        60s);
    if (packed.status != 0) {
        return std::unexpected("cannot build the initramfs: " + packed.output);
    }
    return GuestImage{kernel->first, initramfs};
}

// `options`: more of the guest kernel's command line (flipper.c reads tessera.* options).
std::vector<std::string> qemu_command(const GuestImage& image, const Guest& guest,
                                      const std::string& monitor, const std::string& options = "") {
    const char* accel = std::getenv("TESSERA_QEMU_ACCEL"); // the test rig's KVM cannot boot it
    // Its input devices, each on its socket, as data/vms/qemu-my-vm.sh gives them.
    std::vector<std::string> inputs;
    for (const auto& input : guest.inputs().status()) {
        auto id = std::format("input{}", inputs.size() / 4);
        inputs.insert(inputs.end(), {"-chardev", "socket,id=" + id + ",path=" + input.socket_path,
                                     "-device", "vhost-user-input-pci,chardev=" + id});
    }
    std::vector<std::string> command{qemu_program(),
                                     "-accel",
                                     accel ? accel : "tcg",
                                     "-cpu",
                                     "max",
                                     "-m",
                                     "256M",
                                     "-object",
                                     "memory-backend-memfd,id=mem,size=256M,share=on",
                                     "-numa",
                                     "node,memdev=mem",
                                     "-chardev",
                                     "socket,id=gpu,path=" + guest.socket_path(),
                                     "-device",
                                     "vhost-user-gpu-pci,chardev=gpu",
                                     "-vga",
                                     "none",
                                     "-nic",
                                     "none",
                                     "-display",
                                     "none",
                                     "-monitor",
                                     "unix:" + monitor + ",server,nowait",
                                     "-serial",
                                     "stdio",
                                     "-kernel",
                                     image.kernel,
                                     "-initrd",
                                     image.initramfs,
                                     "-append",
                                     "console=ttyS0 quiet loglevel=3 " + options};
    command.insert(command.end(), inputs.begin(), inputs.end());
    return command;
}

// Sends one human-monitor command to QEMU (system_reset: the machine reboots).
bool monitor_command(const std::string& monitor, const std::string& command) {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    monitor.copy(address.sun_path, sizeof(address.sun_path) - 1);
    if (!fd ||
        connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
        return false;
    }
    std::string line = command + "\n";
    return write(fd.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size());
}

std::string monitor_path(HeadlessCompositor& compositor) {
    return compositor.runtime_dir() + "/qemu-monitor.sock";
}

// QEMU booting the guest image on the socket of the layout's guest "linux".
std::unique_ptr<ClientProcess> start_qemu(HeadlessCompositor& compositor, const GuestImage& image,
                                          const std::string& options = "") {
    auto& guest = *compositor.server().guests()->find("linux");
    // QEMU's messages (stderr) join the guest's console (stdout) in the lines tests read; the
    // shell execs QEMU, so the process is QEMU's.
    std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$@\" 2>&1", "qemu"};
    auto qemu = qemu_command(image, guest, monitor_path(compositor), options);
    argv.insert(argv.end(), qemu.begin(), qemu.end());
    return compositor.spawn(argv);
}

// The guest's console goes to test-output/qemu-guest/NAME, whatever happens.
struct SaveConsole {
    ClientProcess& qemu;
    std::string name;
    ~SaveConsole() {
        auto path = fs::path(TESSERA_TEST_OUTPUT_DIR) / "qemu-guest" / name;
        std::ofstream(path) << qemu.output();
        std::fprintf(stderr, "guest console: %s\n", path.c_str());
    }
};

} // namespace

TEST_CASE("A Linux guest under QEMU shows its frames in its zone, reboots and comes back",
          "[qemu-guest]") {
    HeadlessCompositor compositor{
        {{800, 480, 60000}}, "us", test_data_path("layouts/qemu-guest.toml")};
    auto image = build_guest_image(compositor);
    if (!image) {
        SKIP("real-QEMU guest test skipped: " << image.error());
    }
    auto& guest = *compositor.server().guests()->find("linux");
    auto& scanout = *guest.scanouts()[0];
    auto qemu = start_qemu(compositor, *image);
    SaveConsole save_console{*qemu, "console.log"};

    // The guest took the mode it was offered: its zone's size.
    REQUIRE(qemu->wait_for_line("tessera-guest: mode 640x480@60", boot_timeout));
    REQUIRE(compositor.run_until([&] { return scanout.frames() >= 20; }, 60s));
    CHECK(scanout.width() == 640);
    CHECK(scanout.height() == 480);

    // Its animated pattern is in the zone, and frames keep arriving.
    auto first = compositor.capture();
    INFO(pattern_mismatch(first, vm_zone).value_or("pattern ok"));
    CHECK_FALSE(pattern_mismatch(first, vm_zone));
    auto counter = pattern_counter(first, vm_zone);
    REQUIRE(counter);
    uint64_t frames = scanout.frames();
    REQUIRE(compositor.run_until([&] { return scanout.frames() >= frames + 20; }, 60s));
    auto counter2 = pattern_counter(compositor.capture(), vm_zone);
    REQUIRE(counter2);
    CHECK(*counter2 != *counter);
    CHECK(compositor.capture().at(720, 240) == Rgba{0, 0x40, 0, 255}); // nothing outside

    // Its framebuffers (2D dumb buffers with stock QEMU, blobs with the patched one) are shown
    // from its memory: tessera copied nothing, its device transferred nothing.
    auto shown = scanout.stats();
    std::fprintf(stderr, "guest: %llu frames, %llu replaced, path %s, bytes copied %llu\n",
                 static_cast<unsigned long long>(shown.frames),
                 static_cast<unsigned long long>(shown.replaced),
                 std::string(compositor::frame_path_name(shown.path)).c_str(),
                 static_cast<unsigned long long>(shown.bytes_copied));
    CHECK(shown.bytes_copied == 0);
    CHECK(shown.path != compositor::FramePath::copy);
    CHECK(guest.device_stats().transfer_bytes == 0);

    // With a VMM that passes RESOURCE_BLOB (tools/dev test-qemu-blob: QEMU with
    // data/qemu/vhost-user-gpu.patch) the guest's dumb buffers are blobs: shown in place,
    // its page flips paced by the fences of its flushes.
    if (std::getenv("TESSERA_QEMU_BLOB") != nullptr) {
        auto& output = *compositor.server().outputs().front();
        auto before = scanout.stats();
        auto presents_before = output.frames_presented();
        auto start = std::chrono::steady_clock::now();
        compositor.run_for(5s);
        auto after = scanout.stats();
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        double flips = static_cast<double>(after.frames - before.frames) / seconds;
        double presents =
            static_cast<double>(output.frames_presented() - presents_before) / seconds;
        auto device = guest.device_stats();
        std::fprintf(stderr,
                     "blob guest: %.1f flips/s, output %.1f presents/s, presented %.1f/s, "
                     "latency p50 %.2f ms p99 %.2f ms, replaced %llu, bytes copied %llu, "
                     "path %s, blobs %llu, fenced frames %llu\n",
                     flips, presents,
                     static_cast<double>(after.presented - before.presented) / seconds,
                     after.latency_p50_ms.value_or(-1), after.latency_p99_ms.value_or(-1),
                     static_cast<unsigned long long>(after.replaced),
                     static_cast<unsigned long long>(after.bytes_copied),
                     std::string(compositor::frame_path_name(after.path)).c_str(),
                     static_cast<unsigned long long>(device.blobs),
                     static_cast<unsigned long long>(device.fenced_frames));
        CHECK(device.blobs >= 2);
        CHECK(device.fenced_frames > 0);
        CHECK(after.path != compositor::FramePath::copy);
        CHECK(after.bytes_copied == 0);
        CHECK(std::abs(flips - presents) <= 2.0);
    }

    // The machine reboots: the rings stop and restart on the same connection, the driver
    // starts over and the guest shows its screen again.
    REQUIRE(monitor_command(monitor_path(compositor), "system_reset"));
    REQUIRE(qemu->wait_for_line("tessera-guest: mode 640x480@60", boot_timeout, 2));
    uint64_t after_reboot = scanout.frames();
    REQUIRE(compositor.run_until([&] { return scanout.frames() >= after_reboot + 20; }, 60s));
    CHECK_FALSE(pattern_mismatch(compositor.capture(), vm_zone));
    CHECK(guest.connections() == 1);
    CHECK(guest.state() == Guest::State::running);

    // QEMU killed: the zone falls back; a new QEMU connects and is shown without a restart.
    qemu->kill(SIGKILL);
    REQUIRE(qemu->wait_exit());
    REQUIRE(compositor.run_until([&] { return guest.state() == Guest::State::listening; }, 10s));
    // The last frame stays for the zone's freeze timeout (300 ms), then the fallback shows.
    REQUIRE(compositor.run_until([&] { return !scanout.ready(); }, 10s));
    CHECK(compositor.capture().at(320, 240) == Rgba{0x40, 0, 0, 255});

    auto again = start_qemu(compositor, *image);
    REQUIRE(again->wait_for_line("tessera-guest: mode 640x480@60", boot_timeout));
    uint64_t before = scanout.frames();
    REQUIRE(compositor.run_until([&] { return scanout.frames() >= before + 20; }, 60s));
    CHECK_FALSE(pattern_mismatch(compositor.capture(), vm_zone));
    CHECK(guest.connections() == 2);

    // The zone resized: tessera offers the new size and tells QEMU on the backend channel.
    // A QEMU with data/qemu/vhost-user-gpu.patch raises the guest's display event and the
    // guest takes the new mode; stock QEMU logs the notice as unhandled and the guest keeps its
    // mode until it asks again (its next boot).
    auto resized =
        compositor.run_command({tessera_ctl_path(), "zone", "vm", "rect", "0", "0", "512", "384"});
    REQUIRE(resized.status == 0);
    if (std::getenv("TESSERA_QEMU_BLOB") != nullptr) {
        REQUIRE(again->wait_for_line("tessera-guest: mode 512x384@60", 60s));
        REQUIRE(compositor.run_until([&] { return scanout.width() == 512; }, 30s));
        CHECK(scanout.height() == 384);
    } else {
        CHECK(again->wait_for_line_ending("vhost-user-gpu: unhandled backend config change"));
        CHECK(scanout.width() == 640);
    }
    again->kill(SIGKILL);
    again->wait_exit();
}

TEST_CASE("A Linux guest that picks another mode of its EDID is shown at that size",
          "[qemu-guest]") {
    // The zone offers 1024x768; its EDID also lists the established 800x600 and 640x480 and
    // the standard 1024x576, which a guest's display settings may pick instead.
    HeadlessCompositor compositor{
        {{1024, 768, 60000}}, "us", test_data_path("layouts/qemu-guest-modes.toml")};
    auto image = build_guest_image(compositor);
    if (!image) {
        SKIP("real-QEMU guest test skipped: " << image.error());
    }
    auto& guest = *compositor.server().guests()->find("linux");
    auto& scanout = *guest.scanouts()[0];
    auto qemu = start_qemu(compositor, *image, "tessera.mode=800x600");
    INFO(qemu->output());
    REQUIRE(qemu->wait_for_line("tessera-guest: mode 800x600@60", boot_timeout));
    REQUIRE(compositor.run_until([&] { return scanout.frames() >= 10; }, 60s));
    CHECK(scanout.width() == 800);
    CHECK(scanout.height() == 600);
    CHECK(guest.offered(0).width == 1024); // still the preferred
    // Shown in the zone: not its fallback.
    CHECK(compositor.capture().at(512, 384) != Rgba{0x40, 0, 0, 255});
    qemu->kill(SIGKILL);
    qemu->wait_exit();
}

namespace {

// The guest's console lines of one input device ("tessera-guest: input TAG ..."), from `from`
// on: "TYPE CODE VALUE" each, key repeats (value 2, the guest's own) left out.
std::vector<std::string> guest_events(const ClientProcess& qemu, const std::string& tag,
                                      size_t& from) {
    std::vector<std::string> events;
    const auto prefix = "tessera-guest: input " + tag + " ";
    const auto& lines = qemu.lines();
    for (; from < lines.size(); ++from) {
        if (lines[from].starts_with(prefix) && !lines[from].ends_with(" 2")) {
            events.push_back(lines[from].substr(prefix.size()));
        }
    }
    return events;
}

std::string ev(int type, int code, int value) {
    return std::format("{} {} {}", type, code, value);
}

// Runs the compositor until `done`, reading QEMU's console meanwhile: a console left unread
// fills its pipe, and the guest then blocks writing to it.
bool run_reading_console(ClientProcess& qemu, const std::function<bool()>& done,
                         std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        (void)qemu.wait_for_line("\x01 never printed", 50ms);
    }
    return true;
}

} // namespace

TEST_CASE("A Linux guest under QEMU reads touch and pointer and keys from a scaled zone",
          "[qemu-guest]") {
    HeadlessCompositor compositor{
        {{1024, 768, 60000}}, "us", test_data_path("layouts/qemu-guest-input.toml")};
    auto image = build_guest_image(compositor);
    if (!image) {
        SKIP("real-QEMU guest test skipped: " << image.error());
    }
    auto& guest = *compositor.server().guests()->find("linux");
    auto& scanout = *guest.scanouts()[0];
    // 800x600 of its EDID in a zone that offered 1024x768: the devices' axes span 1024x768.
    auto qemu = start_qemu(compositor, *image, "tessera.mode=800x600 tessera.input=3");
    SaveConsole save_console{*qemu, "console-input.log"};
    REQUIRE(qemu->wait_for_line("tessera-guest: mode 800x600@60", boot_timeout));
    // What a guest compositor reads of each device with its ioctls.
    REQUIRE(qemu->wait_for_line("tessera-guest: input-device touchscreen name=\"tessera "
                                "touchscreen Virtual-1\" props=02 x=0..1023 y=0..767 slots=10",
                                60s));
    REQUIRE(qemu->wait_for_line("tessera-guest: input-device pointer name=\"tessera pointer\" "
                                "props=00 x=0..1023 y=0..767 slots=0",
                                60s));
    REQUIRE(qemu->wait_for_line("tessera-guest: input-device keyboard name=\"tessera keyboard\" "
                                "props=00 x=0..0 y=0..0 slots=0",
                                60s));
    REQUIRE(run_reading_console(
        *qemu,
        [&] {
            return guest.inputs().running(ivi::input_touch) &&
                   guest.inputs().running(ivi::input_pointer) &&
                   guest.inputs().running(ivi::input_keyboard);
        },
        30s));
    // The zone shrinks to 512x300: the 800x600 picture is shown at half size, 400x300, between
    // bars 56 pixels wide left and right.
    auto resized =
        compositor.run_command({tessera_ctl_path(), "zone", "vm", "rect", "0", "0", "512", "300"});
    REQUIRE(resized.status == 0);
    uint64_t frames = scanout.frames();
    REQUIRE(run_reading_console(*qemu, [&] { return scanout.frames() >= frames + 5; }, 60s));
    REQUIRE(scanout.width() == 800);

    size_t touch_from = 0, pointer_from = 0, keyboard_from = 0;
    TestTouch finger(compositor);
    finger.down(9, 20, 150); // a bar: nothing for the guest
    finger.up(9);
    finger.down(1, 256, 150); // guest pixel (400, 300): axes (512, 384)
    finger.down(2, 156, 50);  // guest pixel (200, 100): axes (256, 128)
    finger.up(1);
    finger.up(2);
    REQUIRE(qemu->wait_for_line("tessera-guest: touch 400 300", 60s));
    // tessera sends ABS_MT_SLOT 0 first too; the guest's input core drops it, as it drops any
    // absolute value that did not change (the slot starts at 0).
    const std::vector<std::string> touches{ev(EV_ABS, ABS_MT_TRACKING_ID, 0),
                                           ev(EV_ABS, ABS_MT_POSITION_X, 512),
                                           ev(EV_ABS, ABS_MT_POSITION_Y, 384),
                                           ev(EV_ABS, ABS_X, 512),
                                           ev(EV_ABS, ABS_Y, 384),
                                           ev(EV_KEY, BTN_TOUCH, 1),
                                           ev(0, 0, 0),
                                           ev(EV_ABS, ABS_MT_SLOT, 1),
                                           ev(EV_ABS, ABS_MT_TRACKING_ID, 1),
                                           ev(EV_ABS, ABS_MT_POSITION_X, 256),
                                           ev(EV_ABS, ABS_MT_POSITION_Y, 128),
                                           ev(0, 0, 0),
                                           ev(EV_ABS, ABS_MT_SLOT, 0),
                                           ev(EV_ABS, ABS_MT_TRACKING_ID, -1),
                                           ev(0, 0, 0),
                                           ev(EV_ABS, ABS_MT_SLOT, 1),
                                           ev(EV_ABS, ABS_MT_TRACKING_ID, -1),
                                           ev(EV_KEY, BTN_TOUCH, 0),
                                           ev(0, 0, 0)};
    REQUIRE(run_reading_console(
        *qemu,
        [&] {
            size_t from = 0;
            return guest_events(*qemu, "touchscreen", from).size() >= touches.size();
        },
        60s));
    CHECK(guest_events(*qemu, "touchscreen", touch_from) == touches);
    // The guest drew its marker where it was touched: the screenshot shows it at the point
    // touched in the zone. Its 2D flips are not fenced, so it may run ahead of tessera and
    // redraw the buffer still shown: a capture can catch a frame half drawn, hence the wait
    // for one that shows the marker.
    CHECK(run_reading_console(
        *qemu, [&] { return compositor.capture().at(256, 150) == Rgba{0xff, 0, 0xff, 255}; }, 30s));

    TestPointer mouse(compositor);
    TestKeyboard keys(compositor);
    mouse.move_to(156, 50);
    mouse.click(BTN_LEFT);
    const std::vector<std::string> pointing{ev(EV_ABS, ABS_X, 256),
                                            ev(EV_ABS, ABS_Y, 128),
                                            ev(0, 0, 0),
                                            ev(EV_KEY, BTN_LEFT, 1),
                                            ev(0, 0, 0),
                                            ev(EV_KEY, BTN_LEFT, 0),
                                            ev(0, 0, 0)};
    // The click gave the guest the keyboard.
    keys.tap(KEY_T);
    keys.tap(KEY_S);
    auto describe_inputs = [&] {
        std::string text;
        for (const auto& input : guest.inputs().status()) {
            text +=
                std::format("{} {}: sent {} delivered {} dropped {} queued {} failures {}\n",
                            ivi::input_kind_name(input.device.kind), input.state, input.frames_sent,
                            input.device_stats.events_delivered, input.device_stats.frames_dropped,
                            input.device_stats.queued, input.device_stats.device_failures);
        }
        return text;
    };
    const std::vector<std::string> typing{
        ev(EV_KEY, KEY_T, 1), ev(0, 0, 0), ev(EV_KEY, KEY_T, 0), ev(0, 0, 0),
        ev(EV_KEY, KEY_S, 1), ev(0, 0, 0), ev(EV_KEY, KEY_S, 0), ev(0, 0, 0)};
    CHECK(run_reading_console(
        *qemu,
        [&] {
            size_t p = pointer_from, k = keyboard_from;
            return guest_events(*qemu, "pointer", p).size() >= pointing.size() &&
                   guest_events(*qemu, "keyboard", k).size() >= typing.size();
        },
        60s));
    INFO(describe_inputs());
    CHECK(guest_events(*qemu, "pointer", pointer_from) == pointing);
    CHECK(guest_events(*qemu, "keyboard", keyboard_from) == typing);
    for (const auto& input : guest.inputs().status()) {
        CAPTURE(ivi::input_kind_name(input.device.kind));
        CHECK(input.device_stats.frames_dropped == 0);
    }
    qemu->kill(SIGKILL);
    qemu->wait_exit();
}
