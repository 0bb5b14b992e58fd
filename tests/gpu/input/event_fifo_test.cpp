#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>

#include <algorithm>
#include <vector>

#include "gpu-backend/virtio_input/event_fifo.hpp"

using namespace tessera::gpu::input;

namespace {

constexpr InputEvent syn{EV_SYN, SYN_REPORT, 0};

std::vector<InputEvent> key(uint16_t code, int32_t value) {
    return {{EV_KEY, code, value}, syn};
}

std::vector<InputEvent> touch_down(int32_t slot, int32_t id, int32_t x, int32_t y) {
    return {{EV_ABS, ABS_MT_SLOT, slot},    {EV_ABS, ABS_MT_TRACKING_ID, id},
            {EV_ABS, ABS_MT_POSITION_X, x}, {EV_ABS, ABS_MT_POSITION_Y, y},
            {EV_KEY, BTN_TOUCH, 1},         syn};
}

std::vector<InputEvent> drain(EventFifo& fifo) {
    std::vector<InputEvent> out;
    while (!fifo.empty()) {
        out.push_back(fifo.front());
        fifo.pop();
    }
    return out;
}

// What a guest's input device holds after `events` (all of them, frames applied in order).
EvdevState state_after(const std::vector<InputEvent>& events) {
    EvdevState state;
    state.apply(events);
    return state;
}

} // namespace

TEST_CASE("Frames wait in order and leave in order", "[input-fifo]") {
    EventFifo fifo(64);
    auto a = touch_down(0, 7, 10, 20);
    auto b = touch_down(1, 8, 30, 40);
    REQUIRE(fifo.push_frame(a));
    REQUIRE(fifo.push_frame(b));
    CHECK(fifo.size() == a.size() + b.size());
    std::vector<InputEvent> both = a;
    both.insert(both.end(), b.begin(), b.end());
    CHECK(drain(fifo) == both);
    CHECK(fifo.stats().frames_queued == 2);
    CHECK(fifo.stats().events_delivered == both.size());
    CHECK(fifo.stats().frames_dropped == 0);
}

TEST_CASE("Malformed frames are refused whole", "[input-fifo]") {
    EventFifo fifo(64);
    CHECK_FALSE(fifo.push_frame({}));
    std::vector<InputEvent> unterminated{{EV_KEY, KEY_A, 1}};
    CHECK_FALSE(fifo.push_frame(unterminated));
    std::vector<InputEvent> huge(EventFifo::max_frame_events, InputEvent{EV_KEY, KEY_A, 1});
    huge.push_back(syn);
    CHECK_FALSE(fifo.push_frame(huge));
    CHECK(fifo.empty());
    CHECK(fifo.stats().frames_dropped == 3);
}

TEST_CASE("A frame longer than the FIFO still goes through an empty one", "[input-fifo]") {
    EventFifo fifo(8);
    auto two = touch_down(0, 1, 10, 20);
    auto more = touch_down(1, 2, 30, 40);
    std::vector<InputEvent> long_frame(two.begin(), two.end() - 1);
    long_frame.insert(long_frame.end(), more.begin(), more.end());
    REQUIRE(long_frame.size() > fifo.capacity());
    CHECK(fifo.push_frame(long_frame));
    CHECK(drain(fifo) == long_frame);
    // Behind something else it waits its turn like any frame: it is dropped.
    REQUIRE(fifo.push_frame(key(KEY_A, 1)));
    CHECK_FALSE(fifo.push_frame(long_frame));
}

TEST_CASE("A guest that takes nothing loses whole frames, never memory", "[input-fifo]") {
    EventFifo fifo(32);
    size_t accepted = 0;
    for (int i = 0; i < 10'000; ++i) {
        accepted += fifo.push_frame(key(KEY_A, i % 2 == 0 ? 1 : 0)) ? 1 : 0;
        REQUIRE(fifo.size() <= fifo.capacity());
    }
    CHECK(accepted == 16); // 32 events of 2-event frames, then nothing fits
    CHECK(fifo.stats().frames_dropped == 10'000 - 16);
    // Only whole frames are there: every one ends in its SYN_REPORT.
    auto events = drain(fifo);
    REQUIRE(events.size() == 32);
    for (size_t i = 1; i < events.size(); i += 2) {
        CHECK(events[i] == syn);
    }
}

TEST_CASE("After drops the guest is caught up: nothing stays down", "[input-fifo]") {
    EventFifo fifo(12);
    // Shift and a finger go down and are delivered; the guest then stops taking events.
    REQUIRE(fifo.push_frame(key(KEY_LEFTSHIFT, 1)));
    REQUIRE(fifo.push_frame(touch_down(0, 5, 100, 200)));
    std::vector<InputEvent> seen = drain(fifo);
    std::vector<InputEvent> all = seen;
    // A pile of frames meanwhile, most of them lost: keys pressed and released, the finger
    // moved and lifted, shift released, a second finger put down.
    for (int i = 0; i < 50; ++i) {
        std::vector<InputEvent> frame{
            {EV_ABS, ABS_MT_SLOT, 0}, {EV_ABS, ABS_MT_POSITION_X, 100 + i}, syn};
        all.insert(all.end(), frame.begin(), frame.end());
        fifo.push_frame(frame);
        auto press = key(KEY_B, i % 2 == 0 ? 1 : 0);
        all.insert(all.end(), press.begin(), press.end());
        fifo.push_frame(press);
    }
    std::vector<std::vector<InputEvent>> last{
        {{EV_ABS, ABS_MT_SLOT, 0}, {EV_ABS, ABS_MT_TRACKING_ID, -1}, {EV_KEY, BTN_TOUCH, 0}, syn},
        key(KEY_LEFTSHIFT, 0),
        touch_down(1, 6, 300, 400),
    };
    for (const auto& frame : last) {
        all.insert(all.end(), frame.begin(), frame.end());
        fifo.push_frame(frame);
    }
    CHECK(fifo.stats().frames_dropped > 0);
    // The guest takes events again: what it ends up with is what it would have had.
    auto rest = drain(fifo);
    seen.insert(seen.end(), rest.begin(), rest.end());
    // Caught up whenever a catch-up frame fitted: during the pile and again at the end.
    CHECK(fifo.stats().resyncs >= 1);
    EvdevState guest = state_after(seen);
    CHECK(guest == state_after(all));
    CHECK_FALSE(guest.key_down(KEY_LEFTSHIFT));
    CHECK_FALSE(guest.key_down(KEY_B));
    CHECK(guest.tracking_id(0) == -1);
    CHECK(guest.tracking_id(1) == 6);
    CHECK(seen.back() == syn);

    // Frames after the catch-up flow as usual.
    REQUIRE(fifo.push_frame(key(KEY_C, 1)));
    CHECK(drain(fifo) == key(KEY_C, 1));
}

TEST_CASE("Reset empties the FIFO and forgets what was down", "[input-fifo]") {
    EventFifo fifo(8);
    REQUIRE(fifo.push_frame(key(KEY_A, 1)));
    for (int i = 0; i < 10; ++i) {
        fifo.push_frame(key(KEY_B, 1));
    }
    fifo.reset();
    CHECK(fifo.empty());
    // No catch-up frame is owed to a driver that starts from nothing.
    REQUIRE(fifo.push_frame(key(KEY_C, 1)));
    CHECK(drain(fifo) == key(KEY_C, 1));
}

TEST_CASE("The transition between two states is one frame, releases first", "[input-state]") {
    EvdevState from = state_after(touch_down(0, 1, 5, 6));
    from.apply(key(KEY_A, 1));
    EvdevState to = state_after(touch_down(2, 9, 50, 60));
    to.apply(key(KEY_Z, 1));

    auto frame = EvdevState::transition(from, to);
    REQUIRE_FALSE(frame.empty());
    CHECK(frame.back() == syn);
    EvdevState applied = from;
    applied.apply(frame);
    CHECK(applied == to);
    // KEY_A goes up before KEY_Z goes down; slot 0 lifts before slot 2 begins.
    auto index_of = [&](InputEvent e) {
        return std::find(frame.begin(), frame.end(), e) - frame.begin();
    };
    CHECK(index_of({EV_KEY, KEY_A, 0}) < index_of({EV_KEY, KEY_Z, 1}));
    CHECK(index_of({EV_ABS, ABS_MT_TRACKING_ID, -1}) < index_of({EV_ABS, ABS_MT_TRACKING_ID, 9}));
    CHECK(EvdevState::transition(to, to).empty());
    // Repeats keep a key down; an out-of-range slot changes nothing.
    EvdevState repeat = state_after(key(KEY_A, 1));
    repeat.apply(key(KEY_A, 2));
    CHECK(repeat.key_down(KEY_A));
    EvdevState odd;
    odd.apply(std::vector<InputEvent>{{EV_ABS, ABS_MT_SLOT, 99}, {EV_ABS, ABS_MT_TRACKING_ID, 3}});
    for (unsigned s = 0; s < EvdevState::max_slots; ++s) {
        CHECK(odd.tracking_id(s) == -1);
    }
}
