#include "ivi/zone_model.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace tessera::ivi;

namespace {

RectSpec percent(double x, double y, double w, double h) {
    return {{x, true}, {y, true}, {w, true}, {h, true}};
}

// Two zones side by side; profile "wide" gives all the width to "left" and hides "right".
Layout two_zones() {
    Layout layout;
    layout.outputs.push_back({"main", std::nullopt, 0});
    ZoneSpec left;
    left.name = "left";
    left.output = "main";
    left.rect = percent(0, 0, 50, 100);
    left.z = 1;
    ZoneSpec right = left;
    right.name = "right";
    right.rect = percent(50, 0, 50, 100);
    right.z = 0;
    layout.zones = {left, right};
    Profile wide{"wide", {}};
    wide.zones["left"].rect = percent(0, 0, 100, 100);
    wide.zones["right"].visible = false;
    layout.profiles.push_back(wide);
    Rule rule{"right", {{100, 199}}, std::nullopt, std::nullopt, std::nullopt};
    layout.rules.push_back(rule);
    layout.rules.push_back({"left", std::nullopt, std::string("org.example.*"), {}, {}});
    layout.default_zone = "left";
    return layout;
}

// Outputs cluster and centre; zone speed on the cluster, falling back to the centre.
Layout cluster_and_centre() {
    Layout layout;
    layout.outputs = {{"cluster", std::nullopt, 0}, {"centre", std::nullopt, 1}};
    ZoneSpec speed;
    speed.name = "speed";
    speed.output = "cluster";
    speed.fallback_outputs = {"centre"};
    layout.zones = {speed};
    return layout;
}

} // namespace

TEST_CASE("zones resolve against their output and sort by z", "[zone-model]") {
    ZoneModel model(two_zones());
    // No output yet: zones exist but are empty.
    REQUIRE(model.zones().size() == 2);
    CHECK(model.find("left")->rect.empty());

    model.set_output_size("main", Size{1001, 300});
    CHECK(model.commit());
    CHECK(model.zones()[0].name == "right"); // z 0 below z 1
    CHECK(model.find("left")->rect == Rect{0, 0, 501, 300});
    CHECK(model.find("right")->rect == Rect{501, 0, 500, 300});
}

TEST_CASE("staged changes are invisible until one commit applies them all", "[zone-model]") {
    ZoneModel model(two_zones());
    model.set_output_size("main", Size{800, 600});
    model.commit();
    auto before = model.zones();
    auto serial = model.serial();

    REQUIRE(model.set_profile("wide"));
    REQUIRE(model.set_opacity("left", 0.5));
    CHECK(model.zones() == before); // nothing yet
    CHECK(model.profile().empty());

    CHECK(model.commit());
    CHECK(model.serial() == serial + 1);
    CHECK(model.profile() == "wide");
    CHECK(model.find("left")->rect == Rect{0, 0, 800, 600});
    CHECK(model.find("left")->opacity == 0.5);
    CHECK_FALSE(model.find("right")->visible);
    CHECK_FALSE(model.commit()); // nothing more to apply
}

TEST_CASE("bad changes are refused and leave the staged state alone", "[zone-model]") {
    ZoneModel model(two_zones());
    CHECK_FALSE(model.set_profile("nonexistent"));
    CHECK_FALSE(model.set_visible("nowhere", false));
    CHECK_FALSE(model.set_opacity("left", 1.5));
    CHECK_FALSE(model.set_opacity("left", -0.1));
    CHECK_FALSE(model.set_rect("left", percent(0, 0, 0, 10)));
    CHECK_FALSE(model.commit());
}

TEST_CASE("a profile switch drops run-time changes; discard drops staged ones", "[zone-model]") {
    ZoneModel model(two_zones());
    model.set_output_size("main", Size{800, 600});
    REQUIRE(model.set_visible("left", false));
    model.commit();
    CHECK_FALSE(model.find("left")->visible);

    REQUIRE(model.set_profile(""));
    model.commit();
    CHECK(model.find("left")->visible);

    REQUIRE(model.set_visible("right", false));
    model.discard();
    CHECK_FALSE(model.commit());
    CHECK(model.find("right")->visible);
}

TEST_CASE("an output going away empties its zones", "[zone-model]") {
    ZoneModel model(two_zones());
    model.set_output_size("main", Size{800, 600});
    model.commit();
    model.set_output_size("main", std::nullopt);
    CHECK(model.commit());
    CHECK(model.find("left")->rect.empty());
}

TEST_CASE("a reloaded layout replaces the zones and keeps a known profile", "[zone-model]") {
    ZoneModel model(two_zones());
    model.set_output_size("main", Size{800, 600});
    REQUIRE(model.set_profile("wide"));
    model.commit();

    auto reloaded = two_zones();
    reloaded.zones[1].background = Color{1, 0, 0, 1};
    model.replace_layout(reloaded);
    CHECK(model.commit());
    CHECK(model.profile() == "wide");
    CHECK(model.find("right")->background == Color{1, 0, 0, 1});

    auto without_profile = two_zones();
    without_profile.profiles.clear();
    model.replace_layout(without_profile);
    model.commit();
    CHECK(model.profile().empty());
    CHECK(model.find("right")->visible);
}

TEST_CASE("rules assign content to zones, first match first", "[rules]") {
    auto layout = two_zones();
    CHECK(layout.zone_for({.ivi_id = 150}) == "right");
    CHECK(layout.zone_for({.ivi_id = 200}) == "left"); // default zone
    CHECK(layout.zone_for({.app_id = "org.example.Player"}) == "left");
    CHECK(layout.zone_for({.ivi_id = 100, .app_id = "org.example.x"}) == "right");

    layout.default_zone.reset();
    CHECK_FALSE(layout.zone_for({.app_id = "foot"})); // hidden

    Rule guest_rule{"left", std::nullopt, std::nullopt, std::string("ivi-vm"), 1};
    layout.rules.insert(layout.rules.begin(), guest_rule);
    CHECK(layout.zone_for({.guest = "ivi-vm", .scanout = 1}) == "left");
    CHECK_FALSE(layout.zone_for({.guest = "ivi-vm", .scanout = 0}));
    CHECK_FALSE(layout.zone_for({.guest = "other", .scanout = 1}));
}

TEST_CASE("a rule with no criteria matches nothing", "[rules]") {
    Rule empty{"left", {}, {}, {}, {}};
    CHECK_FALSE(empty.matches({.ivi_id = 1, .app_id = "x"}));
}

TEST_CASE("a profile turns a zone's planes off and back", "[zone-model]") {
    Layout layout = two_zones();
    layout.zones[0].planes = PlanesMode::force;
    layout.profiles.push_back({"composited", {}});
    layout.profiles.back().zones["left"].planes = PlanesMode::off;
    ZoneModel model(layout);
    model.set_output_size("main", Size{640, 480});
    model.commit();
    CHECK(model.find("left")->planes == PlanesMode::force);
    CHECK(model.find("right")->planes == std::nullopt); // the output's

    REQUIRE(model.set_profile("composited"));
    model.commit();
    CHECK(model.find("left")->planes == PlanesMode::off);
    REQUIRE(model.set_profile("wide"));
    model.commit();
    CHECK(model.find("left")->planes == PlanesMode::force);
}

TEST_CASE("a zone with fallback outputs is on the first present one, at its size", "[zone-model]") {
    Layout layout = cluster_and_centre();
    ZoneSpec speed = layout.zones[0];
    speed.rect = percent(0, 0, 50, 100);
    layout.zones = {speed};
    ZoneModel model(layout);
    model.set_output_size("cluster", Size{800, 400});
    model.set_output_size("centre", Size{1920, 1080});
    REQUIRE(model.commit());
    CHECK(model.find("speed")->output == "cluster");
    CHECK(model.find("speed")->rect == Rect{0, 0, 400, 400});

    // The cluster display goes: the zone moves in the same commit, resolved on the centre.
    model.set_output_size("cluster", std::nullopt);
    REQUIRE(model.commit());
    CHECK(model.find("speed")->output == "centre");
    CHECK(model.find("speed")->rect == Rect{0, 0, 960, 1080});

    // Both gone: on its own output again, empty; back when the cluster returns.
    model.set_output_size("centre", std::nullopt);
    REQUIRE(model.commit());
    CHECK(model.find("speed")->output == "cluster");
    CHECK(model.find("speed")->rect.empty());
    model.set_output_size("cluster", Size{800, 400});
    REQUIRE(model.commit());
    CHECK(model.find("speed")->output == "cluster");
    CHECK(model.find("speed")->rect == Rect{0, 0, 400, 400});
}

TEST_CASE("a profile naming the present outputs is chosen when that set changes", "[zone-model]") {
    Layout layout = cluster_and_centre();
    ZoneSpec speed = layout.zones[0];
    speed.rect = percent(0, 0, 100, 100);
    layout.zones = {speed};
    Profile docked{"docked", {}, {"centre", "cluster"}};
    Profile alone{"alone", {}, {"centre"}};
    alone.zones["speed"].rect = percent(0, 0, 50, 50);
    Profile night{"night", {}, {}};
    night.zones["speed"].opacity = 0.5;
    layout.profiles = {docked, alone, night};
    ZoneModel model(layout);
    CHECK(model.profile().empty());

    model.set_output_size("cluster", Size{800, 400});
    model.set_output_size("centre", Size{1000, 600});
    REQUIRE(model.follow_outputs());
    model.commit();
    CHECK(model.profile() == "docked");
    CHECK(model.find("speed")->rect == Rect{0, 0, 800, 400});

    // The cluster goes: the zone moves to the centre, and the centre-only profile shapes it.
    model.set_output_size("cluster", std::nullopt);
    REQUIRE(model.follow_outputs()->name == "alone");
    model.commit();
    CHECK(model.find("speed")->output == "centre");
    CHECK(model.find("speed")->rect == Rect{0, 0, 500, 300});

    // A profile chosen by name stays while the set of outputs does not change (a resize).
    REQUIRE(model.set_profile("night"));
    model.commit();
    model.set_output_size("centre", Size{1200, 600});
    CHECK_FALSE(model.follow_outputs());
    model.commit();
    CHECK(model.profile() == "night");

    // No profile for the cluster alone: the profile stays as it was.
    model.set_output_size("centre", std::nullopt);
    model.set_output_size("cluster", Size{800, 400});
    CHECK_FALSE(model.follow_outputs());
    model.commit();
    CHECK(model.profile() == "night");

    // Both back: docked again.
    model.set_output_size("centre", Size{1000, 600});
    REQUIRE(model.follow_outputs()->name == "docked");
    model.commit();
    CHECK(model.profile() == "docked");
}
