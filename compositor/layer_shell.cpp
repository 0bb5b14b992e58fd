#include "layer_shell.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "scene_filters.hpp"
#include "seat.hpp"
#include "server.hpp"
#include "toplevel.hpp"

#include <algorithm>

namespace tessera::compositor {

LayerSurface::LayerSurface(Server& server, LayerShell& shell, wlr_layer_surface_v1* layer)
    : server_(server), shell_(shell), layer_(layer),
      scene_(wlr_scene_layer_surface_v1_create(tree_for_layer(layer->pending.layer), layer)),
      current_layer_(layer->pending.layer) {
    layer->data = scene_->tree; // popups attach here
    on_commit_.connect(&layer->surface->events.commit, [this](void*) { handle_commit(); });
    on_map_.connect(&layer->surface->events.map, [this](void*) {
        arrange_output(); // its exclusive zone counts from now on
        if (layer_->current.keyboard_interactive !=
            ZWLR_LAYER_SURFACE_V1_KEYBOARD_INTERACTIVITY_NONE) {
            server_.seat().focus_surface(layer_->surface);
        }
        server_.seat().rebase_pointer();
    });
    on_unmap_.connect(&layer->surface->events.unmap, [this](void*) {
        arrange_output(); // its exclusive zone is free again
        if (server_.seat().wlr()->keyboard_state.focused_surface == layer_->surface) {
            server_.focus_top_toplevel();
        }
        server_.seat().rebase_pointer();
    });
    on_destroy_.connect(&layer->events.destroy, [this](void*) { shell_.remove(this); });
}

wlr_scene_tree* LayerSurface::tree_for_layer(zwlr_layer_shell_v1_layer layer) const {
    const auto& layers = server_.layers();
    switch (layer) {
    case ZWLR_LAYER_SHELL_V1_LAYER_BACKGROUND:
        return layers.background;
    case ZWLR_LAYER_SHELL_V1_LAYER_BOTTOM:
        return layers.bottom;
    case ZWLR_LAYER_SHELL_V1_LAYER_TOP:
        return layers.top;
    case ZWLR_LAYER_SHELL_V1_LAYER_OVERLAY:
    default:
        return layers.overlay;
    }
}

void LayerSurface::handle_commit() {
    if (!layer_->initialized && !layer_->initial_commit) {
        return;
    }
    use_nearest_filter_for_solid_colors(&scene_->tree->node);
    if (layer_->current.layer != current_layer_) {
        current_layer_ = layer_->current.layer;
        wlr_scene_node_reparent(&scene_->tree->node, tree_for_layer(current_layer_));
    }
    if (layer_->initial_commit || layer_->current.committed != 0) {
        arrange_output();
        if (layer_->surface->mapped) {
            server_.seat().rebase_pointer(); // moved or resized under a still pointer
        }
    }
    if (layer_->surface->mapped &&
        (layer_->current.committed & WLR_LAYER_SURFACE_V1_STATE_KEYBOARD_INTERACTIVITY)) {
        auto& seat = server_.seat();
        bool has_keyboard = seat.wlr()->keyboard_state.focused_surface == layer_->surface;
        if (layer_->current.keyboard_interactive ==
            ZWLR_LAYER_SURFACE_V1_KEYBOARD_INTERACTIVITY_EXCLUSIVE) {
            seat.focus_surface(layer_->surface);
        } else if (layer_->current.keyboard_interactive ==
                       ZWLR_LAYER_SURFACE_V1_KEYBOARD_INTERACTIVITY_NONE &&
                   has_keyboard) {
            server_.focus_top_toplevel();
        }
    }
}

void LayerSurface::arrange_output() {
    if (auto* output = server_.find_output(layer_->output)) {
        shell_.arrange(*output);
    }
}

LayerShell::LayerShell(Server& server, uint32_t version)
    : server_(server), shell_(wlr_layer_shell_v1_create(server.display(), version)) {
    on_new_surface_.connect(&shell_->events.new_surface, [this](wlr_layer_surface_v1* layer) {
        if (!layer->output) {
            const auto* cursor = server_.seat().cursor();
            auto* output = server_.output_at(cursor->x, cursor->y);
            if (!output) {
                log::warn(comp_log, "layer surface '{}' with no output to go on: closing it",
                          layer->namespace_ ? layer->namespace_ : "");
                wlr_layer_surface_v1_destroy(layer);
                return;
            }
            layer->output = output->wlr();
        }
        surfaces_.push_back(std::make_unique<LayerSurface>(server_, *this, layer));
    });
}

LayerShell::~LayerShell() = default;

void LayerShell::remove(LayerSurface* surface) {
    std::erase_if(surfaces_, [&](const auto& s) { return s.get() == surface; });
}

void LayerShell::close_on(wlr_output* output) {
    std::vector<wlr_layer_surface_v1*> doomed;
    for (const auto& surface : surfaces_) {
        if (surface->wlr()->output == output) {
            doomed.push_back(surface->wlr());
        }
    }
    for (auto* layer : doomed) {
        wlr_layer_surface_v1_destroy(layer);
    }
}

wlr_surface* LayerShell::exclusive_keyboard_surface() const {
    for (auto layer : {ZWLR_LAYER_SHELL_V1_LAYER_OVERLAY, ZWLR_LAYER_SHELL_V1_LAYER_TOP}) {
        for (const auto& surface : surfaces_) {
            const auto* wlr = surface->wlr();
            if (wlr->surface->mapped && wlr->current.layer == layer &&
                wlr->current.keyboard_interactive ==
                    ZWLR_LAYER_SURFACE_V1_KEYBOARD_INTERACTIVITY_EXCLUSIVE) {
                return wlr->surface;
            }
        }
    }
    return nullptr;
}

void LayerShell::arrange(Output& output) {
    const wlr_box full = output.layout_box();
    wlr_box usable = full;
    // Surfaces that claim an exclusive zone first, upper layers before lower ones; then every
    // other surface in what is left, whenever it came (a panel that maps later still pushes
    // the others aside).
    for (bool claiming : {true, false}) {
        for (auto layer :
             {ZWLR_LAYER_SHELL_V1_LAYER_OVERLAY, ZWLR_LAYER_SHELL_V1_LAYER_TOP,
              ZWLR_LAYER_SHELL_V1_LAYER_BOTTOM, ZWLR_LAYER_SHELL_V1_LAYER_BACKGROUND}) {
            for (const auto& surface : surfaces_) {
                auto* wlr = surface->wlr();
                bool configurable = wlr->initialized || wlr->initial_commit;
                if (wlr->output == output.wlr() && configurable && wlr->current.layer == layer &&
                    (wlr->current.exclusive_zone > 0) == claiming) {
                    wlr_scene_layer_surface_v1_configure(surface->scene(), &full, &usable);
                }
            }
        }
    }
    const wlr_box before = output.usable_area();
    bool changed = !wlr_box_equal(&usable, &before);
    output.set_usable_area(usable);
    if (changed) {
        for (auto* toplevel : server_.stacking()) {
            toplevel->follow_usable_area(output);
        }
    }
}

} // namespace tessera::compositor
