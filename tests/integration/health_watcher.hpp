#pragma once

#include "health_events.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::test {

// Every health event tessera publishes from now on, as a watcher in the test's process sees
// it (the same lines tessera-ctl watch gets).
class HealthWatcher {
public:
    using Json = nlohmann::json;

    // `on_event`: called with each event as it comes, after it is stored.
    explicit HealthWatcher(compositor::HealthEvents& health,
                           std::function<void(const Json&)> on_event = {})
        : on_event_(std::move(on_event)) {
        health.subscribe({[this](std::string line) {
                              events.push_back(Json::parse(line));
                              if (on_event_) {
                                  on_event_(events.back());
                              }
                          },
                          [alive = alive_] { return *alive; }, [] { return size_t{0}; }});
    }
    ~HealthWatcher() { *alive_ = false; }
    HealthWatcher(const HealthWatcher&) = delete;
    HealthWatcher& operator=(const HealthWatcher&) = delete;

    // The first event named `name` (about `subject`, a zone or guest, if given) from index
    // `from` on.
    const Json* find(std::string_view name, std::string_view subject = {}, size_t from = 0) const {
        for (size_t i = from; i < events.size(); ++i) {
            if (matches(events[i], name, subject)) {
                return &events[i];
            }
        }
        return nullptr;
    }
    // The first event named `name` whose `field` ("zone", "guest") is `value`, from `from` on:
    // for a zone and a guest of the same name.
    const Json* find_where(std::string_view name, const char* field, std::string_view value,
                           size_t from = 0) const {
        for (size_t i = from; i < events.size(); ++i) {
            if (events[i]["event"] == name && events[i].value(field, "") == value) {
                return &events[i];
            }
        }
        return nullptr;
    }
    size_t count(std::string_view name, std::string_view subject = {}, size_t from = 0) const {
        size_t n = 0;
        for (size_t i = from; i < events.size(); ++i) {
            n += matches(events[i], name, subject) ? 1 : 0;
        }
        return n;
    }

    std::vector<Json> events;

private:
    static bool matches(const Json& e, std::string_view name, std::string_view subject) {
        return e["event"] == name && (subject.empty() || e.value("zone", "") == subject ||
                                      e.value("guest", "") == subject);
    }

    std::function<void(const Json&)> on_event_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace tessera::test
