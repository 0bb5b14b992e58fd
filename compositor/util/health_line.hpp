#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace tessera {

// A health event (compositor/ctl/PROTOCOL.md, `watch`) as one line for people: its time in
// seconds, its name and its fields, e.g. "1234.567 stalled silent_ms=101 zone=cluster".
std::string describe_health_event(const nlohmann::json& event);

} // namespace tessera
