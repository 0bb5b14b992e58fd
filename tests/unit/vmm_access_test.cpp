#include "guest/vmm_access.hpp"
#include "gpu-backend/base/unique_fd.hpp"
#include "util/unix_socket.hpp"

#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

using namespace tessera;
using namespace tessera::compositor;

TEST_CASE("The owner and root may always be a guest's VMM; others only as the layout says",
          "[vmm-access]") {
    ivi::GuestSpec closed;
    VmmAccess only_owner(1000, closed);
    CHECK(only_owner.allows({1, 1000, 1000, {}}));
    CHECK(only_owner.allows({1, 0, 0, {}}));
    CHECK_FALSE(only_owner.allows({1, 1001, 1000, {1000}})); // the owner's group is not enough
    CHECK(only_owner.describe() == "uid 1000, root");

    ivi::GuestSpec open;
    open.allow_users = {64055};
    open.socket_group = 994;
    VmmAccess libvirt(1000, open);
    CHECK(libvirt.allows({1, 64055, 64055, {}}));
    CHECK(libvirt.allows({1, 2000, 994, {}}));         // primary group
    CHECK(libvirt.allows({1, 2000, 2000, {10, 994}})); // a supplementary group
    CHECK_FALSE(libvirt.allows({1, 2000, 2000, {10, 995}}));
    CHECK_FALSE(libvirt.allows({1, 64056, 64056, {}}));
    CHECK(libvirt.describe() == "uid 1000, root, uid 64055, group 994");
}

TEST_CASE("A peer's credentials are the kernel's record of it", "[vmm-access]") {
    int pair[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    UniqueFd a(pair[0]), b(pair[1]);
    auto peer = peer_credentials(a.get());
    REQUIRE(peer);
    CHECK(peer->pid == getpid());
    CHECK(peer->uid == getuid());
    CHECK(peer->gid == getgid());
    CHECK(peer->groups.size() == static_cast<size_t>(getgroups(0, nullptr)));

    int not_a_socket[2];
    REQUIRE(pipe2(not_a_socket, O_CLOEXEC) == 0);
    UniqueFd r(not_a_socket[0]), w(not_a_socket[1]);
    CHECK_FALSE(peer_credentials(r.get()));
}

TEST_CASE("A guest socket is made with the layout's mode and group", "[vmm-access]") {
    auto dir =
        std::filesystem::temp_directory_path() / ("tessera-access-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    auto path = (dir / "g.sock").string();
    {
        auto fd = listen_unix_socket(path);
        REQUIRE(fd);
        struct stat st{};
        REQUIRE(stat(path.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0600);
        unlink(path.c_str());
    }
    {
        auto fd = listen_unix_socket(path, {0660, getgid()});
        REQUIRE(fd);
        struct stat st{};
        REQUIRE(stat(path.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0660);
        CHECK(st.st_gid == getgid());
        unlink(path.c_str());
    }
    if (geteuid() != 0) {
        // A group tessera's user is not in: refused, and no socket is left behind.
        auto fd = listen_unix_socket(path, {0660, 0});
        REQUIRE_FALSE(fd);
        CHECK(fd.error().find("group 0") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(path));
    }
    std::filesystem::remove_all(dir);
}
