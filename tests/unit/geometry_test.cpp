#include "ivi/geometry.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace tessera::ivi;

TEST_CASE("lengths are pixels or percentages", "[geometry]") {
    CHECK(parse_length("120") == Length{120, false});
    CHECK(parse_length("33.333%") == Length{33.333, true});
    CHECK(parse_length("0") == Length{0, false});
    for (auto bad : {"", "%", "-5", "12px", "1e400", "nan", "12 %", "abc"}) {
        INFO(bad);
        CHECK_FALSE(parse_length(bad));
    }
    CHECK(format_length({50, true}) == "50%");
}

TEST_CASE("percentages that do not divide evenly tile without gaps or overlap", "[geometry]") {
    // Three zones of a third each on an output whose width is not a multiple of 3.
    for (int width : {1000, 1001, 1919, 3840, 7}) {
        Size output{width, 480};
        Length third{100.0 / 3, true};
        Rect a = RectSpec{{0, true}, {0, true}, third, {100, true}}.resolve(output);
        Rect b = RectSpec{third, {0, true}, third, {100, true}}.resolve(output);
        Rect c = RectSpec{{200.0 / 3, true}, {0, true}, third, {100, true}}.resolve(output);
        INFO(width);
        CHECK(a.x == 0);
        CHECK(a.x + a.width == b.x);
        CHECK(b.x + b.width == c.x);
        CHECK(c.x + c.width == width);
        CHECK(a.intersect(b).empty());
    }
}

TEST_CASE("pixel rectangles resolve as written", "[geometry]") {
    Rect r = RectSpec{{10, false}, {20, false}, {300, false}, {40, false}}.resolve({640, 480});
    CHECK(r == Rect{10, 20, 300, 40});
    // Mixed: pixels from a percentage origin.
    Rect m = RectSpec{{50, true}, {0, false}, {100, false}, {10, true}}.resolve({640, 480});
    CHECK(m == Rect{320, 0, 100, 48});
}

TEST_CASE("zero-size and overlapping rectangles", "[geometry]") {
    Rect zero = RectSpec{{10, false}, {10, false}, {0, false}, {5, false}}.resolve({100, 100});
    CHECK(zero.empty());
    CHECK_FALSE(zero.contains(10, 10));
    Rect a{0, 0, 100, 100}, b{50, 50, 100, 100};
    CHECK(a.intersect(b) == Rect{50, 50, 50, 50});
    CHECK(a.intersect(Rect{100, 0, 10, 10}).empty());
    CHECK(a.contains(99.5, 0));
    CHECK_FALSE(a.contains(100, 0));
}

TEST_CASE("output transforms turn the layout size", "[geometry]") {
    Size mode{1920, 720};
    CHECK(logical_size(mode, Transform::normal) == Size{1920, 720});
    CHECK(logical_size(mode, Transform::rotate_90) == Size{720, 1920});
    CHECK(logical_size(mode, Transform::rotate_180) == Size{1920, 720});
    CHECK(logical_size(mode, Transform::rotate_270) == Size{720, 1920});
    CHECK(logical_size(mode, Transform::flipped_90) == Size{720, 1920});
    CHECK(logical_size({1921, 1081}, Transform::normal, 2.0) == Size{961, 541});
    CHECK(parse_transform("270") == Transform::rotate_270);
    CHECK(parse_transform("flipped-90") == Transform::flipped_90);
    CHECK_FALSE(parse_transform("45"));

    // A zone of half the width on a rotated output is half of the rotated width.
    Rect half = RectSpec{{0, false}, {0, false}, {50, true}, {100, true}}.resolve(
        logical_size(mode, Transform::rotate_90));
    CHECK(half == Rect{0, 0, 360, 1920});
}

TEST_CASE("colours parse with and without alpha", "[geometry]") {
    auto c = parse_color("#ff8000");
    REQUIRE(c);
    CHECK(c->r == 1.0f);
    CHECK(c->b == 0.0f);
    CHECK(c->a == 1.0f);
    CHECK(parse_color("#00000080")->a == 128 / 255.0f);
    CHECK(format_color(*parse_color("#12abEF")) == "#12abef");
    CHECK(format_color(*parse_color("#12345678")) == "#12345678");
    for (auto bad : {"", "#", "ff8000", "#ff80", "#ff800", "#gg0000", "#ff8000f", "#ff8000ff00"}) {
        INFO(bad);
        CHECK_FALSE(parse_color(bad));
    }
}
