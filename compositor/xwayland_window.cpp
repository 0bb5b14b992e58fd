#include "xwayland_window.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "seat.hpp"
#include "server.hpp"
#include "xwayland.hpp"
#include "zone_scene.hpp"

#include <algorithm>
#include <format>

namespace tessera::compositor {

XwaylandWindow::XwaylandWindow(Server& server, Xwayland& xwayland, wlr_xwayland_surface* xsurface)
    : server_(server), xwayland_(xwayland), xsurface_(xsurface) {
    on_destroy_.connect(&xsurface->events.destroy, [this](void*) { xwayland_.remove(this); });
    // The wl_surface comes later, when Xwayland pairs the X window with it.
    on_associate_.connect(&xsurface->events.associate, [this](void*) {
        auto* surface = xsurface_->surface;
        on_map_.connect(&surface->events.map, [this](void*) { handle_map(); });
        on_unmap_.connect(&surface->events.unmap, [this](void*) { handle_unmap(); });
        on_commit_.connect(&surface->events.commit, [this](void*) {
            if (auto* zones = server_.zones(); zones && mapped_) {
                if (xsurface_->surface->current.committed & WLR_SURFACE_STATE_BUFFER) {
                    count_frame();
                }
                zones->content_committed(this);
            }
        });
    });
    on_dissociate_.connect(&xsurface->events.dissociate, [this](void*) {
        on_map_.disconnect();
        on_unmap_.disconnect();
        on_commit_.disconnect();
    });
    on_request_configure_.connect(
        &xsurface->events.request_configure,
        [this](wlr_xwayland_surface_configure_event* event) { handle_request_configure(*event); });
    on_request_activate_.connect(&xsurface->events.request_activate, [this](void*) {
        if (mapped_ && !override_redirect()) {
            server_.seat().focus_xwayland(this);
        }
    });
    on_set_geometry_.connect(&xsurface->events.set_geometry, [this](void*) {
        // Override-redirect windows move themselves.
        if (tree_ && override_redirect()) {
            wlr_scene_node_set_position(&tree_->node, xsurface_->x, xsurface_->y);
        }
    });
}

XwaylandWindow::~XwaylandWindow() {
    if (mapped_) {
        handle_unmap();
    }
}

XwaylandWindow* XwaylandWindow::from_node(wlr_scene_node* node) {
    return SceneTag::find<XwaylandWindow>(node, SceneTag::Kind::xwayland);
}

ivi::ContentIdentity XwaylandWindow::identity() const {
    return {.app_id = std::string(x11_class())};
}

std::string XwaylandWindow::describe() const {
    return std::format("x11 {}", x11_class());
}

// What the surface shows now: X's width and height already hold a size asked for and not yet
// drawn.
wlr_box XwaylandWindow::content_box() const {
    auto* surface = xsurface_->surface;
    return surface ? wlr_box{0, 0, surface->current.width, surface->current.height} : wlr_box{};
}

void XwaylandWindow::configure_size(int width, int height) {
    int x = xsurface_->x, y = xsurface_->y;
    if (tree_) {
        wlr_scene_node_coords(&tree_->node, &x, &y);
    }
    configure_at(x, y, width, height);
}

void XwaylandWindow::placed() {
    if (tree_) {
        int x = 0, y = 0;
        wlr_scene_node_coords(&tree_->node, &x, &y);
        if (x != xsurface_->x || y != xsurface_->y) {
            configure_at(x, y, xsurface_->width, xsurface_->height);
        }
    }
}

void XwaylandWindow::configure_at(int x, int y, int width, int height) {
    auto clamp16 = [](int v) { return static_cast<int16_t>(std::clamp(v, -32768, 32767)); };
    auto size16 = [](int v) { return static_cast<uint16_t>(std::clamp(v, 1, 32767)); };
    wlr_xwayland_surface_configure(xsurface_, clamp16(x), clamp16(y), size16(width),
                                   size16(height));
}

void XwaylandWindow::set_activated(bool activated) {
    if (!override_redirect()) {
        wlr_xwayland_surface_activate(xsurface_, activated);
    }
}

void XwaylandWindow::raise() {
    if (tree_) {
        wlr_scene_node_raise_to_top(&tree_->node);
    }
    wlr_xwayland_surface_restack(xsurface_, nullptr, XCB_STACK_MODE_ABOVE);
}

void XwaylandWindow::handle_request_configure(const wlr_xwayland_surface_configure_event& event) {
    if (!mapped_ || override_redirect()) {
        configure_at(event.x, event.y, event.width, event.height); // before mapping: as asked
        return;
    }
    if (server_.zones() && !zone.empty()) {
        configure_size(xsurface_->width, xsurface_->height); // the zone decides
        return;
    }
    // A floating window moves and resizes as it asks.
    wlr_scene_node_set_position(&tree_->node, event.x, event.y);
    configure_at(event.x, event.y, event.width, event.height);
}

void XwaylandWindow::handle_map() {
    mapped_ = true;
    auto& layers = server_.layers();
    tree_ = wlr_scene_tree_create(override_redirect() ? layers.top : layers.toplevels);
    tree_->node.data = &tag_;
    wlr_scene_subsurface_tree_create(tree_, xsurface_->surface);
    if (override_redirect()) {
        wlr_scene_node_set_position(&tree_->node, xsurface_->x, xsurface_->y);
        if (wlr_xwayland_or_surface_wants_focus(xsurface_)) {
            server_.seat().focus_surface(xsurface_->surface);
        }
        return;
    }
    if (auto* zones = server_.zones()) {
        zones->add(this);
    } else {
        // In the middle of the output under the cursor, like a new xdg window.
        const auto& cursor = *server_.seat().cursor();
        if (auto* output = server_.output_at(cursor.x, cursor.y)) {
            wlr_box area = output->usable_area();
            int x = area.x + std::max(0, (area.width - xsurface_->width) / 2);
            int y = area.y + std::max(0, (area.height - xsurface_->height) / 2);
            wlr_scene_node_set_position(&tree_->node, x, y);
            configure_at(x, y, xsurface_->width, xsurface_->height);
        }
    }
    log::info(comp_log, "mapped X11 window class='{}' title='{}' size {}x{}{}", x11_class(),
              xsurface_->title ? xsurface_->title : "", xsurface_->width, xsurface_->height,
              server_.zones() ? std::format(" in zone '{}'", zone) : std::string());
    server_.seat().focus_xwayland(this);
    server_.seat().rebase_pointer();
}

void XwaylandWindow::handle_unmap() {
    mapped_ = false;
    if (auto* zones = server_.zones(); zones && !override_redirect()) {
        zones->remove(this);
    }
    server_.seat().forget_xwayland(this);
    if (tree_) {
        wlr_scene_node_destroy(&tree_->node);
        tree_ = nullptr;
    }
    server_.seat().rebase_pointer();
}

} // namespace tessera::compositor
