#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::compositor {

// Notices content that stays on screen but stops sending frames. A watched zone has a period
// (its watchdog-ms): while it shows content, a frame must come at least that often, else the
// zone is stalled until the next frame. Pure bookkeeping with times passed in: the zone scene
// tells it what each zone shows and when frames come, and runs check() at next_check().
class ZoneWatchdog {
public:
    using Clock = std::chrono::steady_clock;

    struct Change {
        std::string zone;
        bool stalled;            // false: recovered
        Clock::duration silence; // without a frame, up to this change
    };

    // What a zone is now: its period (0: not watched) and whether it shows content (visible,
    // with content that has something to show). Call it whenever either may have changed; a
    // zone that starts showing content, or whose period changes, starts its clock `now`. A
    // zone that stops showing content is no longer stalled (there is nothing to cover).
    void update(std::string_view zone, std::chrono::milliseconds period, bool showing,
                Clock::time_point now);
    void forget(std::string_view zone);
    // A frame of the content a zone shows: a recovery when the zone was stalled.
    std::optional<Change> frame(std::string_view zone, Clock::time_point now);
    // The zones whose period ran out without a frame, now stalled.
    std::vector<Change> check(Clock::time_point now);
    // When check() should run next; nullopt while no watched zone waits for a frame.
    [[nodiscard]] std::optional<Clock::time_point> next_check() const;

    [[nodiscard]] bool stalled(std::string_view zone) const;
    // How often the zone stalled so far.
    [[nodiscard]] uint64_t stalls(std::string_view zone) const;

private:
    struct Watch {
        std::chrono::milliseconds period{0};
        bool showing = false;
        bool stalled = false;
        Clock::time_point last; // last frame, or when it started showing content
        uint64_t stalls = 0;
    };
    [[nodiscard]] static bool waiting(const Watch& watch) {
        return watch.period.count() > 0 && watch.showing && !watch.stalled;
    }
    std::map<std::string, Watch, std::less<>> zones_;
};

} // namespace tessera::compositor
