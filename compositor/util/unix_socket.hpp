#pragma once

#include "gpu-backend/base/unique_fd.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

namespace tessera {

// Who the socket file lets connect: its mode (read and write bits), and its group.
struct SocketAccess {
    uint32_t mode = 0600;
    std::optional<uint32_t> group;
};

// A non-blocking listening unix stream socket at `path`, accessible to its owner only unless
// `access` opens it further. A stale socket left by a crashed process is replaced; a socket
// someone still listens on, or a file that is not a socket, is an error that says so.
std::expected<UniqueFd, std::string> listen_unix_socket(const std::string& path,
                                                        const SocketAccess& access = {});

// A socket path from a configuration: absolute, or relative to $XDG_RUNTIME_DIR (/tmp when
// unset).
std::string runtime_socket_path(const std::string& path);

} // namespace tessera
