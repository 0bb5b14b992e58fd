#include "guest.hpp"

#include "log_scopes.hpp"
#include "gpu-backend/virtio_gpu/udmabuf.hpp"
#include "output.hpp"
#include "server.hpp"
#include "util/unix_socket.hpp"
#include "zone_scene.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <cstdlib>
#include <format>
#include <utility>

namespace tessera::compositor {

namespace {

// Offered to a scanout whose zone is hidden or absent; the guest still runs.
constexpr gpu::ScanoutConfig unplaced_scanout{1024, 768, 60'000};

// tessera-device: $TESSERA_DEVICE_PROGRAM, else beside tessera's executable, else in the build
// tree tessera was built in, else where it is installed.
std::string device_program() {
    if (const char* program = std::getenv("TESSERA_DEVICE_PROGRAM"); program && *program) {
        return program;
    }
    std::error_code error;
    auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) {
        auto beside = self.parent_path() / "tessera-device";
        if (access(beside.c_str(), X_OK) == 0) {
            return beside;
        }
    }
    if (access(TESSERA_DEVICE_BUILD_PATH, X_OK) == 0) {
        return TESSERA_DEVICE_BUILD_PATH;
    }
    return TESSERA_DEVICE_INSTALLED_PATH;
}

gpu::DeviceStats device_stats_of(const gpu::channel::Stats& s) {
    return {s.commands,        s.errors,          s.flushes,   s.transfers,      s.transfer_bytes,
            s.cursor_commands, s.deferred_unrefs, s.blobs,     s.fenced_frames,  s.submits,
            s.submit_bytes,    s.fenced_3d,       s.readbacks, s.readback_bytes, s.exports};
}

gpu::BackendStats backend_stats_of(const gpu::channel::Stats& s) {
    return {s.requests, s.device_failures, s.resets};
}

void add_stats(gpu::DeviceStats& sum, const gpu::DeviceStats& more) {
    sum.commands += more.commands;
    sum.errors += more.errors;
    sum.flushes += more.flushes;
    sum.transfers += more.transfers;
    sum.transfer_bytes += more.transfer_bytes;
    sum.cursor_commands += more.cursor_commands;
    sum.deferred_unrefs += more.deferred_unrefs;
    sum.blobs += more.blobs;
    sum.fenced_frames += more.fenced_frames;
    sum.submits += more.submits;
    sum.submit_bytes += more.submit_bytes;
    sum.fenced_3d += more.fenced_3d;
    sum.readbacks += more.readbacks;
    sum.readback_bytes += more.readback_bytes;
    sum.exports += more.exports;
}

void add_stats(gpu::BackendStats& sum, const gpu::BackendStats& more) {
    sum.requests += more.requests;
    sum.device_failures += more.device_failures;
    sum.resets += more.resets;
}

// Whether guests' blobs can become dma-bufs here; said once per process.
void report_udmabuf() {
    static bool reported = false;
    if (std::exchange(reported, true)) {
        return;
    }
    auto& udmabuf = gpu::Udmabuf::system();
    if (udmabuf.available()) {
        log::info(gpu_log, "udmabuf: guest blobs are shown as dma-bufs (at most {} pieces, {} MiB)",
                  udmabuf.limits().max_pieces, udmabuf.limits().max_bytes >> 20);
    } else {
        log::warn(gpu_log,
                  "udmabuf unavailable ({}): guest blobs are shown from their mapped "
                  "memory, without dma-bufs",
                  udmabuf.unavailable_reason());
    }
}

} // namespace

Guest::Guest(Server& server, ivi::GuestSpec spec)
    : server_(server), spec_(std::move(spec)), socket_path_(runtime_socket_path(spec_.socket)),
      blob_buffers_([this](uint32_t resource_id) {
          blobs_released_.push_back(resource_id);
          queue_for_device();
      }),
      access_(getuid(), spec_) {
    report_udmabuf();
    for (int i = 0; i < spec_.scanouts; ++i) {
        auto index = static_cast<uint32_t>(i);
        GuestScanout::Hooks hooks;
        hooks.on_resize = [this, index](int width, int height) {
            resize_scanout(index, width, height);
        };
        hooks.signal_fence = [this](gpu::ResponseToken token) {
            fences_to_signal_.push_back(token);
            queue_for_device();
        };
        hooks.blob_buffer = [this](const LentFrame& frame) { return blob_buffer(frame); };
        scanouts_.push_back(std::make_unique<GuestScanout>(*server_.zones(), server_.event_loop(),
                                                           server_.layers().zones, spec_.name,
                                                           index, std::move(hooks)));
    }
    for (uint32_t i = 0; i < scanouts_.size(); ++i) {
        offered_.push_back(scanout_config(i));
    }
    listen();
    GuestInputs::Hooks input_hooks;
    input_hooks.admitted = [this](int socket) { return admitted(socket); };
    input_hooks.link = [this]() -> DeviceLink* { return link_.get(); };
    input_hooks.scanout_size = [this](uint32_t index) {
        const auto& mode = offered_.at(std::min<size_t>(index, offered_.size() - 1));
        return std::pair{mode.width, mode.height};
    };
    inputs_ = std::make_unique<GuestInputs>(server_.event_loop(), spec_.name, spec_,
                                            std::move(input_hooks));
    report_state(error_);
}

Guest::~Guest() {
    release_link_.cancel();
    device_queue_.cancel();
    inputs_.reset();
    link_.reset(); // ends the device process; reports nothing from here on
    listen_watch_.reset();
    if (listen_fd_) {
        unlink(socket_path_.c_str());
    }
}

void Guest::listen() {
    auto fd = listen_unix_socket(socket_path_, {spec_.socket_mode, spec_.socket_group});
    if (!fd) {
        error_ = fd.error();
        log::error(gpu_log, "guest {}: {}", spec_.name, error_);
        return;
    }
    listen_fd_ = std::move(*fd);
    warn_if_directory_closed();
    listen_watch_ =
        std::make_unique<FdWatch>(server_.event_loop(), listen_fd_.get(), WL_EVENT_READABLE,
                                  [this](uint32_t) { accept_connection(); });
    log::info(gpu_log, "guest {}: waiting for its VMM on {} (mode {:04o}; may connect: {})",
              spec_.name, socket_path_, spec_.socket_mode, access_.describe());
}

// A socket opened to other users is of no use in a directory they cannot pass through (as
// $XDG_RUNTIME_DIR, 0700, is): say so rather than let their VMM fail with EACCES unexplained.
void Guest::warn_if_directory_closed() const {
    if ((spec_.socket_mode & 066) == 0) {
        return;
    }
    auto directory = std::filesystem::path(socket_path_).parent_path();
    struct stat st{};
    if (stat(directory.c_str(), &st) != 0) {
        return;
    }
    bool others_pass = (st.st_mode & S_IXOTH) != 0;
    bool group_passes =
        spec_.socket_group && st.st_gid == *spec_.socket_group && (st.st_mode & S_IXGRP) != 0;
    if (!others_pass && !group_passes) {
        log::warn(gpu_log,
                  "guest {}: its socket's directory {} (mode {:04o}) lets no other user reach "
                  "the socket; put it in a directory like /run/tessera (mode 0711)",
                  spec_.name, directory.string(), st.st_mode & 07777);
    }
}

void Guest::report_state(std::string_view reason) {
    State now = state();
    if (now == reported_) {
        return;
    }
    reported_ = now;
    nlohmann::json fields{{"guest", spec_.name}};
    if (!reason.empty()) {
        fields["reason"] = reason;
    }
    if (now == State::connected && link_) {
        fields["pid"] = link_->pid();
    }
    static constexpr std::string_view names[] = {"guest-disconnected", "guest-connected",
                                                 "guest-running", "guest-stopped",
                                                 "guest-unavailable"};
    server_.health().publish(names[static_cast<size_t>(now)], std::move(fields));
}

Guest::State Guest::state() const {
    if (!listen_fd_) {
        return State::unavailable;
    }
    if (!link_ || link_->ended()) {
        return State::listening;
    }
    switch (device_state_.value_or(gpu::channel::DeviceState::connected)) {
    case gpu::channel::DeviceState::stopped:
        return State::stopped;
    case gpu::channel::DeviceState::running:
        return State::running;
    default:
        return State::connected;
    }
}

std::string_view Guest::state_name(State state) {
    switch (state) {
    case State::listening:
        return "listening";
    case State::connected:
        return "connected";
    case State::running:
        return "running";
    case State::stopped:
        return "stopped";
    case State::unavailable:
        return "unavailable";
    }
    return "?";
}

gpu::DeviceStats Guest::device_stats() const {
    gpu::DeviceStats sum = past_stats_;
    if (link_) {
        add_stats(sum, device_stats_of(link_->stats()));
    }
    return sum;
}

gpu::BackendStats Guest::backend_stats() const {
    gpu::BackendStats sum = past_backend_stats_;
    if (link_) {
        add_stats(sum, backend_stats_of(link_->stats()));
    }
    return sum;
}

BlobBuffer* Guest::blob_buffer(const LentFrame& frame) {
    return blob_buffers_.get(frame.resource_id, frame.memory, frame.image);
}

void Guest::queue_for_device() {
    if (!device_queue_.pending()) {
        device_queue_.schedule(server_.event_loop(), [this] { run_device_queue(); });
    }
}

void Guest::run_device_queue() {
    auto fences = std::exchange(fences_to_signal_, {});
    auto released = std::exchange(blobs_released_, {});
    if (!link_ || link_->ended()) {
        return;
    }
    for (auto token : fences) {
        link_->signal_fence(token);
    }
    for (auto id : released) {
        link_->display_released(id);
    }
}

void Guest::accept_connection() {
    UniqueFd socket(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!socket) {
        return;
    }
    if (!admitted(socket.get())) {
        return;
    }
    if (link_ && !link_->ended()) {
        // One VMM per guest: a second one would fight the first over the same zones.
        log::warn(gpu_log, "guest {}: refused a second VMM while one is connected", spec_.name);
        return;
    }
    release_link();
    ++connections_;
    auto link =
        DeviceLink::start(server_.event_loop(), std::move(socket), link_config(), link_events());
    if (!link) {
        ++device_failures_;
        last_failure_ = link.error();
        log::error(gpu_log, "guest {}: no device process for its VMM: {}", spec_.name,
                   link.error());
        server_.health().publish("device-failed",
                                 {{"guest", spec_.name}, {"reason", last_failure_}});
        return;
    }
    link_ = std::move(*link);
    device_state_.reset();
    log::info(gpu_log, "guest {}: VMM connected (device process {})", spec_.name, link_->pid());
    inputs_->link_started();
    report_state();
}

// The layout says who may be this guest's VMM; anyone else who reached the socket is closed on
// at once, before a byte is read.
bool Guest::admitted(int socket) {
    auto peer = peer_credentials(socket);
    if (peer && access_.allows(*peer)) {
        return true;
    }
    ++refused_connections_;
    if (uint64_t dropped = 0; refusal_log_.allow(dropped)) {
        auto who = peer ? std::format("uid {} gid {} (pid {})", peer->uid, peer->gid, peer->pid)
                        : peer.error();
        log::warn(gpu_log, "guest {}: refused a connection from {}: may connect: {}{}", spec_.name,
                  who, access_.describe(),
                  dropped ? std::format(" ({} more refused)", dropped) : "");
    }
    return false;
}

DeviceLinkEvents Guest::link_events() {
    DeviceLinkEvents events;
    events.on_state = [this](gpu::channel::DeviceState state) {
        device_state_ = state;
        report_state();
    };
    events.on_scanout = [this](uint32_t index, const LentFrame* frame) {
        if (index < scanouts_.size()) {
            scanouts_[index]->show(frame);
        }
    };
    events.on_flush = [this](uint32_t index, gpu::proto::Rect damage) {
        if (index < scanouts_.size()) {
            scanouts_[index]->flush(damage);
        }
    };
    events.on_fence = [this](uint32_t index, gpu::ResponseToken token) {
        if (index < scanouts_.size()) {
            scanouts_[index]->add_fence(token);
        }
    };
    events.on_cursor = [this](uint32_t index, const gpu::Cursor& cursor, bool image_changed) {
        if (index < scanouts_.size()) {
            scanouts_[index]->set_cursor(cursor, image_changed);
        }
    };
    events.on_resource_gone = [this](uint32_t resource_id) { blob_buffers_.forget(resource_id); };
    events.on_input_state = [this](const gpu::channel::InputState& state) {
        inputs_->take_state(state);
    };
    events.on_stats = [this](const gpu::channel::Stats& stats) { judge_driver(stats); };
    events.on_ended = [this](std::string_view reason, bool failure) {
        link_ended(reason, failure);
    };
    return events;
}

void Guest::judge_driver(const gpu::channel::Stats& stats) {
    for (const auto& change : driver_stalls_.update(stats)) {
        // The control queue: answers unread; an input queue: events without buffers.
        bool input = change.input_slot.has_value();
        nlohmann::json fields{{"guest", spec_.name}, {"queue", change.queue}};
        if (input) {
            fields["device"] = inputs_->device_name(*change.input_slot);
        }
        if (!change.stalled) {
            log::info(gpu_log, "guest {}: takes from its {} queue again", spec_.name, change.queue);
            server_.health().publish("recovered", std::move(fields));
            continue;
        }
        fields["waiting"] = change.waiting;
        fields["silent_ms"] = change.stuck_ms;
        log::warn(gpu_log, "guest {}: took nothing from its {} queue for {} ms ({} {} waiting)",
                  spec_.name, change.queue, change.stuck_ms, change.waiting,
                  input ? "events" : "answers");
        server_.health().publish("stalled", std::move(fields));
    }
}

// The VMM went, or the device process failed (level 2 for this guest): its scanouts freeze on
// their last frame for the zone's freeze timeout, then show the fallback.
void Guest::link_ended(std::string_view reason, bool failure) {
    driver_stalls_.clear(); // guest-disconnected says the rest
    for (auto& scanout : scanouts_) {
        scanout->show(nullptr);
    }
    if (failure) {
        ++device_failures_;
        last_failure_ = std::string(reason);
        log::warn(gpu_log, "guest {}: {}; its VMM is disconnected", spec_.name, reason);
        server_.health().publish("device-failed", {{"guest", spec_.name}, {"reason", reason}});
    } else {
        log::info(gpu_log, "guest {}: VMM disconnected ({})", spec_.name, reason);
    }
    report_state(reason);
    release_link_.schedule(server_.event_loop(), [this] { release_link(); });
}

// Destroys an ended link, keeping its statistics.
void Guest::release_link() {
    release_link_.cancel();
    // Tokens of this connection mean nothing to the next one.
    fences_to_signal_.clear();
    blobs_released_.clear();
    for (auto& scanout : scanouts_) {
        scanout->forget_fences();
    }
    if (link_) {
        for (auto& scanout : scanouts_) {
            if (scanout->enabled()) {
                scanout->show(nullptr);
            }
        }
        add_stats(past_stats_, device_stats_of(link_->stats()));
        add_stats(past_backend_stats_, backend_stats_of(link_->stats()));
        inputs_->link_ended();
        link_.reset();
    }
    device_state_.reset();
    blob_buffers_.clear();
}

DeviceLinkConfig Guest::link_config() {
    DeviceLinkConfig config;
    config.guest = spec_.name;
    for (uint32_t i = 0; i < scanouts_.size(); ++i) {
        offered_[i] = scanout_config(i);
    }
    config.scanouts = offered_;
    config.quota.max_resources = spec_.max_resources;
    config.quota.max_resource_bytes = uint64_t{spec_.max_memory_mb} << 20;
    config.udmabuf = &gpu::Udmabuf::system();
    config.in_process = server_.options().devices_in_process;
    config.program = device_program();
    config.log_spec = log::current_spec(); // the levels now, as tessera-ctl may have set them
    // A renderer parses what the guest sends: only ever behind the device process's wall.
    config.three_d = spec_.three_d && !config.in_process;
    if (config.three_d) {
        config.render_node = server_.render_node();
    }
    return config;
}

void Guest::set_log_levels(std::string_view spec) {
    if (link_) {
        link_->set_log_levels(spec);
    }
}

// The zone's size as the guest's preferred mode, at its output's refresh rate.
gpu::ScanoutConfig Guest::scanout_config(uint32_t index) const {
    const auto* zone = server_.zones()->zone_for(*scanouts_[index]);
    if (!zone || zone->rect.width <= 0 || zone->rect.height <= 0) {
        return unplaced_scanout;
    }
    gpu::ScanoutConfig config{static_cast<uint32_t>(zone->rect.width),
                              static_cast<uint32_t>(zone->rect.height),
                              unplaced_scanout.refresh_mhz};
    if (auto* output = server_.zones()->output_for(zone->output);
        output && output->wlr()->refresh > 0) {
        config.refresh_mhz = static_cast<uint32_t>(output->wlr()->refresh);
    }
    return config;
}

// The zone changed size: the guest is offered the new size as its preferred mode. The device
// tells the VMM on the backend channel, so that it raises the guest's display event and the
// guest re-renders at the new size (QEMU with data/qemu/vhost-user-gpu.patch); otherwise the
// guest sees it the next time it asks (its driver reads the display info when it starts).
void Guest::resize_scanout(uint32_t index, int width, int height) {
    auto config = scanout_config(index);
    config.width = static_cast<uint32_t>(width);
    config.height = static_cast<uint32_t>(height);
    const auto& before = offered_[index];
    if (before.width == config.width && before.height == config.height &&
        before.refresh_mhz == config.refresh_mhz) {
        return;
    }
    offered_[index] = config;
    if (!link_ || link_->ended()) {
        return;
    }
    link_->set_scanout_mode(index, config);
    log::info(gpu_log, "guest {}: scanout {} offered {}x{}", spec_.name, index, config.width,
              config.height);
}

} // namespace tessera::compositor
