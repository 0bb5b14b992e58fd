#include "server.hpp"

#include "control_commands.hpp"
#include "control_socket.hpp"
#include "drm_lease.hpp"
#include "gamma_control.hpp"
#include "guest/guests.hpp"
#include "idle.hpp"
#include "ivi_application.hpp"
#include "layer_shell.hpp"
#include "log_scopes.hpp"
#include "output.hpp"
#include "output_management.hpp"
#include "output_power.hpp"
#include "scanout_feedback.hpp"
#include "seat.hpp"
#include "security_context.hpp"
#include "session_lock.hpp"
#include "surface_hints.hpp"
#include "toplevel.hpp"
#include "xdg_activation.hpp"
#include "xdg_shell.hpp"
#include "xwayland.hpp"
#include "zone_scene.hpp"

#include <xf86drm.h>

#include <algorithm>
#include <cstdlib>
#include <format>

namespace tessera::compositor {
namespace {

// Protocol versions offered; the highest wlroots 0.18 implements.
constexpr uint32_t compositor_version = 6;
constexpr uint32_t xdg_shell_version = 6;
constexpr uint32_t layer_shell_version = 4;
constexpr uint32_t linux_dmabuf_version = 5;

} // namespace

Server::Server(const Options& options) : options_(options) {}

std::expected<std::unique_ptr<Server>, std::string>
Server::create(const Options& options, std::optional<ivi::Layout> layout) {
    std::unique_ptr<Server> server(new Server(options));
    if (auto ok = server->init(std::move(layout)); !ok) {
        return std::unexpected(ok.error());
    }
    return server;
}

std::expected<void, std::string> Server::init(std::optional<ivi::Layout> layout) {
    display_ = wl_display_create();
    if (!display_) {
        return std::unexpected("cannot create the Wayland display");
    }
    loop_ = wl_display_get_event_loop(display_);

    if (options_.headless()) {
        backend_ = wlr_headless_backend_create(loop_);
    } else {
        // The DRM backend drives output layers (hardware planes) only through libliftoff, and
        // uses libliftoff only when asked to. WLR_DRM_FORCE_LIBLIFTOFF=0 keeps it off.
        setenv("WLR_DRM_FORCE_LIBLIFTOFF", "1", 0);
        backend_ = wlr_backend_autocreate(loop_, &session_);
    }
    if (!backend_) {
        return std::unexpected(options_.headless()
                                   ? "cannot create the headless backend"
                                   : "cannot create a backend: no DRM device with a seat "
                                     "(logind or seatd), and no WAYLAND_DISPLAY or DISPLAY to "
                                     "nest in; use --headless WxH to run without a display");
    }

    renderer_ = wlr_renderer_autocreate(backend_);
    if (!renderer_) {
        return std::unexpected("cannot create a renderer");
    }
    wlr_renderer_init_wl_shm(renderer_, display_);
    if (wlr_renderer_get_texture_formats(renderer_, WLR_BUFFER_CAP_DMABUF)) {
        if (auto* linux_dmabuf = wlr_linux_dmabuf_v1_create_with_renderer(
                display_, linux_dmabuf_version, renderer_)) {
            scanout_feedback_ = std::make_unique<ScanoutFeedback>(linux_dmabuf, renderer_);
            log::info(comp_log, "linux-dmabuf enabled");
        }
    } else {
        log::info(comp_log, "linux-dmabuf not offered: the renderer cannot import dma-bufs");
    }

    allocator_ = wlr_allocator_autocreate(backend_, renderer_);
    if (!allocator_) {
        return std::unexpected("cannot create a buffer allocator");
    }

    auto* compositor = wlr_compositor_create(display_, compositor_version, renderer_);
    wlr_subcompositor_create(display_);
    wlr_data_device_manager_create(display_);
    wlr_primary_selection_v1_device_manager_create(display_);
    wlr_viewporter_create(display_);
    wlr_single_pixel_buffer_manager_v1_create(display_);
    wlr_alpha_modifier_v1_create(display_); // the scene multiplies the surface's opacity
    wlr_fractional_scale_manager_v1_create(display_, 1);
    wlr_presentation_create(display_, backend_);
    screencopy_ = wlr_screencopy_manager_v1_create(display_);
    export_dmabuf_ = wlr_export_dmabuf_manager_v1_create(display_);

    output_layout_ = wlr_output_layout_create(display_);
    wlr_xdg_output_manager_v1_create(display_, output_layout_);
    scene_ = wlr_scene_create();
    scene_layout_ = wlr_scene_attach_output_layout(scene_, output_layout_);
    layers_.backdrop = wlr_scene_tree_create(&scene_->tree);
    layers_.background = wlr_scene_tree_create(&scene_->tree);
    layers_.bottom = wlr_scene_tree_create(&scene_->tree);
    layers_.zones = wlr_scene_tree_create(&scene_->tree);
    layers_.toplevels = wlr_scene_tree_create(&scene_->tree);
    layers_.top = wlr_scene_tree_create(&scene_->tree);
    layers_.overlay = wlr_scene_tree_create(&scene_->tree);
    layers_.lock = wlr_scene_tree_create(&scene_->tree);

    // First, so that its filter hides the privileged globals created after it too.
    security_context_ = std::make_unique<SecurityContext>(display_);
    seat_ = std::make_unique<Seat>(*this);
    session_lock_ = std::make_unique<SessionLock>(*this, layers_.lock);
    idle_ = std::make_unique<Idle>(*this);
    if (options_.xwayland) {
        xwayland_ = std::make_unique<Xwayland>(*this, compositor);
    }
    ivi_application_ = std::make_unique<IviApplication>(*this);
    xdg_shell_ = std::make_unique<XdgShell>(*this, xdg_shell_version);
    layer_shell_ = std::make_unique<LayerShell>(*this, layer_shell_version);
    output_management_ = std::make_unique<OutputManagement>(*this);
    output_power_ = std::make_unique<OutputPower>(*this);
    gamma_control_ = std::make_unique<GammaControl>(*this);
    surface_hints_ = std::make_unique<SurfaceHints>(display_);
    xdg_activation_ = std::make_unique<XdgActivation>(*this);
    if (!options_.headless()) {
        drm_lease_ = DrmLease::create(*this);
    }
    if (layout) {
        log::info(ivi_log, "layout {}: {} zones, {} profiles, {} rules", layout->source,
                  layout->zones.size(), layout->profiles.size(), layout->rules.size());
        zones_ = std::make_unique<ZoneScene>(*this, std::move(*layout));
    }

    on_new_output_.connect(&backend_->events.new_output,
                           [this](wlr_output* output) { handle_new_output(output); });
    on_new_input_.connect(&backend_->events.new_input,
                          [this](wlr_input_device* device) { handle_new_input(device); });
    on_layout_change_.connect(&output_layout_->events.change, [this](void*) { arrange_outputs(); });
    return {};
}

Server::~Server() {
    if (!display_) {
        return;
    }
    // Clients first, so every surface-mirroring object goes while the scene still exists; then
    // the backend, which takes outputs and input devices (and their mirrors) with it.
    control_socket_.reset();
    guests_.reset();
    xwayland_.reset(); // its windows, then the X server and its Wayland client
    wl_display_destroy_clients(display_);
    idle_.reset();
    session_lock_.reset();
    ivi_application_.reset();
    xdg_shell_.reset();
    layer_shell_.reset();
    output_management_.reset();
    output_power_.reset();
    gamma_control_.reset();
    xdg_activation_.reset();
    drm_lease_.reset();
    on_new_output_.disconnect();
    on_new_input_.disconnect();
    on_layout_change_.disconnect();
    if (backend_) {
        wlr_backend_destroy(backend_);
    }
    seat_.reset();
    zones_.reset();
    if (scene_) {
        wlr_scene_node_destroy(&scene_->tree.node);
    }
    if (allocator_) {
        wlr_allocator_destroy(allocator_);
    }
    if (renderer_) {
        wlr_renderer_destroy(renderer_);
    }
    wl_display_destroy(display_);
}

std::expected<void, std::string> Server::start() {
    if (options_.socket_name.empty()) {
        const char* name = wl_display_add_socket_auto(display_);
        if (!name) {
            return std::unexpected("cannot open a Wayland socket in $XDG_RUNTIME_DIR");
        }
        socket_name_ = name;
    } else {
        if (wl_display_add_socket(display_, options_.socket_name.c_str()) != 0) {
            return std::unexpected(
                std::format("cannot listen on socket '{}' in $XDG_RUNTIME_DIR (in use?)",
                            options_.socket_name));
        }
        socket_name_ = options_.socket_name;
    }
    if (!wlr_backend_start(backend_)) {
        return std::unexpected("cannot start the backend");
    }
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    control_commands_ = std::make_unique<ControlCommands>(*this);
    auto control = ControlSocket::create(
        loop_, std::format("{}/tessera.{}.sock", runtime_dir ? runtime_dir : "/tmp", socket_name_),
        [this](std::string_view request, ControlSocket::Reply reply) {
            control_commands_->handle(request, std::move(reply));
        });
    if (!control) {
        return std::unexpected(control.error());
    }
    control_socket_ = std::move(*control);
    if (zones_) {
        guests_ = std::make_unique<Guests>(*this);
        guests_->apply(zones_->model().layout().guests);
    }
    // Added after the start so that they appear, and are laid out, in command-line order.
    for (const auto& spec : options_.headless_outputs) {
        // new_output is emitted from inside wlr_headless_add_output.
        pending_headless_spec_ = spec;
        wlr_headless_add_output(backend_, spec.width, spec.height);
        pending_headless_spec_.reset();
    }
    return {};
}

void Server::run() {
    wl_display_run(display_);
}

std::string Server::render_node() const {
    int fd = wlr_renderer_get_drm_fd(renderer_);
    if (fd < 0) {
        return {};
    }
    char* name = drmGetRenderDeviceNameFromFd(fd);
    if (name == nullptr) {
        return {};
    }
    std::string node = name;
    std::free(name);
    return node;
}

const std::string& Server::control_socket_path() const {
    static const std::string none;
    return control_socket_ ? control_socket_->path() : none;
}

void Server::terminate() {
    wl_display_terminate(display_);
}

void Server::handle_new_output(wlr_output* output) {
    if (output->non_desktop) {
        // A VR headset or the like: not a place for windows; a VR runtime may lease it.
        if (!drm_lease_ || !drm_lease_->offer(output)) {
            log::info(comp_log, "output {}: non-desktop, left dark", output->name);
        }
        return;
    }
    auto created = Output::create(*this, output, pending_headless_spec_);
    if (!created) {
        log::error(comp_log, "output {}: {}", output->name, created.error());
        return;
    }
    outputs_.push_back(std::move(*created));
    const auto& added = *outputs_.back();
    health_.publish(
        "output-added",
        {{"output", added.name()}, {"width", output->width}, {"height", output->height}});
    arrange_outputs();
}

void Server::handle_new_input(wlr_input_device* device) {
    seat_->add_device(device);
}

bool Server::capture_pending(const wlr_output* output) const {
    // A screencopy frame is listed from its creation and waits for a commit once the client
    // gave it a buffer; an export-dmabuf frame stays listed after its commit, waiting while
    // connected to the output's commit signal.
    wlr_screencopy_frame_v1* copy = nullptr;
    wl_list_for_each(copy, &screencopy_->frames, link) {
        if (copy->output == output && copy->buffer) {
            return true;
        }
    }
    wlr_export_dmabuf_frame_v1* export_frame = nullptr;
    wl_list_for_each(export_frame, &export_dmabuf_->frames, link) {
        if (export_frame->output == output && !wl_list_empty(&export_frame->output_commit.link)) {
            return true;
        }
    }
    return false;
}

Output* Server::find_output(wlr_output* output) const {
    auto it = std::ranges::find_if(outputs_, [&](const auto& o) { return o->wlr() == output; });
    return it == outputs_.end() ? nullptr : it->get();
}

Output* Server::find_output(std::string_view name) const {
    auto it = std::ranges::find_if(outputs_, [&](const auto& o) { return o->name() == name; });
    return it == outputs_.end() ? nullptr : it->get();
}

Output* Server::output_at(double lx, double ly) const {
    if (auto* wlr_out = wlr_output_layout_output_at(output_layout_, lx, ly)) {
        if (auto* output = find_output(wlr_out)) {
            return output;
        }
    }
    for (const auto& output : outputs_) {
        if (output->enabled()) {
            return output.get();
        }
    }
    return nullptr;
}

void Server::remove_output(Output* output) {
    if (layer_shell_) {
        layer_shell_->close_on(output->wlr());
    }
    std::string name(output->name());
    std::erase_if(outputs_, [&](const auto& o) { return o.get() == output; });
    arrange_outputs();
    health_.publish("output-removed", {{"output", name}});
}

std::expected<std::string, std::string>
Server::add_headless_output(const HeadlessOutputSpec& spec) {
    if (!wlr_backend_is_headless(backend_)) {
        return std::unexpected("outputs are only added at run time on the headless backend");
    }
    if (outputs_.size() >= max_outputs) {
        return std::unexpected(std::format("there are {} outputs already", outputs_.size()));
    }
    // new_output is emitted from inside wlr_headless_add_output.
    pending_headless_spec_ = spec;
    auto* output = wlr_headless_add_output(backend_, static_cast<unsigned>(spec.width),
                                           static_cast<unsigned>(spec.height));
    pending_headless_spec_.reset();
    if (!output || !find_output(output)) {
        return std::unexpected("the output could not be created");
    }
    return std::string(output->name);
}

std::expected<void, std::string> Server::destroy_headless_output(std::string_view name) {
    auto* output = find_output(name);
    if (!output) {
        return std::unexpected(std::format("no output named '{}'", name));
    }
    if (!wlr_output_is_headless(output->wlr())) {
        return std::unexpected(std::format("{} is not a headless output", name));
    }
    wlr_output_destroy(output->wlr()); // removes it (Output's destroy listener)
    return {};
}

void Server::raise(Toplevel* toplevel) {
    unstack(toplevel);
    stacking_.push_front(toplevel);
}

void Server::unstack(Toplevel* toplevel) {
    stacking_.remove(toplevel);
}

void Server::focus_top_toplevel() {
    if (stacking_.empty()) {
        seat_->focus_surface(nullptr);
    } else {
        seat_->focus_toplevel(stacking_.front());
    }
}

void Server::arrange_outputs() {
    for (const auto& output : outputs_) {
        output->arrange();
        if (layer_shell_) {
            layer_shell_->arrange(*output);
        }
    }
    if (zones_) {
        zones_->outputs_changed();
    }
    if (session_lock_) {
        session_lock_->outputs_changed();
    }
    if (output_management_) {
        output_management_->publish();
    }
}

} // namespace tessera::compositor
