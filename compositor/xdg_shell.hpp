#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <map>
#include <memory>

namespace tessera::compositor {

class Popup;
class Server;
class Toplevel;

// xdg-shell: creates a Toplevel or Popup for each xdg surface a client makes.
class XdgShell {
public:
    XdgShell(Server& server, uint32_t version);
    ~XdgShell();
    XdgShell(const XdgShell&) = delete;
    XdgShell& operator=(const XdgShell&) = delete;

    void remove(Toplevel* toplevel);
    void remove(Popup* popup);
    [[nodiscard]] size_t toplevel_count() const { return toplevels_.size(); }
    // ext-foreign-toplevel-list: mapped windows for taskbars and window switchers.
    [[nodiscard]] wlr_ext_foreign_toplevel_list_v1* foreign_toplevels() const {
        return foreign_toplevels_;
    }

private:
    Server& server_;
    wlr_xdg_shell* shell_;
    wlr_ext_foreign_toplevel_list_v1* foreign_toplevels_;
    std::map<wlr_xdg_toplevel*, std::unique_ptr<Toplevel>> toplevels_;
    std::map<wlr_xdg_popup*, std::unique_ptr<Popup>> popups_;
    Listener<wlr_xdg_toplevel> on_new_toplevel_;
    Listener<wlr_xdg_popup> on_new_popup_;
    wlr_xdg_decoration_manager_v1* decorations_;
    Listener<wlr_xdg_toplevel_decoration_v1> on_new_decoration_;
};

} // namespace tessera::compositor
