#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <map>
#include <memory>

namespace tessera::compositor {

class Server;
class XwaylandWindow;

// Xwayland for X11 applications, started by wlroots on the first X11 client (lazily), with
// DISPLAY exported to what tessera starts. Each X11 window becomes an XwaylandWindow.
class Xwayland {
public:
    Xwayland(Server& server, wlr_compositor* compositor);
    ~Xwayland();
    Xwayland(const Xwayland&) = delete;
    Xwayland& operator=(const Xwayland&) = delete;

    [[nodiscard]] const char* display_name() const { return xwayland_->display_name; }
    // The X server process, 0 until the first X11 client has started it.
    [[nodiscard]] pid_t server_pid() const;
    [[nodiscard]] size_t window_count() const { return windows_.size(); }

    void remove(XwaylandWindow* window);

private:
    Server& server_;
    wlr_xwayland* xwayland_;
    std::map<wlr_xwayland_surface*, std::unique_ptr<XwaylandWindow>> windows_;
    Listener<void> on_ready_;
    Listener<wlr_xwayland_surface> on_new_surface_;
};

} // namespace tessera::compositor
