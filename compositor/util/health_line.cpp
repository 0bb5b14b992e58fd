#include "health_line.hpp"

#include <format>

namespace tessera {

std::string describe_health_event(const nlohmann::json& event) {
    std::string text;
    if (auto time = event.find("time_ms"); time != event.end() && time->is_number()) {
        text = std::format("{:.3f} ", time->get<double>() / 1e3);
    }
    text += event.value("event", "?");
    for (const auto& [key, value] : event.items()) {
        if (key == "event" || key == "seq" || key == "time_ms") {
            continue;
        }
        text +=
            std::format(" {}={}", key, value.is_string() ? value.get<std::string>() : value.dump());
    }
    return text;
}

} // namespace tessera
