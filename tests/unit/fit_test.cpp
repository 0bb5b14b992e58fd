#include "ivi/fit.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

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
