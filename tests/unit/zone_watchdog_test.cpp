#include "zone_watchdog.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace tessera::compositor;
using namespace std::chrono_literals;
using Clock = ZoneWatchdog::Clock;

namespace {
const Clock::time_point t0 = Clock::time_point(100s);
}

TEST_CASE("a zone whose content sends no frame for its period stalls, and recovers at the next",
          "[watchdog]") {
    ZoneWatchdog dog;
    dog.update("cluster", 100ms, true, t0);
    REQUIRE(dog.next_check() == t0 + 100ms);
    CHECK(dog.frame("cluster", t0 + 60ms) == std::nullopt); // in time
    CHECK(dog.next_check() == t0 + 160ms);
    CHECK(dog.check(t0 + 159ms).empty());
    auto stalled = dog.check(t0 + 160ms);
    REQUIRE(stalled.size() == 1);
    CHECK(stalled[0].zone == "cluster");
    CHECK(stalled[0].stalled);
    CHECK(stalled[0].silence == 100ms);
    CHECK(dog.stalled("cluster"));
    CHECK(dog.stalls("cluster") == 1);
    CHECK(dog.next_check() == std::nullopt); // stalled: nothing to wait for but a frame
    CHECK(dog.check(t0 + 10s).empty());      // told once

    auto recovered = dog.frame("cluster", t0 + 400ms);
    REQUIRE(recovered);
    CHECK_FALSE(recovered->stalled);
    CHECK(recovered->silence == 340ms);
    CHECK_FALSE(dog.stalled("cluster"));
    CHECK(dog.next_check() == t0 + 500ms);
}

TEST_CASE("only zones with a period that show content are watched", "[watchdog]") {
    ZoneWatchdog dog;
    dog.update("static", 0ms, true, t0);   // watchdog off: a still UI is fine
    dog.update("empty", 100ms, false, t0); // nothing shown: the fallback is up anyway
    CHECK(dog.next_check() == std::nullopt);
    CHECK(dog.check(t0 + 1h).empty());
    CHECK(dog.frame("unknown", t0) == std::nullopt);

    // Content arrives at t0 + 1 s: its clock starts then, not at t0.
    dog.update("empty", 100ms, true, t0 + 1s);
    CHECK(dog.check(t0 + 1s + 99ms).empty());
    CHECK(dog.check(t0 + 1s + 100ms).size() == 1);
}

TEST_CASE("a stalled zone that stops showing content is no longer stalled", "[watchdog]") {
    ZoneWatchdog dog;
    dog.update("a", 50ms, true, t0);
    REQUIRE(dog.check(t0 + 50ms).size() == 1);
    dog.update("a", 50ms, false, t0 + 60ms); // hidden (profile switch), or its content went
    CHECK_FALSE(dog.stalled("a"));
    // Shown again: a fresh period from then.
    dog.update("a", 50ms, true, t0 + 1s);
    CHECK(dog.next_check() == t0 + 1s + 50ms);
    // A new period (layout reload) restarts the clock too.
    dog.update("a", 200ms, true, t0 + 1s + 40ms);
    CHECK(dog.next_check() == t0 + 1s + 240ms);
    dog.forget("a");
    CHECK(dog.next_check() == std::nullopt);
    CHECK(dog.stalls("a") == 0);
}

TEST_CASE("each zone has its own clock", "[watchdog]") {
    ZoneWatchdog dog;
    dog.update("fast", 20ms, true, t0);
    dog.update("slow", 500ms, true, t0);
    CHECK(dog.next_check() == t0 + 20ms);
    auto stalled = dog.check(t0 + 30ms);
    REQUIRE(stalled.size() == 1);
    CHECK(stalled[0].zone == "fast");
    CHECK(dog.next_check() == t0 + 500ms);
    CHECK_FALSE(dog.stalled("slow"));
}
