#include "gpu-backend/base/fd_kind.hpp"

#include "gpu-backend/base/unique_fd.hpp"

#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <format>

namespace tessera::fd_kind {

namespace {

std::string describe_mode(mode_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG:
        return "a regular file";
    case S_IFDIR:
        return "a directory";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    case S_IFIFO:
        return "a pipe";
    case S_IFSOCK:
        return "a socket";
    case S_IFLNK:
        return "a symbolic link";
    default:
        return "an anonymous-inode fd";
    }
}

std::optional<std::string> stat_fd(int fd, struct stat& st) {
    if (fstat(fd, &st) != 0) {
        return std::format("not an open fd ({})", std::strerror(errno));
    }
    return std::nullopt;
}

// The inode every anonymous-inode fd (eventfd, timerfd, epoll, signalfd...) shares; made once.
const struct stat* anon_inode() {
    static const struct stat reference = [] {
        struct stat st{};
        UniqueFd probe(eventfd(0, EFD_CLOEXEC));
        if (!probe || fstat(probe.get(), &st) != 0) {
            st = {};
        }
        return st;
    }();
    return reference.st_ino ? &reference : nullptr;
}

} // namespace

std::optional<std::string> check_eventfd(int fd) {
    struct stat st{};
    if (auto error = stat_fd(fd, st)) {
        return error;
    }
    const struct stat* anon = anon_inode();
    if (!anon) {
        return "no eventfd to compare with";
    }
    if (st.st_dev != anon->st_dev || st.st_ino != anon->st_ino) {
        return std::format("{}, not an eventfd", describe_mode(st.st_mode));
    }
    return std::nullopt;
}

std::optional<std::string> check_socket(int fd) {
    struct stat st{};
    if (auto error = stat_fd(fd, st)) {
        return error;
    }
    if (!S_ISSOCK(st.st_mode)) {
        return std::format("{}, not a socket", describe_mode(st.st_mode));
    }
    return std::nullopt;
}

std::optional<std::string> check_mappable(int fd, unsigned long long size) {
    struct stat st{};
    if (auto error = stat_fd(fd, st)) {
        return error;
    }
    if (!S_ISREG(st.st_mode)) {
        return std::format("{}, not a file that can be mapped", describe_mode(st.st_mode));
    }
    if (static_cast<unsigned long long>(st.st_size) < size) {
        return std::format("a file of {:#x} bytes, not at least {:#x}",
                           static_cast<unsigned long long>(st.st_size), size);
    }
    return std::nullopt;
}

} // namespace tessera::fd_kind
