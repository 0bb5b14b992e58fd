#pragma once

#include "gpu-backend/base/log.hpp"

namespace tessera::compositor {

// Log scopes of the compositor's subsystems.
inline log::Scope comp_log{"comp"};       // server, outputs, shells
inline log::Scope input_log{"input"};     // seat, keyboards, pointer, touch
inline log::Scope ivi_log{"ivi"};         // zones, layouts, ivi-application
inline log::Scope ctl_log{"ctl"};         // the control socket
inline log::Scope plane_log{"planes"};    // hardware plane assignment
inline log::Scope gpu_log{"gpu"};         // guests: their sockets, VMMs connecting and leaving
inline log::Scope health_log{"health"};   // health events: stalls, failures, failover
inline log::Scope session_log{"session"}; // session lock, idle, sandboxed clients
inline log::Scope wlroots_log{"wlr"};     // everything wlroots itself says

// Routes wlroots' own log through the "wlr" scope and keeps wlroots' verbosity in step with it.
void route_wlroots_log();

} // namespace tessera::compositor
