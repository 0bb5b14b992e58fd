// A real 3D guest: stock QEMU 10 with vhost-user-gpu-pci (TCG) boots the Debian kernel with the
// build root shared read-only over 9p (tests/vm/rig/run-in-vm.py) and runs Debian's kmscube on
// /dev/dri/card0: Mesa's virgl driver in the guest, virglrenderer (llvmpipe without a GPU) in
// the guest's sandboxed device process on the host. tessera shows its frames in a zone, paced.
// Skipped, saying why, where QEMU, the kernel or kmscube is missing.
#include "guest/guests.hpp"
#include "headless_compositor.hpp"
#include "output.hpp"
#include "test_paths.hpp"
#include "util/image.hpp"

#include <catch2/catch_test_macros.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <format>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace tessera;
using namespace tessera::test;
namespace fs = std::filesystem;

namespace {

constexpr auto boot_timeout = std::chrono::seconds(120); // TCG on a loaded 2-core machine
constexpr int cube_frames = 900;                         // kmscube -c: then the VM powers off

// Why the guest cannot run here, if it cannot.
std::optional<std::string> missing_part() {
    for (const char* program : {"/usr/bin/qemu-system-x86_64", "/usr/bin/kmscube"}) {
        if (!fs::exists(program)) {
            return std::format("{} is not installed", program);
        }
    }
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/boot", error)) {
        if (entry.path().filename().string().starts_with("vmlinuz-")) {
            return std::nullopt;
        }
    }
    return "no /boot/vmlinuz-*";
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The VM: run-in-vm.py with the guest's GPU on tessera's socket; QEMU dies with it.
std::unique_ptr<ClientProcess> start_vm(HeadlessCompositor& compositor,
                                        const compositor::Guest& guest) {
    std::string memory = "1G"; // shared with the device process (vhost-user): a memfd
    // stderr (the runner's own lines) joins the guest's console in the lines the test reads.
    std::vector<std::string> argv{
        "/bin/sh", "-c", "exec \"$@\" 2>&1", "run-in-vm", "python3",
        source_path("tests/vm/rig/run-in-vm.py"), "--out",
        (fs::path(TESSERA_TEST_OUTPUT_DIR) / "vm-rig").string(), "--work", "none", "--memory",
        memory, "--smp", "2", "--timeout", "280", "--kmod", "virtio-gpu", "--qemu-arg=-object",
        "--qemu-arg=memory-backend-memfd,id=mem,size=" + memory + ",share=on", "--qemu-arg=-numa",
        "--qemu-arg=node,memdev=mem", "--qemu-arg=-chardev",
        "--qemu-arg=socket,id=gpu,path=" + guest.socket_path(), "--qemu-arg=-device",
        "--qemu-arg=vhost-user-gpu-pci,chardev=gpu", "--", "sh", "-c",
        // kmscube stops at the first key on its stdin (it selects on
        // it): give it a pipe that never has one.
        std::format("mkfifo /tmp/keys && (sleep 1000 > /tmp/keys &) "
                    "&& kmscube -c {} < /tmp/keys",
                    cube_frames)};
    return compositor.spawn(argv);
}

// The guest's console goes to test-output/qemu-guest/NAME, whatever happens.
struct SaveConsole {
    ClientProcess& vm;
    std::string name;
    ~SaveConsole() {
        auto dir = fs::path(TESSERA_TEST_OUTPUT_DIR) / "qemu-guest";
        fs::create_directories(dir);
        std::ofstream(dir / name) << vm.output();
        std::fprintf(stderr, "guest console: %s\n", (dir / name).c_str());
    }
};

bool near(int value, int want, int tolerance) {
    return std::abs(value - want) <= tolerance;
}

} // namespace

TEST_CASE("A Linux guest renders GL with virgl on the host through tessera, shown paced",
          "[qemu-virgl]") {
    if (auto missing = missing_part()) {
        SKIP("real-QEMU 3D guest test skipped: " << *missing);
    }
    HeadlessCompositor compositor{
        {{800, 480, 60000}}, "us", test_data_path("layouts/qemu-virgl.toml")};
    auto& guest = *compositor.server().guests()->find("linux");
    auto& scanout = *guest.scanouts()[0];
    auto vm = start_vm(compositor, guest);
    SaveConsole save_console{*vm, "virgl-console.log"};

    // Mesa in the guest drives the host's renderer: kmscube names it.
    auto names_virgl = [&] {
        return std::ranges::any_of(vm->lines(), [](const std::string& line) {
            return line.find("renderer: \"virgl") != std::string::npos;
        });
    };
    REQUIRE(vm->wait_for_lines(names_virgl, boot_timeout));
    // The console's 2D frames come first; then kmscube's: read back, or shown from the
    // renderer's textures where its driver exports them (a GPU, or /dev/udmabuf).
    auto rendered = [&] {
        auto path = scanout.stats().path;
        return path == compositor::FramePath::readback ||
               (path == compositor::FramePath::dmabuf && guest.device_stats().exports > 0);
    };
    REQUIRE(compositor.run_until(rendered, 60s));
    uint64_t first_frame = scanout.frames();
    REQUIRE(compositor.run_until([&] { return scanout.frames() >= first_frame + 20; }, 60s));
    CHECK(scanout.width() == 640);
    CHECK(scanout.height() == 480);

    // The renderer runs in the guest's sandboxed device process.
    const auto* link = guest.link();
    REQUIRE(link);
    auto status = read_text_file("/proc/" + std::to_string(link->pid()) + "/status");
    CHECK(status.find("Seccomp:\t2") != std::string::npos);

    // The cube turns over a still background: the zone's middle changes, its corner does not,
    // and nothing of it leaks outside the zone.
    auto first = compositor.capture();
    Rgba background = first.at(8, 8);
    std::set<std::tuple<int, int, int>> middles;
    REQUIRE(compositor.run_until(
        [&] {
            auto shot = compositor.capture();
            Rgba corner = shot.at(8, 8);
            INFO("corner " << int(corner.r) << "," << int(corner.g) << "," << int(corner.b));
            REQUIRE(corner == background);
            Rgba middle = shot.at(320, 240);
            if (!(middle == background)) {
                middles.insert({middle.r, middle.g, middle.b});
            }
            return middles.size() >= 3;
        },
        60s));
    // kmscube's grey (0.5) behind the cube.
    INFO("background " << int(background.r) << "," << int(background.g) << ","
                       << int(background.b));
    CHECK(near(background.r, 128, 2));
    CHECK(near(background.g, 128, 2));
    CHECK(near(background.b, 128, 2));
    CHECK(compositor.capture().at(720, 240) == (Rgba{0, 0x40, 0, 255}));
    auto shot = compositor.capture();
    REQUIRE(write_png(shot, (fs::path(TESSERA_TEST_OUTPUT_DIR) / "qemu-virgl.png").string()));

    // Paced: every frame waited for its flush's fence, held until the output presented it,
    // and none was replaced unseen.
    // The device's figures come with its answers to pings: fresh ones after two more.
    auto device_synced = [&] {
        uint64_t pings = guest.link()->pings_answered();
        return compositor.run_until([&] { return guest.link()->pings_answered() >= pings + 2; },
                                    10s);
    };
    REQUIRE(device_synced());
    auto shown_before = scanout.stats();
    auto device_before = guest.device_stats();
    REQUIRE(
        compositor.run_until([&] { return scanout.frames() >= shown_before.frames + 30; }, 60s));
    REQUIRE(device_synced());
    auto shown = scanout.stats();
    auto device = guest.device_stats();
    CHECK(rendered());
    std::fprintf(stderr,
                 "virgl guest: %llu frames, %llu presented, %llu replaced, latency p50 %.1f ms, "
                 "%llu command buffers, %llu bytes read back\n",
                 static_cast<unsigned long long>(shown.frames),
                 static_cast<unsigned long long>(shown.presented),
                 static_cast<unsigned long long>(shown.replaced), shown.latency_p50_ms.value_or(-1),
                 static_cast<unsigned long long>(device.submits),
                 static_cast<unsigned long long>(device.readback_bytes));
    CHECK(shown.replaced == shown_before.replaced);
    CHECK(device.fenced_frames - device_before.fenced_frames + 4 >=
          shown.frames - shown_before.frames);
    CHECK(device.submits > device_before.submits);
    REQUIRE(shown.latency_p50_ms);
    double period_ms = 1000.0 / 60;
    CHECK(*shown.latency_p50_ms <= 2 * period_ms + 5);
    if (shown.path == compositor::FramePath::readback) { // one copy per frame: its read-back
        CHECK(
            near(static_cast<int>(device.readback_bytes / std::max<uint64_t>(device.readbacks, 1)),
                 640 * 480 * 4, 640 * 480));
    } else {
        CHECK(device.readback_bytes == device_before.readback_bytes);
    }

    // kmscube ends after its frames and the VM powers off by itself.
    auto exit = vm->wait_exit(boot_timeout);
    REQUIRE(exit);
    CHECK(*exit == 0);
}
