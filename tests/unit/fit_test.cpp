#include "ivi/fit.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <cmath>
#include <format>

using namespace tessera::ivi;

namespace {

// Every placement stays inside its zone, whatever the sizes.
void check_inside(const ContentPlacement& p, Size zone) {
    CHECK(p.dest.x >= 0);
    CHECK(p.dest.y >= 0);
    CHECK(p.dest.x + p.dest.width <= zone.width);
    CHECK(p.dest.y + p.dest.height <= zone.height);
}

} // namespace

TEST_CASE("fit modes parse by name", "[fit]") {
    CHECK(parse_fit_mode("integer") == FitMode::integer);
    CHECK(parse_fit_mode("fill") == FitMode::fill);
    CHECK_FALSE(parse_fit_mode("Fit"));
    CHECK_FALSE(parse_fit_mode("squash"));
    CHECK(fit_mode_name(FitMode::center) == "center");
}

TEST_CASE("stretch covers the zone and ignores the aspect ratio", "[fit]") {
    auto p = place_content({100, 50}, {300, 300}, FitMode::stretch);
    CHECK(p.dest == Rect{0, 0, 300, 300});
    CHECK(p.source == FRect{0, 0, 100, 50});
}

TEST_CASE("fit letterboxes and keeps the aspect ratio", "[fit]") {
    // 4:3 in 16:9: pillarboxed.
    auto p = place_content({640, 480}, {1920, 1080}, FitMode::fit);
    CHECK(p.dest == Rect{240, 0, 1440, 1080});
    CHECK(p.source == FRect{0, 0, 640, 480});
    // 16:9 in 4:3: letterboxed, odd remainder goes to the bottom.
    auto q = place_content({1920, 1080}, {401, 301}, FitMode::fit);
    CHECK(q.dest.width == 401);
    CHECK(q.dest.height == 226);
    CHECK(q.dest.y == 37);
}

TEST_CASE("fill covers the zone and crops the excess symmetrically", "[fit]") {
    auto p = place_content({1920, 1080}, {1080, 1080}, FitMode::fill);
    CHECK(p.dest == Rect{0, 0, 1080, 1080});
    CHECK(p.source == FRect{420, 0, 1080, 1080});
    auto q = place_content({100, 100}, {300, 150}, FitMode::fill);
    CHECK(q.source == FRect{0, 25, 100, 50});
}

TEST_CASE("center neither scales nor leaves the zone", "[fit]") {
    auto small = place_content({101, 51}, {400, 300}, FitMode::center);
    CHECK(small.dest == Rect{149, 124, 101, 51});
    CHECK(small.source == FRect{0, 0, 101, 51});
    // Larger on one axis: cropped there, centred on the other.
    auto wide = place_content({500, 100}, {400, 300}, FitMode::center);
    CHECK(wide.dest == Rect{0, 100, 400, 100});
    CHECK(wide.source == FRect{50, 0, 400, 100});
}

TEST_CASE("integer scales by whole numbers, or fits when even 1x is too big", "[fit]") {
    auto p = place_content({320, 200}, {1000, 700}, FitMode::integer);
    CHECK(p.dest == Rect{20, 50, 960, 600});
    auto exact = place_content({100, 100}, {300, 200}, FitMode::integer);
    CHECK(exact.dest == Rect{50, 0, 200, 200});
    auto big = place_content({800, 600}, {400, 400}, FitMode::integer);
    CHECK(big.dest == place_content({800, 600}, {400, 400}, FitMode::fit).dest);
}

TEST_CASE("empty content or zones place nothing", "[fit]") {
    for (auto mode :
         {FitMode::stretch, FitMode::fit, FitMode::fill, FitMode::center, FitMode::integer}) {
        CHECK(place_content({0, 10}, {100, 100}, mode).dest.empty());
        CHECK(place_content({10, 10}, {100, 0}, mode).dest.empty());
    }
}

TEST_CASE("placements stay inside the zone for odd sizes", "[fit]") {
    auto mode =
        GENERATE(FitMode::stretch, FitMode::fit, FitMode::fill, FitMode::center, FitMode::integer);
    auto content = GENERATE(Size{1, 1}, Size{7, 3}, Size{333, 777}, Size{1921, 1081});
    auto zone = GENERATE(Size{1, 1}, Size{3, 7}, Size{641, 479}, Size{1920, 1080});
    INFO(std::format("{} {}x{} in {}x{}", fit_mode_name(mode), content.width, content.height,
                     zone.width, zone.height));
    auto p = place_content(content, zone, mode);
    check_inside(p, zone);
    CHECK_FALSE(p.dest.empty());
    CHECK(p.source.width > 0);
    CHECK(p.source.x + p.source.width <= content.width + 1e-9);
    CHECK(p.source.y + p.source.height <= content.height + 1e-9);
}

TEST_CASE("a point in a zone maps back to the content pixel shown there", "[fit]") {
    // 4:3 pillarboxed in 16:9 at 2.25x: the bars show nothing.
    auto fit = place_content({640, 480}, {1920, 1080}, FitMode::fit);
    CHECK(content_point(fit, 240, 0) == ContentPoint{0, 0});
    CHECK(content_point(fit, 240 + 1440 / 2.0, 540) == ContentPoint{320, 240});
    CHECK(content_point(fit, 1679.99, 1079.99)->x < 640);
    CHECK_FALSE(content_point(fit, 239.5, 540)); // left bar
    CHECK_FALSE(content_point(fit, 1680, 540));  // right bar
    CHECK_FALSE(content_point(fit, -1, -1));
    // fill crops: the zone's corner is inside the content, not its corner.
    auto fill = place_content({1920, 1080}, {1080, 1080}, FitMode::fill);
    CHECK(content_point(fill, 0, 0) == ContentPoint{420, 0});
    CHECK(content_point(fill, 540, 540) == ContentPoint{960, 540});
    // stretch scales each axis by itself; center is a plain offset.
    auto stretch = place_content({800, 600}, {400, 600}, FitMode::stretch);
    CHECK(content_point(stretch, 100, 100) == ContentPoint{200, 100});
    auto center = place_content({100, 100}, {300, 200}, FitMode::center);
    CHECK(content_point(center, 100, 50) == ContentPoint{0, 0});
    CHECK_FALSE(content_point(center, 99, 50));
    // Nothing placed, nothing under any point.
    CHECK_FALSE(content_point(place_content({0, 0}, {100, 100}, FitMode::fit), 10, 10));
}

TEST_CASE("mapping back inverts placing for every mode", "[fit]") {
    auto mode =
        GENERATE(FitMode::stretch, FitMode::fit, FitMode::fill, FitMode::center, FitMode::integer);
    auto content = GENERATE(Size{640, 480}, Size{333, 777}, Size{1920, 1080});
    Size zone{1001, 563};
    auto p = place_content(content, zone, mode);
    REQUIRE_FALSE(p.dest.empty());
    // The centre of the shown part is the centre of the source crop.
    auto mid = content_point(p, p.dest.x + p.dest.width / 2.0, p.dest.y + p.dest.height / 2.0);
    REQUIRE(mid);
    CHECK(std::abs(mid->x - (p.source.x + p.source.width / 2)) < 1e-6);
    CHECK(std::abs(mid->y - (p.source.y + p.source.height / 2)) < 1e-6);
    // Every point shown maps into the content.
    for (double f : {0.0, 0.25, 0.999}) {
        auto c = content_point(p, p.dest.x + f * p.dest.width, p.dest.y + f * p.dest.height);
        REQUIRE(c);
        CHECK(c->x >= 0);
        CHECK(c->x < content.width);
        CHECK(c->y >= 0);
        CHECK(c->y < content.height);
    }
}
