#include "unix_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
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

std::expected<UniqueFd, std::string> listen_unix_socket(const std::string& path) {
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
    mode_t old_mask = umask(0177);
    int bound = bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(*address));
    int error = errno;
    umask(old_mask);
    if (bound != 0) {
        return std::unexpected(std::format("cannot bind '{}': {}", path, std::strerror(error)));
    }
    if (listen(fd.get(), 4) != 0) {
        return std::unexpected(
            std::format("cannot listen on '{}': {}", path, std::strerror(errno)));
    }
    return fd;
}

} // namespace tessera
