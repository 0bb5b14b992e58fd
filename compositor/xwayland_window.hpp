#pragma once

#include "listener.hpp"
#include "scene_tag.hpp"
#include "wlr.hpp"
#include "zone_content.hpp"

#include <string_view>

namespace tessera::compositor {

class Server;
class Xwayland;

// An X11 window through Xwayland. A managed window is handled like an xdg window: zone content
// matched by its WM_CLASS class as the app id when there is a layout, placed in the middle of
// the output otherwise, focused when mapped or clicked. An override-redirect window (menu,
// tooltip) is drawn where X placed it, above the windows, and takes the keyboard only when it
// asks for it.
class XwaylandWindow : public ZoneContent {
public:
    XwaylandWindow(Server& server, Xwayland& xwayland, wlr_xwayland_surface* xsurface);
    ~XwaylandWindow() override;
    XwaylandWindow(const XwaylandWindow&) = delete;
    XwaylandWindow& operator=(const XwaylandWindow&) = delete;

    [[nodiscard]] wlr_xwayland_surface* xsurface() const { return xsurface_; }
    [[nodiscard]] bool override_redirect() const { return xsurface_->override_redirect; }
    [[nodiscard]] std::string_view x11_class() const {
        return xsurface_->class_ ? xsurface_->class_ : "";
    }
    [[nodiscard]] wlr_scene_tree* tree() const { return tree_; }
    void set_activated(bool activated);
    // Raises it above the other windows, for X and in the scene.
    void raise();

    // ZoneContent
    ivi::ContentIdentity identity() const override;
    std::string describe() const override;
    wlr_scene_tree* content_tree() const override { return tree_; }
    wlr_surface* surface() const override { return xsurface_->surface; }
    wlr_box content_box() const override;
    bool ready() const override { return mapped_; }
    void configure_size(int width, int height) override;
    void placed() override;

    // The X11 window that owns a scene node, if any.
    static XwaylandWindow* from_node(wlr_scene_node* node);

private:
    void handle_map();
    void handle_unmap();
    void handle_request_configure(const wlr_xwayland_surface_configure_event& event);
    // Tells X where the window is in the layout (X clients place their menus from it).
    void configure_at(int x, int y, int width, int height);

    Server& server_;
    Xwayland& xwayland_;
    wlr_xwayland_surface* xsurface_;
    wlr_scene_tree* tree_ = nullptr; // while mapped
    SceneTag tag_{SceneTag::Kind::xwayland, this};
    bool mapped_ = false;

    Listener<void> on_destroy_;
    Listener<void> on_associate_;
    Listener<void> on_dissociate_;
    Listener<void> on_map_;
    Listener<void> on_unmap_;
    Listener<void> on_commit_;
    Listener<wlr_xwayland_surface_configure_event> on_request_configure_;
    Listener<void> on_request_activate_;
    Listener<void> on_set_geometry_;
};

} // namespace tessera::compositor
