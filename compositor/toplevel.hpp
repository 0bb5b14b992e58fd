#pragma once

#include "listener.hpp"
#include "scene_tag.hpp"
#include "wlr.hpp"
#include "zone_content.hpp"

#include <optional>
#include <string_view>

namespace tessera::compositor {

class Output;
class Server;
class XdgShell;

// An xdg toplevel window: its scene tree, placement, stacking and window-state requests. With a
// layout it is zone content: a zone of the layout shows it at the zone's size.
class Toplevel : public ZoneContent {
public:
    Toplevel(Server& server, XdgShell& shell, wlr_xdg_toplevel* xdg);
    ~Toplevel() override;
    Toplevel(const Toplevel&) = delete;
    Toplevel& operator=(const Toplevel&) = delete;

    [[nodiscard]] wlr_xdg_toplevel* xdg() const { return xdg_; }
    [[nodiscard]] wlr_surface* surface() const override { return xdg_->base->surface; }
    [[nodiscard]] wlr_scene_tree* tree() const { return tree_; }
    [[nodiscard]] bool mapped() const { return mapped_; }
    [[nodiscard]] std::string_view app_id() const { return xdg_->app_id ? xdg_->app_id : ""; }
    [[nodiscard]] std::string_view title() const { return xdg_->title ? xdg_->title : ""; }
    // Position of the window geometry's top-left corner in layout coordinates.
    [[nodiscard]] int x() const;
    [[nodiscard]] int y() const;
    // Window geometry (from xdg_surface.set_window_geometry) in layout coordinates.
    [[nodiscard]] wlr_box geometry() const;

    // ZoneContent
    ivi::ContentIdentity identity() const override;
    std::string describe() const override;
    wlr_scene_tree* content_tree() const override { return tree_; }
    wlr_box content_box() const override;
    bool ready() const override { return mapped_; }
    void configure_size(int width, int height) override;

    // Server-side decorations (none drawn) for windows in zones, the client's own otherwise.
    void set_decoration(wlr_xdg_toplevel_decoration_v1* decoration);

    void move_to(int x, int y);
    void set_activated(bool activated);
    // Asks the client for a new size (0 lets it choose).
    void request_size(int width, int height);
    void close();

    // The output under the window's centre.
    Output* output() const;
    // The usable area of `output` changed (a panel came or went): a maximized window there
    // takes the new one.
    void follow_usable_area(const Output& output);

    // Toplevel that owns a scene node, if any (walks up to the window's tree).
    static Toplevel* from_node(wlr_scene_node* node);
    // Toplevel of an xdg toplevel's surface, if any.
    static Toplevel* from_surface(wlr_surface* surface);

private:
    void handle_commit();
    void handle_map();
    void handle_unmap();
    void place_initially();
    // Keeps the surface where it is on screen when its implicit geometry grows left or up.
    void keep_surface_still();
    void update_decoration_mode();
    // True when a layout zone (not a floating one) manages this window.
    [[nodiscard]] bool in_managed_zone() const;
    // Moves and sizes the window to `box`, remembering where it was; nullopt goes back there.
    void occupy(std::optional<wlr_box> box);
    void set_fullscreen(bool fullscreen);
    // The window's entry in the foreign toplevel list: there while mapped, with its title and
    // app id.
    void publish_foreign_handle();
    void set_maximized(bool maximized);

    Server& server_;
    XdgShell& shell_;
    wlr_xdg_toplevel* xdg_;
    wlr_scene_tree* tree_;
    SceneTag tag_{SceneTag::Kind::toplevel, this};
    wlr_xdg_toplevel_decoration_v1* decoration_ = nullptr;
    wlr_ext_foreign_toplevel_handle_v1* foreign_handle_ = nullptr;
    bool mapped_ = false;
    bool placed_ = false;
    // Geometry to return to when leaving fullscreen or maximized.
    std::optional<wlr_box> restore_box_;
    // The geometry's offset from the surface at the last commit.
    int geometry_x_ = 0, geometry_y_ = 0;

    Listener<void> on_map_;
    Listener<void> on_unmap_;
    Listener<void> on_commit_;
    Listener<void> on_destroy_;
    Listener<wlr_xdg_toplevel_move_event> on_request_move_;
    Listener<wlr_xdg_toplevel_resize_event> on_request_resize_;
    Listener<void> on_request_maximize_;
    Listener<void> on_request_fullscreen_;
    Listener<void> on_set_app_id_;
    Listener<void> on_set_title_;
    Listener<void> on_decoration_request_;
    Listener<void> on_decoration_destroy_;
};

} // namespace tessera::compositor
