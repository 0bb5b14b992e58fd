#include "util/pixel_check.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace tessera;

namespace {

constexpr Rgba red{255, 0, 0, 255};
constexpr Rgba blue{0, 0, 255, 255};

} // namespace

TEST_CASE("identical opaque pixels match, every pixel counted", "[pixel-check]") {
    Image shown(4, 3, red);
    auto check = check_pixels(shown, Image(4, 3, red));
    CHECK(check.matches());
    CHECK(check.checked == 12);
    CHECK_FALSE(check.first);
}

TEST_CASE("a differing pixel is found and the first in reading order named", "[pixel-check]") {
    Image shown(4, 3, red);
    shown.set(3, 1, blue);
    shown.set(1, 2, blue);
    auto check = check_pixels(shown, Image(4, 3, red));
    CHECK_FALSE(check.matches());
    CHECK(check.mismatched == 2);
    REQUIRE(check.first);
    CHECK(*check.first == std::pair{3, 1});
    // One step in one channel is a difference: the check is exact.
    Image close(4, 3, red);
    close.set(0, 0, {254, 0, 0, 255});
    CHECK(check_pixels(close, Image(4, 3, red)).mismatched == 1);
}

TEST_CASE("translucent expected pixels and skipped areas are left out", "[pixel-check]") {
    Image shown(4, 4, blue);
    Image expected(4, 4, red);
    expected.set(0, 0, {255, 0, 0, 128}); // blended with what lies below: not comparable
    auto check = check_pixels(shown, expected, {{0, 1, 4, 3}});
    CHECK(check.checked == 3); // (1,0), (2,0), (3,0)
    CHECK(check.mismatched == 3);
    CHECK(*check.first == std::pair{1, 0});
    CHECK(check_pixels(shown, expected, {{0, 0, 4, 4}}).checked == 0);
}

TEST_CASE("images of different sizes mismatch entirely", "[pixel-check]") {
    auto check = check_pixels(Image(4, 4, red), Image(4, 3, red));
    CHECK_FALSE(check.matches());
    CHECK(check.mismatched == 12);
}

TEST_CASE("a fill matches within its tolerance and not beyond", "[pixel-check]") {
    Image shown(3, 2, {64, 0, 0, 255});
    CHECK(check_fill(shown, {64, 0, 0, 255}, 0).matches());
    CHECK(check_fill(shown, {65, 1, 0, 255}, 1).matches());
    auto off = check_fill(shown, {66, 0, 0, 255}, 1);
    CHECK(off.mismatched == 6);
    CHECK(off.checked == 6);
}
