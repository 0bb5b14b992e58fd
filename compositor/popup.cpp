#include "popup.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "server.hpp"
#include "xdg_shell.hpp"

namespace tessera::compositor {
namespace {

// The scene tree that a surface's popups attach to: set as `data` by toplevels, layer surfaces
// and popups themselves.
wlr_scene_tree* popup_parent_tree(wlr_surface* parent) {
    if (auto* xdg = wlr_xdg_surface_try_from_wlr_surface(parent)) {
        return static_cast<wlr_scene_tree*>(xdg->data);
    }
    if (auto* layer = wlr_layer_surface_v1_try_from_wlr_surface(parent)) {
        return static_cast<wlr_scene_tree*>(layer->data);
    }
    return nullptr;
}

// The top-most ancestor that is not a popup: the popup is positioned relative to it.
wlr_surface* root_surface(wlr_xdg_popup* popup) {
    wlr_surface* surface = popup->parent;
    while (auto* xdg = surface ? wlr_xdg_surface_try_from_wlr_surface(surface) : nullptr) {
        if (xdg->role != WLR_XDG_SURFACE_ROLE_POPUP || !xdg->popup->parent) {
            break;
        }
        surface = xdg->popup->parent;
    }
    return surface;
}

} // namespace

Popup::Popup(Server& server, XdgShell& shell, wlr_xdg_popup* xdg)
    : server_(server), shell_(shell), xdg_(xdg) {
    auto* parent_tree = xdg->parent ? popup_parent_tree(xdg->parent) : nullptr;
    if (parent_tree) {
        xdg->base->data = wlr_scene_xdg_surface_create(parent_tree, xdg->base);
    } else {
        // A popup whose parent we do not show (or set later by layer-shell's get_popup).
        log::debug(comp_log, "popup without a known parent");
    }
    on_commit_.connect(&xdg->base->surface->events.commit, [this](void*) {
        if (!xdg_->base->data && xdg_->parent) {
            if (auto* tree = popup_parent_tree(xdg_->parent)) {
                xdg_->base->data = wlr_scene_xdg_surface_create(tree, xdg_->base);
            }
        }
        if (xdg_->base->initial_commit) {
            unconstrain();
            wlr_xdg_surface_schedule_configure(xdg_->base);
        }
    });
    on_reposition_.connect(&xdg->events.reposition, [this](void*) { unconstrain(); });
    on_destroy_.connect(&xdg->events.destroy, [this](void*) { shell_.remove(this); });
}

void Popup::unconstrain() {
    auto* root = root_surface(xdg_);
    auto* root_tree = root ? popup_parent_tree(root) : nullptr;
    if (!root_tree) {
        return;
    }
    int lx = 0, ly = 0;
    wlr_scene_node_coords(&root_tree->node, &lx, &ly);
    auto* output = server_.output_at(lx, ly);
    if (!output) {
        return;
    }
    // Keep the popup on its window's output; the box is relative to the root window.
    wlr_box area = output->layout_box();
    wlr_box box{area.x - lx, area.y - ly, area.width, area.height};
    wlr_xdg_popup_unconstrain_from_box(xdg_, &box);
}

} // namespace tessera::compositor
