#pragma once

#include "health_events.hpp"
#include "ivi/layout.hpp"
#include "listener.hpp"
#include "util/options.hpp"
#include "wlr.hpp"

#include <expected>
#include <list>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace tessera::compositor {

class ControlCommands;
class ControlSocket;
class DrmLease;
class GammaControl;
class Guests;
class Idle;
class IviApplication;
class LayerShell;
class Output;
class OutputManagement;
class OutputPower;
class ScanoutFeedback;
class SecurityContext;
class Seat;
class SessionLock;
class SurfaceHints;
class Toplevel;
class XdgActivation;
class XdgShell;
class Xwayland;
class ZoneScene;

// Scene trees from bottom to top. Layer-shell surfaces go to the layer of the same name.
struct SceneLayers {
    wlr_scene_tree* backdrop = nullptr; // one solid colour rectangle per output
    wlr_scene_tree* background = nullptr;
    wlr_scene_tree* bottom = nullptr;
    wlr_scene_tree* zones = nullptr; // a tree per layout zone
    wlr_scene_tree* toplevels = nullptr;
    wlr_scene_tree* top = nullptr;
    wlr_scene_tree* overlay = nullptr;
    wlr_scene_tree* lock = nullptr; // the session lock: a blank per output, the locker's surfaces
};

// The compositor: the Wayland display, the wlroots backend, renderer and scene, and the objects
// that mirror outputs, input devices and client surfaces. One per process (tests create one
// in-process).
class Server {
public:
    // Without a layout, windows float freely on the outputs like on a desktop.
    static std::expected<std::unique_ptr<Server>, std::string>
    create(const Options& options, std::optional<ivi::Layout> layout = std::nullopt);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Starts the backend and listens on the socket. Outputs appear from here on.
    std::expected<void, std::string> start();
    void run();
    void terminate();

    [[nodiscard]] const std::string& socket_name() const { return socket_name_; }
    // Path of the control socket tessera-ctl connects to (exported as TESSERA_SOCKET).
    [[nodiscard]] const std::string& control_socket_path() const;
    [[nodiscard]] wl_display* display() const { return display_; }
    [[nodiscard]] wl_event_loop* event_loop() const { return loop_; }
    [[nodiscard]] wlr_backend* backend() const { return backend_; }
    [[nodiscard]] wlr_session* session() const { return session_; }
    [[nodiscard]] wlr_renderer* renderer() const { return renderer_; }
    // The renderer's GPU as a render node path; empty for a renderer without one (pixman).
    [[nodiscard]] std::string render_node() const;
    [[nodiscard]] wlr_allocator* allocator() const { return allocator_; }
    [[nodiscard]] wlr_scene* scene() const { return scene_; }
    [[nodiscard]] wlr_output_layout* output_layout() const { return output_layout_; }
    [[nodiscard]] wlr_scene_output_layout* scene_layout() const { return scene_layout_; }
    [[nodiscard]] const SceneLayers& layers() const { return layers_; }
    [[nodiscard]] const Options& options() const { return options_; }
    [[nodiscard]] Seat& seat() { return *seat_; }
    [[nodiscard]] LayerShell& layer_shell() { return *layer_shell_; }
    [[nodiscard]] SessionLock* session_lock() const { return session_lock_.get(); }
    [[nodiscard]] Idle* idle() const { return idle_.get(); }
    [[nodiscard]] SecurityContext* security_context() const { return security_context_.get(); }
    [[nodiscard]] GammaControl& gamma_control() const { return *gamma_control_; }
    [[nodiscard]] const SurfaceHints& surface_hints() const { return *surface_hints_; }
    [[nodiscard]] const XdgActivation& xdg_activation() const { return *xdg_activation_; }
    // Null with --no-xwayland.
    [[nodiscard]] Xwayland* xwayland() const { return xwayland_.get(); }
    // The layout's zones; null when running without a layout.
    [[nodiscard]] ZoneScene* zones() const { return zones_.get(); }
    // The layout's virtual machines; null when running without a layout.
    [[nodiscard]] Guests* guests() const { return guests_.get(); }
    // Scanout tranches for native surfaces; null when the renderer cannot import dma-bufs
    // (no linux-dmabuf global then).
    [[nodiscard]] ScanoutFeedback* scanout_feedback() const { return scanout_feedback_.get(); }

    // Health events for the control socket's watchers.
    [[nodiscard]] HealthEvents& health() { return health_; }

    // Outputs by wlroots output, in creation order.
    [[nodiscard]] const std::vector<std::unique_ptr<Output>>& outputs() const { return outputs_; }
    Output* find_output(wlr_output* output) const;
    // Whether a screencopy or export-dmabuf client waits for this output's next frame: both
    // read the composited buffer, which lacks what hardware planes show.
    [[nodiscard]] bool capture_pending(const wlr_output* output) const;
    Output* find_output(std::string_view name) const;
    // The output at a layout point, else the first one; null without outputs.
    Output* output_at(double lx, double ly) const;
    void remove_output(Output* output);
    // The headless backend only (tests, demos): outputs plugged and unplugged at run time.
    // The new output's name.
    std::expected<std::string, std::string> add_headless_output(const HeadlessOutputSpec& spec);
    std::expected<void, std::string> destroy_headless_output(std::string_view name);
    static constexpr size_t max_outputs = 16;

    // Mapped toplevels, top-most first.
    [[nodiscard]] const std::list<Toplevel*>& stacking() const { return stacking_; }
    void raise(Toplevel* toplevel);
    void unstack(Toplevel* toplevel);
    void focus_top_toplevel();

    // Output layout changed (added, removed, moved, resized): relayout what depends on it.
    void arrange_outputs();

private:
    explicit Server(const Options& options);
    std::expected<void, std::string> init(std::optional<ivi::Layout> layout);
    void handle_new_output(wlr_output* output);
    void handle_new_input(wlr_input_device* device);

    Options options_;
    HealthEvents health_; // before everything that publishes
    std::string socket_name_;
    wl_display* display_ = nullptr;
    wl_event_loop* loop_ = nullptr;
    wlr_session* session_ = nullptr;
    wlr_backend* backend_ = nullptr;
    wlr_renderer* renderer_ = nullptr;
    wlr_allocator* allocator_ = nullptr;
    wlr_scene* scene_ = nullptr;
    wlr_output_layout* output_layout_ = nullptr;
    wlr_screencopy_manager_v1* screencopy_ = nullptr;
    wlr_export_dmabuf_manager_v1* export_dmabuf_ = nullptr;
    wlr_scene_output_layout* scene_layout_ = nullptr;
    SceneLayers layers_;
    // Requested mode of the headless output being added, applied when it appears.
    std::optional<HeadlessOutputSpec> pending_headless_spec_;

    std::unique_ptr<ScanoutFeedback> scanout_feedback_;
    std::vector<std::unique_ptr<Output>> outputs_;
    std::list<Toplevel*> stacking_;
    std::unique_ptr<Seat> seat_;
    std::unique_ptr<XdgShell> xdg_shell_;
    std::unique_ptr<LayerShell> layer_shell_;
    std::unique_ptr<OutputManagement> output_management_;
    std::unique_ptr<OutputPower> output_power_;
    std::unique_ptr<GammaControl> gamma_control_;
    std::unique_ptr<SurfaceHints> surface_hints_;
    std::unique_ptr<XdgActivation> xdg_activation_;
    std::unique_ptr<DrmLease> drm_lease_; // DRM backends only
    std::unique_ptr<SecurityContext> security_context_;
    std::unique_ptr<SessionLock> session_lock_;
    std::unique_ptr<Idle> idle_;
    std::unique_ptr<Xwayland> xwayland_;
    std::unique_ptr<IviApplication> ivi_application_;
    std::unique_ptr<ZoneScene> zones_;
    std::unique_ptr<Guests> guests_;
    std::unique_ptr<ControlCommands> control_commands_;
    std::unique_ptr<ControlSocket> control_socket_;

    Listener<wlr_output> on_new_output_;
    Listener<wlr_input_device> on_new_input_;
    Listener<void> on_layout_change_;
};

} // namespace tessera::compositor
