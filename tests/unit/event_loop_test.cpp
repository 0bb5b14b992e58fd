#include "event_loop.hpp"
#include "listener.hpp"

#include <catch2/catch_test_macros.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>

using namespace tessera;
using namespace std::chrono_literals;

namespace {

struct Loop {
    wl_event_loop* loop = wl_event_loop_create();
    ~Loop() { wl_event_loop_destroy(loop); }
    void dispatch(int timeout_ms = 0) { wl_event_loop_dispatch(loop, timeout_ms); }
};

} // namespace

TEST_CASE("a listener receives signal data until it is destroyed", "[listener]") {
    wl_signal signal;
    wl_signal_init(&signal);
    int received = 0;
    {
        Listener<int> listener;
        CHECK_FALSE(listener.connected());
        listener.connect(&signal, [&](int* value) { received += *value; });
        CHECK(listener.connected());
        int five = 5;
        wl_signal_emit(&signal, &five);
        CHECK(received == 5);
    }
    int seven = 7;
    wl_signal_emit(&signal, &seven); // the listener removed itself: nothing happens
    CHECK(received == 5);
    CHECK(wl_list_empty(&signal.listener_list));
}

TEST_CASE("a listener may destroy its owner from the callback", "[listener]") {
    struct Owner {
        Listener<void> on_destroy;
    };
    wl_signal signal;
    wl_signal_init(&signal);
    auto owner = std::make_unique<Owner>();
    bool called = false;
    owner->on_destroy.connect(&signal, [&](void*) {
        called = true;
        owner.reset();
    });
    wl_signal_emit_mutable(&signal, nullptr);
    CHECK(called);
    CHECK_FALSE(owner);
    CHECK(wl_list_empty(&signal.listener_list));
}

TEST_CASE("reconnecting moves a listener to another signal", "[listener]") {
    wl_signal first, second;
    wl_signal_init(&first);
    wl_signal_init(&second);
    int calls = 0;
    Listener<void> listener;
    listener.connect(&first, [&](void*) { ++calls; });
    listener.connect(&second, [&](void*) { calls += 10; });
    wl_signal_emit(&first, nullptr);
    wl_signal_emit(&second, nullptr);
    CHECK(calls == 10);
    listener.disconnect();
    wl_signal_emit(&second, nullptr);
    CHECK(calls == 10);
}

TEST_CASE("an idle call runs once, and not at all when cancelled", "[event_loop]") {
    Loop loop;
    int runs = 0;
    IdleCall idle;
    idle.schedule(loop.loop, [&] { ++runs; });
    CHECK(idle.pending());
    loop.dispatch();
    loop.dispatch();
    CHECK(runs == 1);
    CHECK_FALSE(idle.pending());

    idle.schedule(loop.loop, [&] { ++runs; });
    idle.cancel();
    loop.dispatch();
    CHECK(runs == 1);

    {
        IdleCall scoped;
        scoped.schedule(loop.loop, [&] { ++runs; });
    }
    loop.dispatch();
    CHECK(runs == 1);
}

TEST_CASE("a timer fires after its delay and can be re-armed from its callback", "[event_loop]") {
    Loop loop;
    int fired = 0;
    std::unique_ptr<Timer> timer;
    timer = std::make_unique<Timer>(loop.loop, [&] {
        if (++fired < 3) {
            timer->arm(1ms);
        }
    });
    timer->arm(1ms);
    CHECK(timer->armed());
    for (int i = 0; i < 50 && fired < 3; ++i) {
        loop.dispatch(20);
    }
    CHECK(fired == 3);
    CHECK_FALSE(timer->armed());

    timer->arm(1ms);
    timer->disarm();
    loop.dispatch(10);
    CHECK(fired == 3);
}

TEST_CASE("an fd watch reports readability", "[event_loop]") {
    Loop loop;
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    REQUIRE(efd >= 0);
    uint32_t seen = 0;
    {
        FdWatch watch(loop.loop, efd, WL_EVENT_READABLE, [&](uint32_t mask) {
            seen = mask;
            uint64_t value = 0;
            CHECK(read(efd, &value, sizeof(value)) == sizeof(value));
        });
        loop.dispatch(0);
        CHECK(seen == 0);
        uint64_t one = 1;
        REQUIRE(write(efd, &one, sizeof(one)) == sizeof(one));
        loop.dispatch(100);
        CHECK((seen & WL_EVENT_READABLE) != 0);
    }
    close(efd);
}
