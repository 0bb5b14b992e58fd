#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::compositor {

// What happens to guests, zones and outputs, told as it happens to whoever watches (the control
// socket's `watch`): one JSON object per line, {"event": NAME, "seq": N, "time_ms": T, ...}.
// A subscriber that does not read has a bounded backlog: past it, its events are dropped and
// counted, and the next event that fits is preceded by {"event": "lost", "count": N}. Nothing
// here blocks, and a slow subscriber never grows tessera's memory past its bound.
class HealthEvents {
public:
    struct Subscriber {
        std::function<void(std::string line)> send; // one line, without '\n'
        std::function<bool()> open;                 // false once the subscriber went
        std::function<size_t()> backlog_bytes;      // sent but not yet read by it
    };

    void subscribe(Subscriber subscriber);
    // `fields` (an object) go beside the event's name, sequence number and time.
    void publish(std::string_view event, nlohmann::json fields = nlohmann::json::object());

    [[nodiscard]] size_t subscribers() const { return subscribers_.size(); }
    [[nodiscard]] uint64_t published() const { return seq_; }
    // Events lost by subscribers that did not keep up, over all of them.
    [[nodiscard]] uint64_t lost() const { return lost_; }

    // A subscriber may fall this far behind before it loses events.
    static constexpr size_t max_backlog_bytes = 64 * 1024;

private:
    void deliver(const std::string& text);

    struct Entry {
        Subscriber subscriber;
        uint64_t lost = 0; // not yet told
    };
    std::vector<Entry> subscribers_;
    uint64_t seq_ = 0;
    uint64_t lost_ = 0;
    std::vector<std::string> queued_; // published while delivering
    bool delivering_ = false;
};

} // namespace tessera::compositor
