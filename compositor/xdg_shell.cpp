#include "xdg_shell.hpp"

#include "log_scopes.hpp"
#include "popup.hpp"
#include "server.hpp"
#include "toplevel.hpp"

#include <algorithm>

namespace tessera::compositor {

XdgShell::XdgShell(Server& server, uint32_t version)
    : server_(server), shell_(wlr_xdg_shell_create(server.display(), version)),
      foreign_toplevels_(wlr_ext_foreign_toplevel_list_v1_create(server.display(), 1)),
      decorations_(nullptr) {
    on_new_toplevel_.connect(&shell_->events.new_toplevel, [this](wlr_xdg_toplevel* xdg) {
        toplevels_.emplace(xdg, std::make_unique<Toplevel>(server_, *this, xdg));
    });
    on_new_popup_.connect(&shell_->events.new_popup, [this](wlr_xdg_popup* xdg) {
        popups_.emplace(xdg, std::make_unique<Popup>(server_, *this, xdg));
    });
    decorations_ = wlr_xdg_decoration_manager_v1_create(server.display());
    on_new_decoration_.connect(&decorations_->events.new_toplevel_decoration,
                               [this](wlr_xdg_toplevel_decoration_v1* decoration) {
                                   auto it = toplevels_.find(decoration->toplevel);
                                   if (it != toplevels_.end()) {
                                       it->second->set_decoration(decoration);
                                   }
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
