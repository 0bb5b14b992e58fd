#include "gpu-backend/base/unique_fd.hpp"

#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>
#include <unistd.h>

using tessera::UniqueFd;

namespace {
bool is_open(int fd) {
    return fcntl(fd, F_GETFD) != -1;
}
} // namespace

TEST_CASE("UniqueFd closes what it owns", "[unique_fd]") {
    int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(raw >= 0);
    {
        UniqueFd fd(raw);
        CHECK(fd.valid());
        CHECK(fd.get() == raw);
    }
    CHECK_FALSE(is_open(raw));
}

TEST_CASE("UniqueFd moves ownership and releases on request", "[unique_fd]") {
    int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    CHECK_FALSE(a.valid());
    CHECK(b.get() == raw);

    UniqueFd c;
    c = std::move(b);
    CHECK(c.get() == raw);
    CHECK(is_open(raw));

    int released = c.release();
    CHECK_FALSE(c);
    CHECK(is_open(released));
    close(released);
}

TEST_CASE("UniqueFd reset closes the old descriptor", "[unique_fd]") {
    int first = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int second = open("/dev/null", O_RDONLY | O_CLOEXEC);
    UniqueFd fd(first);
    fd.reset(second);
    CHECK_FALSE(is_open(first));
    CHECK(fd.get() == second);
    fd.reset();
    CHECK_FALSE(is_open(second));
    CHECK(fd.get() == -1);
}
