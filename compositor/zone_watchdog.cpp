#include "zone_watchdog.hpp"

namespace tessera::compositor {

void ZoneWatchdog::update(std::string_view zone, std::chrono::milliseconds period, bool showing,
                          Clock::time_point now) {
    auto it = zones_.find(zone);
    if (it == zones_.end()) {
        it = zones_.emplace(std::string(zone), Watch{}).first;
    }
    auto& watch = it->second;
    if (period != watch.period || (showing && !watch.showing)) {
        watch.last = now;
    }
    if (!showing || period.count() == 0) {
        watch.stalled = false;
    }
    watch.period = period;
    watch.showing = showing;
}

void ZoneWatchdog::forget(std::string_view zone) {
    if (auto it = zones_.find(zone); it != zones_.end()) {
        zones_.erase(it);
    }
}

std::optional<ZoneWatchdog::Change> ZoneWatchdog::frame(std::string_view zone,
                                                        Clock::time_point now) {
    auto it = zones_.find(zone);
    if (it == zones_.end()) {
        return std::nullopt;
    }
    auto& watch = it->second;
    auto silence = now - watch.last;
    watch.last = now;
    if (!watch.stalled) {
        return std::nullopt;
    }
    watch.stalled = false;
    return Change{it->first, false, silence};
}

std::vector<ZoneWatchdog::Change> ZoneWatchdog::check(Clock::time_point now) {
    std::vector<Change> changes;
    for (auto& [zone, watch] : zones_) {
        if (waiting(watch) && now - watch.last >= watch.period) {
            watch.stalled = true;
            ++watch.stalls;
            changes.push_back({zone, true, now - watch.last});
        }
    }
    return changes;
}

std::optional<ZoneWatchdog::Clock::time_point> ZoneWatchdog::next_check() const {
    std::optional<Clock::time_point> next;
    for (const auto& [zone, watch] : zones_) {
        if (waiting(watch) && (!next || watch.last + watch.period < *next)) {
            next = watch.last + watch.period;
        }
    }
    return next;
}

bool ZoneWatchdog::stalled(std::string_view zone) const {
    auto it = zones_.find(zone);
    return it != zones_.end() && it->second.stalled;
}

uint64_t ZoneWatchdog::stalls(std::string_view zone) const {
    auto it = zones_.find(zone);
    return it == zones_.end() ? 0 : it->second.stalls;
}

} // namespace tessera::compositor
