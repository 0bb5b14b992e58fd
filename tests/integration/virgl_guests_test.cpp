// 3D guests against headless tessera: tessera-sim-guest --virgl plays a GL guest on virgl (3D
// render targets cleared by a Gallium command buffer, fenced, flipped with a fenced flush) on
// guest a, whose layout entry has 3d = true (tests/data/layouts/virgl-guest.toml). Its device
// process renders with virglrenderer (llvmpipe without a GPU) inside its sandbox and reads each
// frame back once; the zone shows it paced to the output. Guest b has no 3D.
#include "guest_rig.hpp"
#include "output.hpp"
#include "pacing_window.hpp"

#include <catch2/catch_test_macros.hpp>

#include <nlohmann/json.hpp>

#include <signal.h>

#include <fstream>
#include <iterator>
#include <set>
#include <string>

using namespace tessera;
using namespace tessera::test;
using compositor::Guest;

namespace {

constexpr Rgba left_fallback{0x40, 0, 0, 255};

struct VirglRig : GuestRig {
    VirglRig() : GuestRig(test_data_path("layouts/virgl-guest.toml")) {}

    compositor::Output& output() { return *compositor.server().outputs().front(); }
    compositor::ScanoutStats stats(const char* name) { return guest(name).scanouts()[0]->stats(); }
    std::unique_ptr<ClientProcess> start_virgl(std::vector<std::string> extra = {}) {
        extra.insert(extra.begin(), "--virgl");
        auto vm = start("a", extra);
        REQUIRE(vm->wait_for_line("mode 0 320x240", 30s));
        REQUIRE(frames_reach("a", 20));
        return vm;
    }
    // The guest's pacing over three seconds of running.
    PacingWindow pacing_of(const char* name) {
        PacingWindow window(*guest(name).scanouts()[0], output());
        compositor.run_for(3s);
        window.close();
        return window;
    }
    pid_t device_of(const char* name) {
        const auto* link = guest(name).link();
        REQUIRE(link);
        return link->pid();
    }
};

// A frame of tessera-sim-guest --virgl: red (n mod 16) * 16, green 128, blue 64 (each within
// a rounding step of the renderer).
bool is_virgl_frame(Rgba c) {
    auto near = [](int value, int want) { return std::abs(value - want) <= 2; };
    return near(c.g, 128) && near(c.b, 64) && c.r % 16 <= 2;
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_CASE("A virgl guest's frames are rendered in its sandboxed device process and shown paced",
          "[virgl-guests]") {
    VirglRig rig;
    auto vm = rig.start_virgl();

    // The renderer runs behind the device process's wall.
    pid_t device = rig.device_of("a");
    CHECK(device != getpid());
    auto status = read_text_file("/proc/" + std::to_string(device) + "/status");
    CHECK(status.find("Seccomp:\t2") != std::string::npos);
    CHECK(status.find("NoNewPrivs:\t1") != std::string::npos);

    auto paced = rig.pacing_of("a");
    paced.check_paced(50);
    // Each frame is read back once by the device process, or, where the host's GL driver
    // exports its textures (a GPU, or llvmpipe with /dev/udmabuf), shown from them.
    REQUIRE(rig.device_synced("a"));
    const bool exported = rig.guest("a").device_stats().exports > 0;
    auto s = rig.stats("a");
    CHECK(s.path == (exported ? compositor::FramePath::dmabuf : compositor::FramePath::readback));
    CHECK(s.replaced == 0);
    CHECK(s.bytes_copied == 0); // shown in place from the device's read-back copy or texture

    // The zone shows the guest's rendered frames, and they change.
    std::set<int> reds;
    REQUIRE(rig.compositor.run_until(
        [&] {
            auto shot = rig.compositor.capture();
            for (auto [x, y] : {std::pair{2, 2}, {160, 120}, {317, 237}}) {
                Rgba c = shot.at(x, y);
                INFO("pixel " << x << "," << y << ": " << int(c.r) << "," << int(c.g) << ","
                              << int(c.b));
                REQUIRE(is_virgl_frame(c));
            }
            reds.insert(shot.at(160, 120).r);
            return reds.size() >= 3;
        },
        10s));

    // Exactly one copy per frame, made by the device process (the frame read back), or none.
    REQUIRE(rig.device_synced("a"));
    auto d = rig.guest("a").device_stats();
    CHECK(d.submits >= 20);
    CHECK((exported ? d.readbacks == 0 : d.readbacks >= 20));
    CHECK(d.readbacks <= d.flushes);
    CHECK(d.readback_bytes == d.readbacks * 320 * 240 * 4);
    auto result = rig.compositor.run_command({tessera_ctl_path(), "--json", "guests"});
    REQUIRE(result.status == 0);
    auto a = nlohmann::json::parse(result.output)["guests"][0];
    CHECK(a["path"] == (exported ? "dma-buf" : "readback"));
    CHECK(a["three_d"] == true);
    CHECK(a["submits"].get<uint64_t>() >= 20);
    double per_frame = a["bytes_copied_per_frame"].get<double>();
    INFO("bytes copied per frame " << per_frame);
    CHECK(per_frame >= (exported ? 0 : 320 * 240 * 4 * 0.9));
    CHECK(per_frame <= (exported ? 0 : 320 * 240 * 4 * 1.1));
    auto human = rig.compositor.run_command({tessera_ctl_path(), "guests"});
    CHECK(human.output.find(exported ? "dma-buf" : "readback") != std::string::npos);
}

TEST_CASE("A guest without 3D in its layout gets no virgl", "[virgl-guests]") {
    VirglRig rig;
    auto vm = rig.start("b", {"--virgl"});
    auto exit = vm->wait_exit(20s);
    REQUIRE(exit);
    CHECK(*exit != 0);
    CHECK(rig.guest("b").device_stats().submits == 0);
}

TEST_CASE("Hostile command streams cost a virgl guest only its own context", "[virgl-guests]") {
    VirglRig rig;
    auto b = rig.start("b", {"--fps", "30"});
    REQUIRE(b->wait_for_line("mode 0 320x240"));
    auto vm = rig.start_virgl({"--garbage"});
    uint64_t errors = rig.guest("a").device_stats().errors;
    uint64_t b_frames = rig.frames("b");
    REQUIRE(rig.frames_reach("a", rig.frames("a") + 60));
    REQUIRE(rig.device_synced("a"));
    CHECK(rig.guest("a").device_stats().errors > errors);
    CHECK(rig.guest("a").device_failures() == 0);
    CHECK(rig.guest("a").state() == Guest::State::running);
    CHECK(rig.frames("b") > b_frames);
    CHECK(is_virgl_frame(rig.compositor.capture().at(160, 120)));
}

TEST_CASE("A virgl guest whose renderer crashes loses only its zone, and its next VM renders "
          "again",
          "[virgl-guests]") {
    VirglRig rig;
    auto b = rig.start("b", {"--fps", "30"});
    REQUIRE(b->wait_for_line("mode 0 320x240"));
    auto vm = rig.start_virgl();
    pid_t first = rig.device_of("a");

    // A crash inside the GL driver, as a bad stream might cause it.
    uint64_t b_frames = rig.frames("b");
    REQUIRE(::kill(first, SIGSEGV) == 0);
    REQUIRE(rig.compositor.run_until([&] { return rig.guest("a").device_failures() == 1; }, 20s));
    // "killed by signal 11"; a sanitizer's own SEGV handler reports it and exits instead.
    CHECK_FALSE(rig.guest("a").last_device_failure().empty());
    REQUIRE(rig.compositor.run_until(
        [&] { return rig.compositor.capture().at(160, 120) == left_fallback; }, 5s));
    CHECK(rig.frames("b") > b_frames);
    CHECK(rig.guest("b").device_failures() == 0);
    auto exit = vm->wait_exit(10s);
    REQUIRE(exit);

    auto again = rig.start_virgl();
    CHECK(rig.device_of("a") != first);
    REQUIRE(rig.compositor.run_until(
        [&] { return is_virgl_frame(rig.compositor.capture().at(160, 120)); }, 10s));
}
