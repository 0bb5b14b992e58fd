#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <memory>
#include <vector>

namespace tessera::compositor {

class Output;
class Server;
class LayerShell;

// A layer-shell surface (panel, wallpaper, notification) on one output.
class LayerSurface {
public:
    LayerSurface(Server& server, LayerShell& shell, wlr_layer_surface_v1* layer);
    LayerSurface(const LayerSurface&) = delete;
    LayerSurface& operator=(const LayerSurface&) = delete;

    [[nodiscard]] wlr_layer_surface_v1* wlr() const { return layer_; }
    [[nodiscard]] wlr_scene_layer_surface_v1* scene() const { return scene_; }

private:
    wlr_scene_tree* tree_for_layer(zwlr_layer_shell_v1_layer layer) const;
    void handle_commit();
    void arrange_output();

    Server& server_;
    LayerShell& shell_;
    wlr_layer_surface_v1* layer_;
    wlr_scene_layer_surface_v1* scene_;
    zwlr_layer_shell_v1_layer current_layer_;
    Listener<void> on_commit_;
    Listener<void> on_map_;
    Listener<void> on_unmap_;
    Listener<void> on_destroy_;
};

class LayerShell {
public:
    LayerShell(Server& server, uint32_t version);
    ~LayerShell();
    LayerShell(const LayerShell&) = delete;
    LayerShell& operator=(const LayerShell&) = delete;

    // Places the output's layer surfaces and computes its usable area.
    void arrange(Output& output);
    // Closes the surfaces on an output that is going away.
    void close_on(wlr_output* output);
    void remove(LayerSurface* surface);
    // A mapped top or overlay surface that asked for the keyboard exclusively (a launcher, a
    // locker of old): nothing else may take it meanwhile. Null when there is none.
    [[nodiscard]] wlr_surface* exclusive_keyboard_surface() const;

private:
    Server& server_;
    wlr_layer_shell_v1* shell_;
    std::vector<std::unique_ptr<LayerSurface>> surfaces_;
    Listener<wlr_layer_surface_v1> on_new_surface_;
};

} // namespace tessera::compositor
