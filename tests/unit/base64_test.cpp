#include "util/base64.hpp"

#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

using namespace tessera;

namespace {
std::vector<uint8_t> bytes(std::string_view text) {
    return {text.begin(), text.end()};
}
} // namespace

TEST_CASE("base64 encodes the RFC 4648 test vectors", "[base64]") {
    CHECK(base64_encode(bytes("")) == "");
    CHECK(base64_encode(bytes("f")) == "Zg==");
    CHECK(base64_encode(bytes("fo")) == "Zm8=");
    CHECK(base64_encode(bytes("foo")) == "Zm9v");
    CHECK(base64_encode(bytes("foob")) == "Zm9vYg==");
    CHECK(base64_encode(bytes("fooba")) == "Zm9vYmE=");
    CHECK(base64_encode(bytes("foobar")) == "Zm9vYmFy");
}

TEST_CASE("base64 round-trips every byte value", "[base64]") {
    std::vector<uint8_t> all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<uint8_t>(i));
    }
    for (size_t length : {0u, 1u, 2u, 3u, 255u, 256u}) {
        std::vector<uint8_t> data(all.begin(), all.begin() + static_cast<long>(length));
        CHECK(base64_decode(base64_encode(data)) == data);
    }
}

TEST_CASE("base64 refuses malformed text", "[base64]") {
    for (auto bad : {"Zg=", "Zg", "Z===", "Zm9v!", "Zm=v", "=m9v", "Zm 9v"}) {
        INFO(bad);
        CHECK_FALSE(base64_decode(bad));
    }
}
