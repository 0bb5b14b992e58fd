#pragma once

#include "util/image.hpp"
#include "wlr.hpp"

#include <expected>
#include <optional>
#include <string>

namespace tessera::compositor {

// The pixels of a buffer, or of a rectangle of it (buffer coordinates, inside the buffer): mapped
// when it can be (host memory, shm, udmabuf), else read from the texture a wlr_client_buffer kept
// or from one imported for the purpose (a GPU buffer).
std::expected<Image, std::string> read_buffer(wlr_renderer* renderer, wlr_buffer* buffer,
                                              std::optional<wlr_box> region = std::nullopt);

} // namespace tessera::compositor
