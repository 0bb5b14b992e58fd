#include "xdg_activation.hpp"

#include "log_scopes.hpp"
#include "seat.hpp"
#include "server.hpp"
#include "toplevel.hpp"

namespace tessera::compositor {

XdgActivation::XdgActivation(Server& server)
    : server_(server), activation_(wlr_xdg_activation_v1_create(server.display())) {
    on_request_activate_.connect(
        &activation_->events.request_activate,
        [this](wlr_xdg_activation_v1_request_activate_event* event) { request_activate(*event); });
}

void XdgActivation::request_activate(const wlr_xdg_activation_v1_request_activate_event& event) {
    auto* toplevel = Toplevel::from_surface(event.surface);
    if (!toplevel || !toplevel->mapped()) {
        log::debug(session_log, "activation of a surface that is no mapped window: ignored");
        return;
    }
    const char* app_id = event.token->app_id ? event.token->app_id : "";
    if (!event.token->seat) {
        ++refused_;
        log::info(session_log,
                  "window {}: activation refused (token '{}' came from no input event)",
                  toplevel->app_id(), app_id);
        return;
    }
    ++activated_;
    log::info(session_log, "window {}: activated", toplevel->app_id());
    server_.seat().focus_toplevel(toplevel);
}

} // namespace tessera::compositor
