#include "xdg_shell.hpp"

#include "log_scopes.hpp"
#include "popup.hpp"
#include "server.hpp"
#include "toplevel.hpp"

#include <algorithm>

namespace tessera::compositor {

XdgShell::XdgShell(Server& server, uint32_t version)
    : server_(server), shell_(wlr_xdg_shell_create(server.display(), version)) {
    on_new_toplevel_.connect(&shell_->events.new_toplevel, [this](wlr_xdg_toplevel* xdg) {
        toplevels_.emplace(xdg, std::make_unique<Toplevel>(server_, *this, xdg));
    });
    on_new_popup_.connect(&shell_->events.new_popup, [this](wlr_xdg_popup* xdg) {
        popups_.emplace(xdg, std::make_unique<Popup>(server_, *this, xdg));
    });
}

XdgShell::~XdgShell() = default;

void XdgShell::remove(Toplevel* toplevel) {
    std::erase_if(toplevels_, [&](const auto& entry) { return entry.second.get() == toplevel; });
}

void XdgShell::remove(Popup* popup) {
    std::erase_if(popups_, [&](const auto& entry) { return entry.second.get() == popup; });
}

} // namespace tessera::compositor
