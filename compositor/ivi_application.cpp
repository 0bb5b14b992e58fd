#include "ivi_application.hpp"

#include "ivi-application-protocol.h"
#include "log_scopes.hpp"
#include "output.hpp"
#include "scene_filters.hpp"
#include "server.hpp"
#include "zone_scene.hpp"

#include <format>

namespace tessera::compositor {
namespace {

IviSurface* from_surface(wlr_surface* surface) {
    return surface->role_resource
               ? static_cast<IviSurface*>(wl_resource_get_user_data(surface->role_resource))
               : nullptr;
}

void role_commit(wlr_surface* surface) {
    // Like other shells: a surface is shown from its first buffer on.
    if (wlr_surface_has_buffer(surface)) {
        wlr_surface_map(surface);
    }
}

void role_destroy(wlr_surface* surface);

const wlr_surface_role ivi_surface_role = {
    .name = "ivi_surface",
    .no_object = false,
    .client_commit = nullptr,
    .commit = role_commit,
    .unmap = nullptr,
    .destroy = role_destroy,
};

IviApplication* app_of(wl_resource* resource) {
    return static_cast<IviApplication*>(wl_resource_get_user_data(resource));
}

void handle_surface_destroy_request(wl_client*, wl_resource* resource) {
    wl_resource_destroy(resource);
}

const struct ivi_surface_interface ivi_surface_impl = {
    .destroy = handle_surface_destroy_request,
};

void handle_surface_create(wl_client*, wl_resource* resource, uint32_t ivi_id,
                           wl_resource* surface_resource, uint32_t id) {
    app_of(resource)->create_surface(resource, ivi_id, wlr_surface_from_resource(surface_resource),
                                     id);
}

const struct ivi_application_interface ivi_application_impl = {
    .surface_create = handle_surface_create,
};

void role_destroy(wlr_surface* surface) {
    if (auto* ivi = from_surface(surface)) {
        wl_resource_set_user_data(surface->role_resource, nullptr);
        ivi->application().destroy_surface(ivi);
    }
}

void bind(wl_client* client, void* data, uint32_t version, uint32_t id) {
    auto* resource =
        wl_resource_create(client, &ivi_application_interface, static_cast<int>(version), id);
    if (!resource) {
        wl_client_post_no_memory(client);
        return;
    }
    wl_resource_set_implementation(resource, &ivi_application_impl, data, nullptr);
}

} // namespace

IviApplication::IviApplication(Server& server)
    : server_(server),
      global_(wl_global_create(server.display(), &ivi_application_interface, 1, this, bind)) {}

IviApplication::~IviApplication() {
    surfaces_.clear();
    wl_global_destroy(global_);
}

void IviApplication::create_surface(wl_resource* app_resource, uint32_t ivi_id,
                                    wlr_surface* surface, uint32_t id) {
    if (!wlr_surface_set_role(surface, &ivi_surface_role, app_resource,
                              IVI_APPLICATION_ERROR_ROLE)) {
        return;
    }
    if (surfaces_.contains(ivi_id)) {
        wl_resource_post_error(app_resource, IVI_APPLICATION_ERROR_IVI_ID,
                               "ivi_id %u is already in use", ivi_id);
        return;
    }
    auto* client = wl_resource_get_client(app_resource);
    auto* resource = wl_resource_create(client, &ivi_surface_interface,
                                        wl_resource_get_version(app_resource), id);
    if (!resource) {
        wl_client_post_no_memory(client);
        return;
    }
    auto ivi = std::make_unique<IviSurface>(server_, *this, surface, ivi_id, resource);
    wl_resource_set_implementation(resource, &ivi_surface_impl, ivi.get(), nullptr);
    wlr_surface_set_role_object(surface, resource);
    surfaces_.emplace(ivi_id, std::move(ivi));
    log::debug(ivi_log, "ivi surface {} created", ivi_id);
}

void IviApplication::destroy_surface(IviSurface* surface) {
    std::erase_if(surfaces_, [&](const auto& entry) { return entry.second.get() == surface; });
}

IviSurface::IviSurface(Server& server, IviApplication& app, wlr_surface* surface, uint32_t ivi_id,
                       wl_resource* resource)
    : server_(server), app_(app), surface_(surface), ivi_id_(ivi_id), resource_(resource),
      tree_(wlr_scene_subsurface_tree_create(server.layers().toplevels, surface)) {
    wlr_scene_node_set_enabled(&tree_->node, false);
    on_commit_.connect(&surface->events.commit, [this](void*) { handle_commit(); });
    on_map_.connect(&surface->events.map, [this](void*) { handle_map(); });
    on_unmap_.connect(&surface->events.unmap, [this](void*) { handle_unmap(); });
    // Tell the client its size right away if its zone is known.
    if (auto* zones = server_.zones()) {
        if (const auto* zone = zones->zone_for(*this); zone && !zone->floating) {
            configure_size(zone->rect.width, zone->rect.height);
        }
    }
}

IviSurface::~IviSurface() {
    if (auto* zones = server_.zones()) {
        zones->remove(this);
    }
    wlr_scene_node_destroy(&tree_->node);
}

ivi::ContentIdentity IviSurface::identity() const {
    ivi::ContentIdentity identity;
    identity.ivi_id = ivi_id_;
    return identity;
}

std::string IviSurface::describe() const {
    return std::format("ivi {}", ivi_id_);
}

wlr_box IviSurface::content_box() const {
    return {0, 0, surface_->current.width, surface_->current.height};
}

void IviSurface::configure_size(int width, int height) {
    if (width == configured_width_ && height == configured_height_) {
        return;
    }
    configured_width_ = width;
    configured_height_ = height;
    ivi_surface_send_configure(resource_, width, height);
}

void IviSurface::handle_commit() {
    if (surface_->current.committed & WLR_SURFACE_STATE_BUFFER) {
        count_frame();
    }
    use_nearest_filter_for_solid_colors(&tree_->node);
    if (auto* zones = server_.zones()) {
        zones->content_committed(this);
    }
}

void IviSurface::handle_map() {
    wlr_scene_node_set_enabled(&tree_->node, true);
    if (auto* zones = server_.zones()) {
        zones->add(this);
    } else if (auto* output = server_.output_at(0, 0)) {
        // Without a layout: centred on the first output, like a new window.
        wlr_box area = output->usable_area();
        wlr_scene_node_set_position(&tree_->node,
                                    area.x + (area.width - surface_->current.width) / 2,
                                    area.y + (area.height - surface_->current.height) / 2);
    }
    log::info(ivi_log, "mapped ivi surface {} ({}x{}) in zone '{}'", ivi_id_,
              surface_->current.width, surface_->current.height, zone);
}

void IviSurface::handle_unmap() {
    wlr_scene_node_set_enabled(&tree_->node, false);
    if (auto* zones = server_.zones()) {
        zones->remove(this);
    }
}

} // namespace tessera::compositor
