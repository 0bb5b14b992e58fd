// Who may be a guest's VMM: processes of other users connect to guest sockets as the layout
// allows (guest-access.toml: b lets user 4343 and group 4242 in), and everyone else is closed on
// at accept. Needs root, to connect as those users; skipped otherwise.
#include "guest_rig.hpp"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

using namespace tessera;
using namespace tessera::test;
using compositor::Guest;

namespace {

// How a connection made as another user went.
enum Outcome : int {
    answered = 0,  // the guest's device answered VHOST_USER_GET_FEATURES
    closed = 1,    // tessera closed the connection
    no_access = 2, // the socket's file mode kept the user out
    other = 3,
};

struct Identity {
    uid_t uid;
    gid_t gid;
    std::vector<gid_t> groups;
};

// A child process takes on `who`, connects to `path` and asks for the device's features.
[[noreturn]] void connect_in_child(const std::string& path, const Identity& who) {
    if (setgroups(who.groups.size(), who.groups.data()) != 0 ||
        setresgid(who.gid, who.gid, who.gid) != 0 || setresuid(who.uid, who.uid, who.uid) != 0) {
        _exit(other);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        _exit(errno == EACCES ? no_access : other);
    }
    uint32_t get_features[3] = {1, 0x1, 0}; // request, flags (version 1), size
    if (send(fd, get_features, sizeof(get_features), MSG_NOSIGNAL) != sizeof(get_features)) {
        _exit(closed);
    }
    pollfd readable{fd, POLLIN, 0};
    if (poll(&readable, 1, 10'000) != 1) {
        _exit(other);
    }
    char reply[64];
    ssize_t n = recv(fd, reply, sizeof(reply), 0);
    _exit(n > 0 ? answered : closed);
}

struct AccessRig : GuestRig {
    AccessRig() : GuestRig(test_data_path("layouts/guest-access.toml")) {
        // As /run/tessera would be: others may pass through the sockets' directory.
        auto dir = std::filesystem::path(socket("b")).parent_path();
        chmod(dir.c_str(), 0711);
    }

    std::optional<int> connect_as(const char* guest_name, const Identity& who) {
        auto path = socket(guest_name);
        pid_t child = fork();
        if (child == 0) {
            connect_in_child(path, who);
        }
        if (child < 0) {
            return std::nullopt;
        }
        int status = 0;
        bool ended =
            compositor.run_until([&] { return waitpid(child, &status, WNOHANG) == child; }, 20s);
        if (!ended) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            return std::nullopt;
        }
        // The device of an answered connection ends with it; wait until b listens again.
        REQUIRE(compositor.run_until(
            [&] { return guest(guest_name).state() == Guest::State::listening; }, 10s));
        return WIFEXITED(status) ? std::optional(WEXITSTATUS(status)) : std::nullopt;
    }
};

mode_t mode_of(const std::string& path) {
    struct stat st{};
    REQUIRE(stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

} // namespace

TEST_CASE("A guest's VMM may be another user only as the layout says", "[guest-access]") {
    if (geteuid() != 0) {
        SKIP("needs root, to connect as other users");
    }
    AccessRig rig;
    // a: tessera's user only; b: a group and a user besides.
    CHECK(mode_of(rig.socket("a")) == 0600);
    CHECK(mode_of(rig.socket("b")) == 0666);
    struct stat st{};
    REQUIRE(stat(rig.socket("b").c_str(), &st) == 0);
    CHECK(st.st_gid == 4242);

    CHECK(rig.connect_as("b", {4343, 4343, {}}) == answered);          // a listed user
    CHECK(rig.connect_as("b", {4444, 4242, {}}) == answered);          // the group, primary
    CHECK(rig.connect_as("b", {4444, 4444, {100, 4242}}) == answered); // ... supplementary
    CHECK(rig.guest("b").refused_connections() == 0);
    CHECK(rig.guest("b").connections() == 3);

    // Reaching the socket is not enough: the peer's credentials decide.
    CHECK(rig.connect_as("b", {4444, 4444, {100}}) == closed);
    CHECK(rig.connect_as("b", {4344, 4343, {}}) == closed); // a listed user's group is not one
    CHECK(rig.guest("b").refused_connections() == 2);
    CHECK(rig.guest("b").connections() == 3);
    CHECK(rig.guest("b").device_failures() == 0);

    // a's socket keeps everyone but its owner and root out by its mode already.
    CHECK(rig.connect_as("a", {4343, 4242, {4242}}) == no_access);
    CHECK(rig.guest("a").connections() == 0);
    // Root may.
    CHECK(rig.connect_as("a", {0, 0, {}}) == answered);

    // tessera-ctl shows it.
    auto result = rig.compositor.run_command({tessera_ctl_path(), "--json", "guests"});
    REQUIRE(result.status == 0);
    auto b = nlohmann::json::parse(result.output)["guests"][1];
    CHECK(b["name"] == "b");
    CHECK(b["socket_mode"] == "0666");
    CHECK(b["refused_connections"] == 2);
}
