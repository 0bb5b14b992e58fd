// A hostile VMM, or a guest that took over its device process: guest b hands in fds of the wrong
// kind, or its device process is killed mid-frame, stopped, grows past its memory limit, or
// breaks the rules of its channel to tessera.
// Only b loses its device; tessera goes on presenting at the output's rate, and guest a (a paced
// blob guest) with it, frame for frame. b's next VMM gets a fresh device process.
#include "guest_rig.hpp"
#include "output.hpp"
#include "pacing_window.hpp"

#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace tessera;
using namespace tessera::test;
using compositor::Guest;

namespace {

constexpr Rgba right_fallback{0, 0x40, 0, 255};

std::string read_text_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct HostileRig : GuestRig {
    compositor::Output& output() { return *compositor.server().outputs().front(); }

    // Runs `event` and then until `done`, and checks that meanwhile the output presented at its
    // rate and guest a was paced to it. A loop the hostile guest blocked would lose seconds of
    // presents; a busy machine may drop a few frames of 60.
    void keeps_presenting(const std::function<void()>& event, const std::function<bool()>& done) {
        PacingWindow a_pacing(*guest("a").scanouts()[0], output());
        event();
        REQUIRE(compositor.run_until(done, 20s));
        compositor.run_for(500ms); // and a while after
        a_pacing.close();
        a_pacing.check_paced(40);
    }

    // a: a paced blob guest, one frame per output frame; b: a 2D guest flipping on its own.
    std::unique_ptr<ClientProcess> start_a() {
        auto vm = start("a", {"--blob"});
        REQUIRE(vm->wait_for_line("mode 0 320x240"));
        REQUIRE(frames_reach("a", 30));
        return vm;
    }
    std::unique_ptr<ClientProcess> start_b() {
        auto vm = start("b", {"--fps", "30"});
        REQUIRE(vm->wait_for_line("mode 0 320x240"));
        REQUIRE(frames_reach("b", frames("b") + 10));
        return vm;
    }
    pid_t device_of(const char* name) {
        const auto* link = guest(name).link();
        REQUIRE(link);
        return link->pid();
    }
};

// A raw vhost-user connection to a guest socket, to send one message with one fd.
UniqueFd connect_to(const std::string& path) {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    return fd;
}

void send_with_fd(int socket, uint32_t request, const std::vector<std::byte>& payload, int fd) {
    std::vector<std::byte> bytes(12);
    uint32_t header[3] = {request, 0x1, static_cast<uint32_t>(payload.size())};
    std::memcpy(bytes.data(), header, sizeof(header));
    bytes.insert(bytes.end(), payload.begin(), payload.end());
    iovec iov{bytes.data(), bytes.size()};
    alignas(cmsghdr) std::byte control[CMSG_SPACE(sizeof(int))]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    REQUIRE(sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

// True once the other end closed the connection (EOF or reset).
bool closed_by_peer(int socket) {
    std::array<std::byte, 256> buffer{};
    ssize_t n = recv(socket, buffer.data(), buffer.size(), MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

std::vector<std::byte> u64_payload(uint64_t value) {
    std::vector<std::byte> bytes(8);
    std::memcpy(bytes.data(), &value, 8);
    return bytes;
}

std::vector<std::byte> one_region_table() {
    uint32_t head[2] = {1, 0};
    uint64_t region[4] = {0, 1 << 20, 0x7f0000000000, 0};
    std::vector<std::byte> bytes(sizeof(head) + sizeof(region));
    std::memcpy(bytes.data(), head, sizeof(head));
    std::memcpy(bytes.data() + sizeof(head), region, sizeof(region));
    return bytes;
}

} // namespace

TEST_CASE("A VMM handing in fds of the wrong kind loses its connection, nothing else",
          "[hostile-vmm]") {
    HostileRig rig;
    auto a = rig.start_a();
    struct Slot {
        const char* name;
        uint32_t request;
        std::vector<std::byte> payload;
    };
    std::vector<Slot> slots = {
        {"kick", 12, u64_payload(0)},      // VHOST_USER_SET_VRING_KICK
        {"call", 13, u64_payload(1)},      // VHOST_USER_SET_VRING_CALL
        {"memory", 5, one_region_table()}, // VHOST_USER_SET_MEM_TABLE
        {"channel", 21, {}},               // VHOST_USER_SET_BACKEND_REQ_FD
    };
    std::vector<std::pair<const char*, std::function<UniqueFd()>>> kinds = {
        {"memfd", [] { return UniqueFd(memfd_create("wrong", MFD_CLOEXEC)); }},
        {"/dev/null", [] { return UniqueFd(open("/dev/null", O_RDWR | O_CLOEXEC)); }},
        {"a directory", [] { return UniqueFd(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)); }},
    };
    rig.keeps_presenting(
        [&] {
            for (const auto& slot : slots) {
                for (const auto& [kind, make] : kinds) {
                    CAPTURE(slot.name, kind);
                    UniqueFd wrong = make();
                    REQUIRE(wrong);
                    UniqueFd vmm = connect_to(rig.socket("b"));
                    send_with_fd(vmm.get(), slot.request, slot.payload, wrong.get());
                    REQUIRE(
                        rig.compositor.run_until([&] { return closed_by_peer(vmm.get()); }, 10s));
                    // The device tells tessera right after it closed the socket.
                    REQUIRE(rig.compositor.run_until(
                        [&] { return rig.guest("b").state() == Guest::State::listening; }, 10s));
                }
            }
        },
        [&] { return rig.guest("b").state() == Guest::State::listening; });
    // Each was refused by the device (level 1): none of them is a failed device process.
    CHECK(rig.guest("b").device_failures() == 0);
    CHECK(rig.guest("b").connections() == slots.size() * kinds.size());
    // b still takes a well-behaved VMM.
    auto b = rig.start_b();
    CHECK(rig.guest("b").state() == Guest::State::running);
}

TEST_CASE("A device process killed mid-frame costs only its guest", "[hostile-vmm]") {
    HostileRig rig;
    auto a = rig.start_a();
    auto b = rig.start_b();
    pid_t first = rig.device_of("b");
    rig.keeps_presenting([&] { REQUIRE(::kill(first, SIGKILL) == 0); },
                         [&] { return rig.guest("b").device_failures() == 1; });
    CHECK(rig.guest("b").last_device_failure().find("killed by signal 9") != std::string::npos);
    // The VMM's connection went with it; its zone shows the fallback after the freeze timeout.
    auto status = b->wait_exit(10s);
    REQUIRE(status);
    CHECK(*status != 0);
    REQUIRE(rig.compositor.run_until(
        [&] { return rig.compositor.capture().at(480, 120) == right_fallback; }, 5s));
    // The next VMM gets a fresh device process.
    auto again = rig.start_b();
    CHECK(rig.device_of("b") != first);
    CHECK(rig.guest("b").connections() == 2);
    CHECK(rig.guest("b").device_failures() == 1);
}

TEST_CASE("A device process that stops answering is ended, its neighbour unharmed",
          "[hostile-vmm]") {
    HostileRig rig;
    auto a = rig.start_a();
    auto b = rig.start_b();
    pid_t device = rig.device_of("b");
    rig.keeps_presenting([&] { REQUIRE(::kill(device, SIGSTOP) == 0); },
                         [&] { return rig.guest("b").device_failures() == 1; });
    CHECK(rig.guest("b").last_device_failure().find("stopped answering") != std::string::npos);
    CHECK(rig.guest("b").state() == Guest::State::listening);
    auto status = b->wait_exit(10s);
    REQUIRE(status);
    CHECK(*status != 0);
}

TEST_CASE("A device process that grows past its memory limit costs only its guest",
          "[hostile-vmm]") {
#if defined(TESSERA_SANITIZED)
    SKIP("sanitizer builds run device processes without a memory limit (their shadow memory)");
#endif
    HostileRig rig;
    auto a = rig.start_a();
    // b's next device process is one that allocates until something stops it.
    REQUIRE(setenv("TESSERA_DEVICE_PROGRAM", greedy_device_path().c_str(), 1) == 0);
    std::unique_ptr<ClientProcess> b;
    rig.keeps_presenting([&] { b = rig.start("b"); },
                         [&] { return rig.guest("b").device_failures() == 1; });
    unsetenv("TESSERA_DEVICE_PROGRAM");
    // The kernel refused it memory at its limit (b's quota, 8 MiB, plus 256 MiB for itself).
    CHECK(rig.guest("b").last_device_failure().find("ran out of memory at its limit") !=
          std::string::npos);
    auto status = b->wait_exit(10s);
    REQUIRE(status);
    CHECK(*status != 0);
    // The next VMM gets a real device process again.
    auto again = rig.start_b();
    CHECK(rig.guest("b").device_failures() == 1);
}

TEST_CASE("A device process that breaks its channel's rules costs only its guest",
          "[hostile-vmm]") {
    // Each misdeed of tessera-rogue-device, and what tessera says of it.
    const std::vector<std::pair<const char*, const char*>> misdeeds = {
        {"short", "shorter than its header"},
        {"version", "channel version"},
        {"size", "a body of"},
        {"too-many-fds", "larger than the channel allows"},
        {"unknown-type", "unknown type 999"},
        {"compositor-type", "unknown type 5"},
        {"state-size", "a bad state"},
        {"state-value", "a bad state"},
        {"fds-where-none", "fds with a message that takes none"},
        {"stats-size", "bad stats"},
        {"flush-index", "a bad flush"},
        {"fence-index", "a bad fence"},
        {"closed-length", "a bad closed"},
        {"stats-inputs", "bad stats"},
        {"input-slot", "a bad input state"},
        {"input-state", "a bad input state"},
        {"memory-count", "a bad memory table"},
        {"lend-huge", "beyond its guest's quota"},
        {"lend-pipe", "not a file that can be mapped"},
        {"lend-unsealed", "not sealed against shrinking"},
        {"lend-small", "not at least"},
        {"lend-no-fd", "a lend without its fd"},
        {"lend-twice", "a bad lend"},
        {"lend-kind", "a lend of unknown kind"},
        {"pieces-unknown-memory", "a lend of unknown memory"},
        {"pieces-outside", "a piece outside guest memory"},
        {"pieces-count", "a bad piece table"},
        {"scanout-never-lent", "a scanout of memory never lent"},
        {"scanout-source", "a bad scanout source"},
        {"scanout-image", "a bad scanout image"},
        {"scanout-outside", "an image outside its memory"},
        {"cursor-size", "a bad cursor image"},
        {"cursor-big", "a bad cursor image"},
        {"flood", "stopped answering"}, // only ever well-formed stats, none answering a ping
    };
    HostileRig rig;
    auto a = rig.start_a();
    REQUIRE(setenv("TESSERA_DEVICE_PROGRAM", rogue_device_path().c_str(), 1) == 0);
    uint64_t failures = 0;
    rig.keeps_presenting(
        [&] {
            for (const auto& [misdeed, said] : misdeeds) {
                CAPTURE(misdeed);
                UniqueFd vmm = connect_to(rig.socket("b"));
                std::string line = std::string(misdeed) + "\n";
                REQUIRE(write(vmm.get(), line.data(), line.size()) ==
                        static_cast<ssize_t>(line.size()));
                REQUIRE(rig.compositor.run_until(
                    [&] { return rig.guest("b").device_failures() == failures + 1; }, 10s));
                ++failures;
                const auto& reason = rig.guest("b").last_device_failure();
                CHECK(reason.find(said) != std::string::npos);
                if (std::string_view(misdeed) != "flood") {
                    CHECK(reason.find("broke its channel") != std::string::npos);
                }
                // Its VMM's connection went with it, and b takes the next one.
                REQUIRE(rig.compositor.run_until([&] { return closed_by_peer(vmm.get()); }, 5s));
                REQUIRE(rig.compositor.run_until(
                    [&] { return rig.guest("b").state() == Guest::State::listening; }, 5s));
            }
        },
        [&] { return failures == misdeeds.size(); });
    unsetenv("TESSERA_DEVICE_PROGRAM");
    auto b = rig.start_b();
    CHECK(rig.guest("b").device_failures() == misdeeds.size());
}

TEST_CASE("A device process runs sandboxed, with only its own fds", "[hostile-vmm]") {
    HostileRig rig;
    auto b = rig.start_b();
    pid_t device = rig.device_of("b");
    auto status = read_text_file("/proc/" + std::to_string(device) + "/status");
    CHECK(status.find("NoNewPrivs:\t1") != std::string::npos);
    CHECK(status.find("Seccomp:\t2") != std::string::npos); // a filter
    // No Wayland socket, no other guest's memory: its fds are the VMM's socket, the channel,
    // and what the VMM handed in (eventfds, b's guest RAM), plus stdio.
    auto fd_dir = "/proc/" + std::to_string(device) + "/fd";
    for (const auto& entry : std::filesystem::directory_iterator(fd_dir)) {
        auto target = std::filesystem::read_symlink(entry.path()).string();
        CAPTURE(entry.path().filename().string(), target);
        bool expected = target.starts_with("socket:") || target.starts_with("anon_inode:") ||
                        target.starts_with("/memfd:tessera-guest-ram") ||
                        target.starts_with("/dev/null") || entry.path().filename() == "1" ||
                        entry.path().filename() == "2";
        CHECK(expected);
        CHECK(target.find("wayland") == std::string::npos);
    }
    // Its environment is empty, but for sanitizer options in test builds.
    auto environ = read_text_file("/proc/" + std::to_string(device) + "/environ");
    for (size_t at = 0; at < environ.size();) {
        auto end = environ.find('\0', at);
        auto entry = environ.substr(at, end - at);
        CAPTURE(entry);
        CHECK(entry.find("SAN_OPTIONS=") != std::string::npos);
        at = end == std::string::npos ? environ.size() : end + 1;
    }
}
