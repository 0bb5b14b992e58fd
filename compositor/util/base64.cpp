#include "base64.hpp"

#include <array>

namespace tessera {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> decode_table() {
    std::array<int8_t, 256> table{};
    table.fill(-1);
    for (int i = 0; i < 64; ++i) {
        table[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
    }
    return table;
}

} // namespace

std::string base64_encode(std::span<const uint8_t> data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    for (size_t i = 0; i < data.size(); i += 3) {
        size_t left = data.size() - i;
        uint32_t chunk = uint32_t(data[i]) << 16;
        if (left > 1) {
            chunk |= uint32_t(data[i + 1]) << 8;
        }
        if (left > 2) {
            chunk |= data[i + 2];
        }
        out += alphabet[(chunk >> 18) & 63];
        out += alphabet[(chunk >> 12) & 63];
        out += left > 1 ? alphabet[(chunk >> 6) & 63] : '=';
        out += left > 2 ? alphabet[chunk & 63] : '=';
    }
    return out;
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text) {
    static constexpr auto table = decode_table();
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::vector<uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
        if (pad == 1 && text[i + 2] == '=') {
            return std::nullopt; // "x=x=" style
        }
        uint32_t chunk = 0;
        for (int j = 0; j < 4 - pad; ++j) {
            int8_t value = table[static_cast<uint8_t>(text[i + j])];
            if (value < 0) {
                return std::nullopt;
            }
            chunk |= uint32_t(value) << (18 - 6 * j);
        }
        out.push_back(static_cast<uint8_t>(chunk >> 16));
        if (pad < 2) {
            out.push_back(static_cast<uint8_t>(chunk >> 8));
        }
        if (pad < 1) {
            out.push_back(static_cast<uint8_t>(chunk));
        }
    }
    return out;
}

} // namespace tessera
