#include "xwayland.hpp"

#include "log_scopes.hpp"
#include "seat.hpp"
#include "server.hpp"
#include "xwayland_window.hpp"

#include <algorithm>
#include <cstdlib>

namespace tessera::compositor {

Xwayland::Xwayland(Server& server, wlr_compositor* compositor)
    : server_(server), xwayland_(wlr_xwayland_create(server.display(), compositor, true)) {
    if (!xwayland_) {
        log::warn(comp_log, "Xwayland is not available: X11 applications will not run");
        return;
    }
    setenv("DISPLAY", xwayland_->display_name, 1);
    log::info(comp_log, "X11 applications: DISPLAY={} (Xwayland starts with the first one)",
              xwayland_->display_name);
    on_ready_.connect(&xwayland_->events.ready, [this](void*) {
        log::info(comp_log, "Xwayland ready on DISPLAY={}", xwayland_->display_name);
        wlr_xwayland_set_seat(xwayland_, server_.seat().wlr());
    });
    on_new_surface_.connect(&xwayland_->events.new_surface, [this](wlr_xwayland_surface* xs) {
        windows_.emplace(xs, std::make_unique<XwaylandWindow>(server_, *this, xs));
    });
}

Xwayland::~Xwayland() {
    windows_.clear();
    on_ready_.disconnect();
    on_new_surface_.disconnect();
    if (xwayland_) {
        wlr_xwayland_destroy(xwayland_);
    }
}

pid_t Xwayland::server_pid() const {
    return xwayland_ && xwayland_->server ? xwayland_->server->pid : 0;
}

void Xwayland::remove(XwaylandWindow* window) {
    std::erase_if(windows_, [&](const auto& entry) { return entry.second.get() == window; });
}

} // namespace tessera::compositor
