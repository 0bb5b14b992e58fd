#pragma once

#include "gpu-backend/base/unique_fd.hpp"

#include <expected>
#include <string>

namespace tessera {

// A non-blocking listening unix stream socket at `path`, accessible to its owner only. A stale
// socket left by a crashed process is replaced; a socket someone still listens on, or a file
// that is not a socket, is an error that says so.
std::expected<UniqueFd, std::string> listen_unix_socket(const std::string& path);

} // namespace tessera
