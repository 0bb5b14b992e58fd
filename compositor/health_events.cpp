#include "health_events.hpp"

#include "log_scopes.hpp"
#include "util/health_line.hpp"

#include <time.h>

#include <format>
#include <utility>

namespace tessera::compositor {

namespace {

double monotonic_ms() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

} // namespace

void HealthEvents::subscribe(Subscriber subscriber) {
    subscribers_.push_back({std::move(subscriber), 0});
}

void HealthEvents::publish(std::string_view event, nlohmann::json fields) {
    nlohmann::json line{{"event", event}, {"seq", ++seq_}, {"time_ms", monotonic_ms()}};
    if (fields.is_object()) {
        for (auto& [key, value] : fields.items()) {
            line[key] = std::move(value);
        }
    }
    log::info(health_log, "{}", describe_health_event(line));
    queued_.push_back(line.dump());
    if (delivering_) {
        return; // published from inside a send: delivered by the loop below, in order
    }
    delivering_ = true;
    for (size_t i = 0; i < queued_.size(); ++i) {
        deliver(queued_[i]);
    }
    queued_.clear();
    delivering_ = false;
}

void HealthEvents::deliver(const std::string& text) {
    // Subscribers are only erased here, never during a send.
    std::erase_if(subscribers_, [](const Entry& entry) { return !entry.subscriber.open(); });
    for (auto& entry : subscribers_) {
        if (entry.subscriber.backlog_bytes() + text.size() > max_backlog_bytes) {
            ++entry.lost;
            ++lost_;
            continue;
        }
        if (entry.lost > 0) {
            uint64_t lost = std::exchange(entry.lost, 0);
            entry.subscriber.send(nlohmann::json{{"event", "lost"}, {"count", lost}}.dump());
        }
        entry.subscriber.send(text);
    }
}

} // namespace tessera::compositor
