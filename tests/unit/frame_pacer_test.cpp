#include "guest/frame_pacer.hpp"

#include <catch2/catch_test_macros.hpp>

#include <vector>

using namespace tessera::compositor;
using namespace std::chrono_literals;
using Clock = FramePacer::Clock;

namespace {

struct Pacer {
    std::vector<FramePacer::Token> signalled;
    FramePacer pacer{[this](FramePacer::Token t) { signalled.push_back(t); }};
};

const Clock::time_point t0 = Clock::time_point(100s);
constexpr auto period = 16ms;

} // namespace

TEST_CASE("a fenced frame is signalled at the present of the commit that held it", "[pacer]") {
    Pacer p;
    p.pacer.frame(t0);
    p.pacer.add_fence(1);
    p.pacer.presented(6, t0 + 1ms); // an earlier commit: not this frame
    CHECK(p.signalled.empty());
    p.pacer.committed(7);
    CHECK(p.signalled.empty()); // committed is not presented
    p.pacer.presented(7, t0 + 10ms);
    CHECK(p.signalled == std::vector<FramePacer::Token>{1});
    CHECK(p.pacer.presented_frames() == 1);
    CHECK(p.pacer.latency(0.5) == 10ms);
    CHECK_FALSE(p.pacer.waiting());
}

TEST_CASE("a frame replaced before any commit is counted and hands on its fences", "[pacer]") {
    Pacer p;
    p.pacer.frame(t0);
    p.pacer.add_fence(1);
    p.pacer.frame(t0 + 2ms);
    p.pacer.add_fence(2);
    CHECK(p.pacer.replaced_frames() == 1);
    p.pacer.committed(1);
    p.pacer.frame(t0 + 3ms); // after the commit: a new frame, not a replacement
    CHECK(p.pacer.replaced_frames() == 1);
    p.pacer.presented(1, t0 + 8ms);
    CHECK(p.signalled == std::vector<FramePacer::Token>{1, 2});
    CHECK(p.pacer.latency(1.0) == 6ms); // from the replacing frame's flush
    CHECK(p.pacer.waiting());
}

TEST_CASE("a fence with nothing left to show goes with the last commit or at once", "[pacer]") {
    Pacer p;
    p.pacer.add_fence(1);
    CHECK(p.signalled == std::vector<FramePacer::Token>{1});
    p.pacer.frame(t0);
    p.pacer.committed(3);
    p.pacer.add_fence(2);
    CHECK(p.signalled.size() == 1);
    p.pacer.presented(3, t0 + 5ms);
    CHECK(p.signalled == std::vector<FramePacer::Token>{1, 2});
}

TEST_CASE("commit sequence numbers may wrap", "[pacer]") {
    Pacer p;
    p.pacer.frame(t0);
    p.pacer.add_fence(1);
    p.pacer.committed(0xffffffff);
    p.pacer.frame(t0 + 1ms);
    p.pacer.add_fence(2);
    p.pacer.committed(0);
    p.pacer.presented(0xffffffff, t0 + 4ms);
    CHECK(p.signalled == std::vector<FramePacer::Token>{1});
    p.pacer.presented(0, t0 + 20ms);
    CHECK(p.signalled == std::vector<FramePacer::Token>{1, 2});
}

TEST_CASE("a hidden scanout is paced by a virtual vblank that keeps its phase", "[pacer]") {
    Pacer p;
    CHECK_FALSE(p.pacer.next_tick(t0, false, period));
    p.pacer.frame(t0);
    p.pacer.add_fence(1);
    CHECK(p.pacer.next_tick(t0, false, period) == t0 + period);
    p.pacer.tick(t0 + period, false, period);
    CHECK(p.signalled == std::vector<FramePacer::Token>{1});
    CHECK(p.pacer.presented_frames() == 0); // nothing was shown
    // The guest answers a little later: the next vblank stays on the grid.
    p.pacer.frame(t0 + period + 3ms);
    p.pacer.add_fence(2);
    CHECK(p.pacer.next_tick(t0 + period + 3ms, false, period) == t0 + 2 * period);
}

TEST_CASE("on screen, a frame the output never shows is given up after the watchdog", "[pacer]") {
    Pacer p;
    p.pacer.frame(t0);
    p.pacer.add_fence(1);
    auto when = p.pacer.next_tick(t0, true, period);
    REQUIRE(when);
    CHECK(*when == t0 + FramePacer::watchdog_periods * period);
    p.pacer.tick(t0 + period, true, period);
    CHECK(p.signalled.empty());
    p.pacer.tick(*when, true, period);
    CHECK(p.signalled == std::vector<FramePacer::Token>{1});
}

TEST_CASE("release_all signals and forget_fences drops", "[pacer]") {
    Pacer p;
    p.pacer.frame(t0);
    p.pacer.add_fence(1);
    p.pacer.committed(1);
    p.pacer.frame(t0);
    p.pacer.add_fence(2);
    p.pacer.forget_fences();
    p.pacer.release_all();
    CHECK(p.signalled.empty());
    p.pacer.frame(t0);
    p.pacer.add_fence(3);
    p.pacer.release_all();
    CHECK(p.signalled == std::vector<FramePacer::Token>{3});
}
