#include "guest/driver_stall.hpp"

#include <catch2/catch_test_macros.hpp>

using tessera::compositor::DriverStallWatch;
using tessera::gpu::channel::Stats;

namespace {

Stats control(uint32_t unread, uint32_t stuck_ms) {
    Stats stats{};
    stats.answers_watched = 1;
    stats.answers_unread = unread;
    stats.answers_stuck_ms = stuck_ms;
    return stats;
}

void add_input(Stats& stats, uint32_t slot, uint32_t queued, uint32_t stuck_ms) {
    auto& input = stats.inputs[stats.input_count++];
    input.slot = slot;
    input.queued = queued;
    input.stuck_ms = stuck_ms;
}

} // namespace

TEST_CASE("A guest that takes no answers for the threshold is stalled, once, until it takes one",
          "[driver-stall]") {
    DriverStallWatch watch;
    const uint32_t threshold = DriverStallWatch::threshold.count();
    CHECK(watch.update(control(0, 0)).empty());
    CHECK(watch.update(control(3, threshold - 1)).empty()); // not yet

    auto stalled = watch.update(control(3, threshold));
    REQUIRE(stalled.size() == 1);
    CHECK(stalled[0].queue == "control");
    CHECK_FALSE(stalled[0].input_slot);
    CHECK(stalled[0].stalled);
    CHECK(stalled[0].waiting == 3);
    CHECK(stalled[0].stuck_ms == threshold);
    CHECK(watch.update(control(4, threshold + 500)).empty()); // still: said once
    CHECK(watch.stalled() == std::vector<std::string>{"control"});
    CHECK(watch.stalls() == 1);

    auto recovered = watch.update(control(1, 0)); // it took some
    REQUIRE(recovered.size() == 1);
    CHECK_FALSE(recovered[0].stalled);
    CHECK(watch.stalled().empty());

    // Answers not observable (no event-idx, or the ring stopped): a stall ends with them.
    REQUIRE(watch.update(control(2, threshold * 2)).size() == 1);
    auto gone = watch.update(Stats{});
    REQUIRE(gone.size() == 1);
    CHECK_FALSE(gone[0].stalled);
    CHECK(watch.stalls() == 2);
}

TEST_CASE("Input devices whose events wait without buffers stall each on its own",
          "[driver-stall]") {
    DriverStallWatch watch;
    const uint32_t threshold = DriverStallWatch::threshold.count();
    Stats stats = control(0, 0);
    add_input(stats, 0, 12, threshold + 10);
    add_input(stats, 2, 0, 0); // nothing waits for this one
    auto changes = watch.update(stats);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].queue == "input 0");
    CHECK(changes[0].input_slot == 0u);
    CHECK(changes[0].waiting == 12);

    // Events waiting alone are no stall: the guest may take buffers as they come.
    Stats busy = control(0, 0);
    add_input(busy, 0, 12, threshold + 20);
    add_input(busy, 2, 5, 0);
    CHECK(watch.update(busy).empty());

    // The device went (the guest's VMM dropped it): no longer stalled.
    auto gone = watch.update(control(0, 0));
    REQUIRE(gone.size() == 1);
    CHECK(gone[0].queue == "input 0");
    CHECK_FALSE(gone[0].stalled);

    // The device process ended: forgotten without a word (guest-disconnected says it).
    Stats again = control(0, 0);
    add_input(again, 1, 3, threshold);
    REQUIRE(watch.update(again).size() == 1);
    watch.clear();
    CHECK(watch.stalled().empty());
    CHECK(watch.update(control(0, 0)).empty());
}
