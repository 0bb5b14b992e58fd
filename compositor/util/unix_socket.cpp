#include "unix_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <format>

namespace tessera {

namespace {

std::expected<sockaddr_un, std::string> address_of(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(address.sun_path)) {
        return std::unexpected(std::format("socket path '{}' must be 1 to {} bytes", path,
                                           sizeof(address.sun_path) - 1));
    }
    path.copy(address.sun_path, sizeof(address.sun_path) - 1);
    return address;
}

bool someone_listens(const sockaddr_un& address) {
    UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return probe &&
           connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
}

} // namespace

std::string runtime_socket_path(const std::string& path) {
    if (path.starts_with('/')) {
        return path;
    }
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    return std::format("{}/{}", runtime_dir ? runtime_dir : "/tmp", path);
}

std::expected<UniqueFd, std::string> listen_unix_socket(const std::string& path,
                                                        const SocketAccess& access) {
    auto address = address_of(path);
    if (!address) {
        return std::unexpected(address.error());
    }
    struct stat st{};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return std::unexpected(std::format("'{}' exists and is not a socket", path));
        }
        if (someone_listens(*address)) {
            return std::unexpected(std::format("'{}' is in use by another process", path));
        }
        unlink(path.c_str());
    }
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        return std::unexpected(std::format("socket: {}", std::strerror(errno)));
    }
    // The file is made with its mode (no chmod after it: the path could be swapped for a link
    // in between), and given its group without following links.
    mode_t old_mask = umask(~static_cast<mode_t>(access.mode & 0666) & 0777);
    int bound = bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address));
    int error = errno;
    umask(old_mask);
    if (bound != 0) {
        return std::unexpected(std::format("cannot bind '{}': {}", path, std::strerror(error)));
    }
    if (access.group && fchownat(AT_FDCWD, path.c_str(), static_cast<uid_t>(-1), *access.group,
                                 AT_SYMLINK_NOFOLLOW) != 0) {
        error = errno;
        unlink(path.c_str());
        return std::unexpected(std::format(
            "cannot give '{}' to group {}: {}{}", path, *access.group, std::strerror(error),
            error == EPERM ? " (tessera's user must be in it)" : ""));
    }
    if (listen(fd.get(), 4) != 0) {
        return std::unexpected(
            std::format("cannot listen on '{}': {}", path, std::strerror(errno)));
    }
    return fd;
}

} // namespace tessera
