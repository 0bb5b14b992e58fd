#include "toplevel.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "scene_filters.hpp"
#include "seat.hpp"
#include "server.hpp"
#include "xdg_shell.hpp"
#include "zone_scene.hpp"

#include <algorithm>
#include <format>
#include <utility>

namespace tessera::compositor {

Toplevel::Toplevel(Server& server, XdgShell& shell, wlr_xdg_toplevel* xdg)
    : server_(server), shell_(shell), xdg_(xdg),
      tree_(wlr_scene_xdg_surface_create(server.layers().toplevels, xdg->base)) {
    tree_->node.data = &tag_;
    // Popups of this window attach to its tree.
    xdg->base->data = tree_;
    wlr_scene_node_set_enabled(&tree_->node, false);
    // What clients may offer in their own title bars: tessera has no window menu and no
    // minimized state (wlroots would advertise both).
    wlr_xdg_toplevel_set_wm_capabilities(xdg, WLR_XDG_TOPLEVEL_WM_CAPABILITIES_MAXIMIZE |
                                                  WLR_XDG_TOPLEVEL_WM_CAPABILITIES_FULLSCREEN);

    auto* surface = xdg->base->surface;
    on_map_.connect(&surface->events.map, [this](void*) { handle_map(); });
    on_unmap_.connect(&surface->events.unmap, [this](void*) { handle_unmap(); });
    on_commit_.connect(&surface->events.commit, [this](void*) { handle_commit(); });
    on_destroy_.connect(&xdg->events.destroy, [this](void*) { shell_.remove(this); });
    on_request_move_.connect(&xdg->events.request_move, [this](wlr_xdg_toplevel_move_event*) {
        server_.seat().begin_move(this);
    });
    on_request_resize_.connect(&xdg->events.request_resize,
                               [this](wlr_xdg_toplevel_resize_event* event) {
                                   server_.seat().begin_resize(this, event->edges);
                               });
    on_request_maximize_.connect(&xdg->events.request_maximize,
                                 [this](void*) { set_maximized(xdg_->requested.maximized); });
    on_request_fullscreen_.connect(&xdg->events.request_fullscreen,
                                   [this](void*) { set_fullscreen(xdg_->requested.fullscreen); });
    on_set_app_id_.connect(&xdg->events.set_app_id, [this](void*) {
        log::debug(comp_log, "toplevel app_id '{}'", app_id());
        publish_foreign_handle();
    });
    on_set_title_.connect(&xdg->events.set_title, [this](void*) { publish_foreign_handle(); });
}

void Toplevel::publish_foreign_handle() {
    if (!mapped_) {
        if (foreign_handle_) {
            wlr_ext_foreign_toplevel_handle_v1_destroy(std::exchange(foreign_handle_, nullptr));
        }
        return;
    }
    wlr_ext_foreign_toplevel_handle_v1_state state{xdg_->title, xdg_->app_id};
    if (foreign_handle_) {
        wlr_ext_foreign_toplevel_handle_v1_update_state(foreign_handle_, &state);
    } else {
        foreign_handle_ =
            wlr_ext_foreign_toplevel_handle_v1_create(shell_.foreign_toplevels(), &state);
    }
}

Toplevel::~Toplevel() {
    if (foreign_handle_) {
        wlr_ext_foreign_toplevel_handle_v1_destroy(foreign_handle_);
    }
    server_.unstack(this);
    if (auto* zones = server_.zones()) {
        zones->remove(this);
    }
    // The scene tree belongs to the xdg surface and goes with it.
}

Toplevel* Toplevel::from_node(wlr_scene_node* node) {
    return SceneTag::find<Toplevel>(node, SceneTag::Kind::toplevel);
}

Toplevel* Toplevel::from_surface(wlr_surface* surface) {
    auto* xdg = surface ? wlr_xdg_toplevel_try_from_wlr_surface(surface) : nullptr;
    auto* tree = xdg ? static_cast<wlr_scene_tree*>(xdg->base->data) : nullptr; // the window's
    return tree ? from_node(&tree->node) : nullptr;
}

ivi::ContentIdentity Toplevel::identity() const {
    ivi::ContentIdentity identity;
    identity.app_id = std::string(app_id());
    return identity;
}

std::string Toplevel::describe() const {
    return std::format("xdg {}", app_id());
}

wlr_box Toplevel::content_box() const {
    wlr_box box{};
    wlr_xdg_surface_get_geometry(xdg_->base, &box);
    return box;
}

void Toplevel::configure_size(int width, int height) {
    if (!xdg_->base->initialized) {
        return;
    }
    // Each call schedules a configure: only send what changes.
    if (xdg_->scheduled.width != width || xdg_->scheduled.height != height) {
        wlr_xdg_toplevel_set_size(xdg_, width, height);
    }
    // Tiled: the client draws no shadows or rounded corners outside the zone.
    constexpr uint32_t all_edges = WLR_EDGE_TOP | WLR_EDGE_BOTTOM | WLR_EDGE_LEFT | WLR_EDGE_RIGHT;
    if (xdg_->scheduled.tiled != all_edges) {
        wlr_xdg_toplevel_set_tiled(xdg_, all_edges);
    }
}

bool Toplevel::in_managed_zone() const {
    auto* zones = server_.zones();
    const auto* zone = zones ? zones->zone_for(*this) : nullptr;
    return zone && !zone->floating;
}

void Toplevel::set_decoration(wlr_xdg_toplevel_decoration_v1* decoration) {
    decoration_ = decoration;
    on_decoration_request_.connect(&decoration->events.request_mode,
                                   [this](void*) { update_decoration_mode(); });
    on_decoration_destroy_.connect(&decoration->events.destroy, [this](void*) {
        decoration_ = nullptr;
        on_decoration_request_.disconnect();
        on_decoration_destroy_.disconnect();
    });
    update_decoration_mode();
}

void Toplevel::update_decoration_mode() {
    if (!decoration_ || !xdg_->base->initialized) {
        return;
    }
    // Zones show windows without decorations; free windows keep the client's own.
    wlr_xdg_toplevel_decoration_v1_set_mode(
        decoration_, in_managed_zone() ? WLR_XDG_TOPLEVEL_DECORATION_V1_MODE_SERVER_SIDE
                                       : WLR_XDG_TOPLEVEL_DECORATION_V1_MODE_CLIENT_SIDE);
}

wlr_box Toplevel::geometry() const {
    // The window's tree is placed at its geometry's corner: wlroots' xdg scene tree puts the
    // surface inside it at minus the geometry's offset (its client-side shadows).
    wlr_box box = content_box();
    return {tree_->node.x, tree_->node.y, box.width, box.height};
}

int Toplevel::x() const {
    return geometry().x;
}

int Toplevel::y() const {
    return geometry().y;
}

void Toplevel::move_to(int x, int y) {
    wlr_scene_node_set_position(&tree_->node, x, y);
    if (mapped_) {
        server_.seat().rebase_pointer();
    }
}

void Toplevel::set_activated(bool activated) {
    if (xdg_->base->initialized) {
        wlr_xdg_toplevel_set_activated(xdg_, activated);
    }
}

void Toplevel::request_size(int width, int height) {
    if (xdg_->base->initialized) {
        wlr_xdg_toplevel_set_size(xdg_, width, height);
    }
}

void Toplevel::close() {
    wlr_xdg_toplevel_send_close(xdg_);
}

void Toplevel::handle_commit() {
    if (surface()->current.committed & WLR_SURFACE_STATE_BUFFER) {
        count_frame();
    }
    if (xdg_->base->initial_commit) {
        update_decoration_mode();
        // The first configure: the zone's size, or let the client pick its size unless it
        // asked for a state.
        auto* zones = server_.zones();
        const auto* zone = zones ? zones->zone_for(*this) : nullptr;
        if (zone && !zone->floating) {
            configure_size(zone->rect.width, zone->rect.height);
        } else if (!zone && zones) {
            wlr_xdg_toplevel_set_size(xdg_, 0, 0); // hidden: no zone takes it
        } else if (xdg_->requested.fullscreen) {
            set_fullscreen(true);
        } else if (xdg_->requested.maximized) {
            set_maximized(true);
        } else {
            wlr_xdg_toplevel_set_size(xdg_, 0, 0);
        }
    }
    use_nearest_filter_for_solid_colors(&tree_->node);
    keep_surface_still();
    if (auto* zones = server_.zones(); zones && mapped_) {
        zones->content_committed(this);
    }
    if (mapped_) {
        // Resized, or its subsurfaces moved or restacked, under a pointer that stays still.
        server_.seat().rebase_pointer();
    }
}

void Toplevel::handle_map() {
    mapped_ = true;
    if (auto* zones = server_.zones()) {
        zones->add(this);
    } else if (!placed_) {
        place_initially();
        placed_ = true;
    }
    wlr_scene_node_set_enabled(&tree_->node, true);
    log::info(comp_log, "mapped toplevel app_id='{}' title='{}' at {},{} size {}x{}{}", app_id(),
              title(), x(), y(), geometry().width, geometry().height,
              server_.zones() ? std::format(" in zone '{}'", zone) : std::string());
    server_.seat().focus_toplevel(this);
    publish_foreign_handle(); // the pointer re-picks in the commit that mapped it
}

void Toplevel::handle_unmap() {
    mapped_ = false;
    wlr_scene_node_set_enabled(&tree_->node, false);
    if (auto* zones = server_.zones()) {
        zones->remove(this);
    }
    server_.seat().forget_toplevel(this);
    server_.unstack(this);
    publish_foreign_handle();
    log::debug(comp_log, "unmapped toplevel app_id='{}'", app_id());
    server_.focus_top_toplevel();
    server_.seat().rebase_pointer();
}

void Toplevel::place_initially() {
    const auto& cursor = *server_.seat().cursor();
    auto* output = server_.output_at(cursor.x, cursor.y);
    if (!output) {
        return;
    }
    wlr_box area = output->usable_area();
    wlr_box geo = geometry();
    int x = area.x + std::max(0, (area.width - geo.width) / 2);
    int y = area.y + std::max(0, (area.height - geo.height) / 2);
    move_to(x, y);
}

Output* Toplevel::output() const {
    wlr_box box = geometry();
    return server_.output_at(box.x + box.width / 2.0, box.y + box.height / 2.0);
}

void Toplevel::occupy(std::optional<wlr_box> box) {
    if (box) {
        if (!restore_box_) {
            restore_box_ = geometry();
        }
        placed_ = true;
        move_to(box->x, box->y);
        wlr_xdg_toplevel_set_size(xdg_, box->width, box->height);
    } else if (restore_box_) {
        move_to(restore_box_->x, restore_box_->y);
        wlr_xdg_toplevel_set_size(xdg_, restore_box_->width, restore_box_->height);
        restore_box_.reset();
    }
}

void Toplevel::set_fullscreen(bool fullscreen) {
    if (!xdg_->base->initialized) {
        return;
    }
    auto* on = fullscreen ? output() : nullptr;
    // Fullscreen windows go above panels.
    wlr_scene_node_reparent(&tree_->node, on ? server_.layers().top : server_.layers().toplevels);
    occupy(on ? std::optional(on->layout_box()) : std::nullopt);
    wlr_xdg_toplevel_set_fullscreen(xdg_, on != nullptr);
}

void Toplevel::keep_surface_still() {
    wlr_box box = content_box();
    int dx = box.x - std::exchange(geometry_x_, box.x);
    int dy = box.y - std::exchange(geometry_y_, box.y);
    // A window that never set its geometry has all its surfaces' extents as geometry, and the
    // xdg tree moves the surface by its offset: a subsurface going left of or above the window
    // would move everything by as much. The window moves the other way, and nothing moves on
    // screen. Zones place their content from its geometry every commit.
    bool implicit = wlr_box_empty(&xdg_->base->current.geometry);
    if ((dx || dy) && implicit && mapped_ && !in_managed_zone()) {
        wlr_scene_node_set_position(&tree_->node, tree_->node.x + dx, tree_->node.y + dy);
    }
}

void Toplevel::follow_usable_area(const Output& output) {
    if (xdg_->base->initialized && xdg_->scheduled.maximized && !xdg_->scheduled.fullscreen &&
        this->output() == &output) {
        occupy(output.usable_area());
    }
}

void Toplevel::set_maximized(bool maximized) {
    if (!xdg_->base->initialized) {
        return;
    }
    auto* on = maximized ? output() : nullptr;
    occupy(on ? std::optional(on->usable_area()) : std::nullopt);
    wlr_xdg_toplevel_set_maximized(xdg_, on != nullptr);
}

} // namespace tessera::compositor
