#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

// Standard base64 with padding (RFC 4648), for binary data inside JSON.
std::string base64_encode(std::span<const uint8_t> data);
// nullopt when the text is not valid padded base64.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

} // namespace tessera
