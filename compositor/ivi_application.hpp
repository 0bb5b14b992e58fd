#pragma once

#include "listener.hpp"
#include "wlr.hpp"
#include "zone_content.hpp"

#include <map>
#include <memory>

namespace tessera::compositor {

class IviApplication;
class Server;

// A wl_surface with the ivi_surface role: shown in the zone its ivi id is assigned to, and told
// the zone's size with ivi_surface.configure.
class IviSurface : public ZoneContent {
public:
    IviSurface(Server& server, IviApplication& app, wlr_surface* surface, uint32_t ivi_id,
               wl_resource* resource);
    ~IviSurface() override;
    IviSurface(const IviSurface&) = delete;
    IviSurface& operator=(const IviSurface&) = delete;

    [[nodiscard]] uint32_t ivi_id() const { return ivi_id_; }
    [[nodiscard]] IviApplication& application() const { return app_; }

    ivi::ContentIdentity identity() const override;
    std::string describe() const override;
    wlr_scene_tree* content_tree() const override { return tree_; }
    wlr_surface* surface() const override { return surface_; }
    wlr_box content_box() const override;
    bool ready() const override { return surface_->mapped; }
    void configure_size(int width, int height) override;

private:
    void handle_commit();
    void handle_map();
    void handle_unmap();

    Server& server_;
    IviApplication& app_;
    wlr_surface* surface_;
    uint32_t ivi_id_;
    wl_resource* resource_;
    wlr_scene_tree* tree_;
    int configured_width_ = -1, configured_height_ = -1;
    Listener<void> on_commit_;
    Listener<void> on_map_;
    Listener<void> on_unmap_;
};

// The ivi_application global: gives surfaces the ivi_surface role with a numeric id. An id
// in use is a protocol error for the client that asks for it again.
class IviApplication {
public:
    explicit IviApplication(Server& server);
    ~IviApplication();
    IviApplication(const IviApplication&) = delete;
    IviApplication& operator=(const IviApplication&) = delete;

    void create_surface(wl_resource* app_resource, uint32_t ivi_id, wlr_surface* surface,
                        uint32_t id);
    void destroy_surface(IviSurface* surface);
    [[nodiscard]] size_t surface_count() const { return surfaces_.size(); }

private:
    Server& server_;
    wl_global* global_;
    std::map<uint32_t, std::unique_ptr<IviSurface>> surfaces_; // by ivi id
};

} // namespace tessera::compositor
