#pragma once

#include "listener.hpp"
#include "wlr.hpp"

namespace tessera::compositor {

class Server;
class XdgShell;

// An xdg popup (menu, tooltip): placed in its parent's scene tree and kept on the output.
class Popup {
public:
    Popup(Server& server, XdgShell& shell, wlr_xdg_popup* xdg);
    Popup(const Popup&) = delete;
    Popup& operator=(const Popup&) = delete;

private:
    void unconstrain();

    Server& server_;
    XdgShell& shell_;
    wlr_xdg_popup* xdg_;
    Listener<void> on_commit_;
    Listener<void> on_reposition_;
    Listener<void> on_destroy_;
};

} // namespace tessera::compositor
