#include "health_events.hpp"
#include "util/health_line.hpp"

#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

using namespace tessera::compositor;
using json = nlohmann::json;

namespace {

// A subscriber whose peer reads only when told to.
struct Peer {
    std::vector<json> read;
    std::string unread;
    bool open = true;

    HealthEvents::Subscriber subscriber() {
        return {[this](std::string line) { unread += line + "\n"; }, [this] { return open; },
                [this] { return unread.size(); }};
    }
    void read_all() {
        size_t newline = 0;
        while ((newline = unread.find('\n')) != std::string::npos) {
            read.push_back(json::parse(unread.substr(0, newline)));
            unread.erase(0, newline + 1);
        }
    }
};

} // namespace

TEST_CASE("every subscriber gets each event with its name, sequence, time and fields",
          "[health-events]") {
    HealthEvents events;
    Peer a, b;
    events.subscribe(a.subscriber());
    events.publish("guest-connected", {{"guest", "cluster"}});
    events.subscribe(b.subscriber()); // sees only what comes after it
    events.publish("stalled", {{"zone", "cluster"}, {"watchdog_ms", 100}});
    a.read_all();
    b.read_all();
    REQUIRE(a.read.size() == 2);
    REQUIRE(b.read.size() == 1);
    CHECK(a.read[0]["event"] == "guest-connected");
    CHECK(a.read[0]["guest"] == "cluster");
    CHECK(a.read[1]["event"] == "stalled");
    CHECK(a.read[1]["seq"].get<uint64_t>() == a.read[0]["seq"].get<uint64_t>() + 1);
    CHECK(a.read[1]["time_ms"].get<double>() >= a.read[0]["time_ms"].get<double>());
    CHECK(b.read[0] == a.read[1]);
    CHECK(events.published() == 2);
}

TEST_CASE("a subscriber that does not read loses events within its bound and is told how many",
          "[health-events]") {
    HealthEvents events;
    Peer slow, fast;
    events.subscribe(slow.subscriber());
    events.subscribe(fast.subscriber());
    const std::string padding(200, 'x');
    constexpr int published = 2000; // far more than the bound holds
    for (int i = 0; i < published; ++i) {
        events.publish("zone-content", {{"zone", padding}, {"n", i}});
        fast.read_all();
        CHECK(slow.unread.size() <= HealthEvents::max_backlog_bytes);
    }
    CHECK(fast.read.size() == published); // the slow one cost the fast one nothing
    slow.read_all();
    auto kept = slow.read.size();
    CHECK(kept < published);
    CHECK(events.lost() == published - kept);

    // Once it read, the next event is preceded by the count of those it lost.
    events.publish("profile", {{"name", "parked"}});
    slow.read_all();
    REQUIRE(slow.read.size() == kept + 2);
    CHECK(slow.read[kept]["event"] == "lost");
    CHECK(slow.read[kept]["count"] == published - kept);
    CHECK(slow.read[kept + 1]["event"] == "profile");
    // What it kept is the oldest events, in order.
    for (size_t i = 0; i < kept; ++i) {
        CHECK(slow.read[i]["n"] == static_cast<int>(i));
    }
}

TEST_CASE("a subscriber that went is dropped", "[health-events]") {
    HealthEvents events;
    Peer gone;
    events.subscribe(gone.subscriber());
    gone.open = false;
    events.publish("output-removed", {{"output", "HEADLESS-1"}});
    CHECK(events.subscribers() == 0);
    CHECK(gone.unread.empty());
}

TEST_CASE("events read as one line for people", "[health-events]") {
    json event{{"event", "stalled"},
               {"seq", 7},
               {"time_ms", 1500.25},
               {"zone", "cluster"},
               {"silent_ms", 101}};
    CHECK(tessera::describe_health_event(event) == "1.500 stalled silent_ms=101 zone=cluster");
}
