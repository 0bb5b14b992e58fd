#include "guest.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "server.hpp"
#include "util/unix_socket.hpp"
#include "zone_scene.hpp"

#include <sys/socket.h>

#include <cstdlib>
#include <format>

namespace tessera::compositor {

namespace {

// Offered to a scanout whose zone is hidden or absent; the guest still runs.
constexpr gpu::ScanoutConfig unplaced_scanout{1024, 768, 60'000};

std::string resolve_socket_path(const std::string& path) {
    if (path.starts_with('/')) {
        return path;
    }
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    return std::format("{}/{}", runtime_dir ? runtime_dir : "/tmp", path);
}

void add_stats(gpu::DeviceStats& sum, const gpu::DeviceStats& more) {
    sum.commands += more.commands;
    sum.errors += more.errors;
    sum.flushes += more.flushes;
    sum.transfers += more.transfers;
    sum.transfer_bytes += more.transfer_bytes;
    sum.cursor_commands += more.cursor_commands;
    sum.deferred_unrefs += more.deferred_unrefs;
}

} // namespace

Guest::Guest(Server& server, ivi::GuestSpec spec)
    : server_(server), spec_(std::move(spec)), socket_path_(resolve_socket_path(spec_.socket)) {
    for (int i = 0; i < spec_.scanouts; ++i) {
        auto index = static_cast<uint32_t>(i);
        scanouts_.push_back(std::make_unique<GuestScanout>(
            *server_.zones(), server_.event_loop(), server_.layers().zones, spec_.name, index,
            [this, index](int width, int height) { resize_scanout(index, width, height); }));
    }
    listen();
}

Guest::~Guest() {
    release_backend_.cancel();
    backend_.reset(); // reports nothing from here on (GuestBackend's destructor)
    backend_watches_.clear();
    listen_watch_.reset();
    if (listen_fd_) {
        unlink(socket_path_.c_str());
    }
}

void Guest::listen() {
    auto fd = listen_unix_socket(socket_path_);
    if (!fd) {
        error_ = fd.error();
        log::error(gpu_log, "guest {}: {}", spec_.name, error_);
        return;
    }
    listen_fd_ = std::move(*fd);
    listen_watch_ =
        std::make_unique<FdWatch>(server_.event_loop(), listen_fd_.get(), WL_EVENT_READABLE,
                                  [this](uint32_t) { accept_connection(); });
    log::info(gpu_log, "guest {}: waiting for its VMM on {}", spec_.name, socket_path_);
}

Guest::State Guest::state() const {
    if (!listen_fd_) {
        return State::unavailable;
    }
    if (!backend_ || !backend_->connected()) {
        return State::listening;
    }
    if (backend_->connection()->device_broken()) {
        return State::stopped;
    }
    return backend_->running() ? State::running : State::connected;
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
    if (backend_) {
        add_stats(sum, backend_->device().stats());
    }
    return sum;
}

void Guest::accept_connection() {
    UniqueFd socket(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!socket) {
        return;
    }
    if (backend_ && backend_->connected()) {
        // One VMM per guest: a second one would fight the first over the same zones.
        log::warn(gpu_log, "guest {}: refused a second VMM while one is connected", spec_.name);
        return;
    }
    release_backend();

    gpu::BackendCallbacks callbacks;
    callbacks.add_fd = [this](int fd, std::function<void()> on_readable) {
        backend_watches_[fd] = std::make_unique<FdWatch>(
            server_.event_loop(), fd, WL_EVENT_READABLE,
            [on_readable = std::move(on_readable)](uint32_t) { on_readable(); });
    };
    callbacks.remove_fd = [this](int fd) { backend_watches_.erase(fd); };
    callbacks.on_scanout = [this](uint32_t index, const gpu::Resource* resource,
                                  gpu::proto::Rect rect) {
        if (index < scanouts_.size()) {
            scanouts_[index]->show(resource, rect);
        }
    };
    callbacks.on_flush = [this](uint32_t index, const gpu::Resource& resource,
                                gpu::proto::Rect damage) {
        if (index < scanouts_.size()) {
            scanouts_[index]->flush(resource, damage);
        }
    };
    callbacks.on_cursor = [this](uint32_t index, const gpu::Cursor& cursor, bool image_changed) {
        if (index < scanouts_.size()) {
            scanouts_[index]->set_cursor(cursor, image_changed);
        }
    };
    callbacks.on_disconnected = [this](std::string_view reason) { disconnected(reason); };

    ++connections_;
    log::info(gpu_log, "guest {}: VMM connected", spec_.name);
    backend_ = std::make_unique<gpu::GuestBackend>(std::move(socket), device_config(),
                                                   std::move(callbacks));
}

void Guest::disconnected(std::string_view reason) {
    // The device was reset on the way here: scanouts and cursors are already off screen.
    log::info(gpu_log, "guest {}: VMM disconnected ({})", spec_.name, reason);
    release_backend_.schedule(server_.event_loop(), [this] { release_backend(); });
}

// Destroys a closed connection's backend, keeping its statistics.
void Guest::release_backend() {
    release_backend_.cancel();
    if (backend_) {
        add_stats(past_stats_, backend_->device().stats());
        backend_.reset();
    }
}

gpu::DeviceConfig Guest::device_config() const {
    gpu::DeviceConfig config;
    for (uint32_t i = 0; i < scanouts_.size(); ++i) {
        config.scanouts.push_back(scanout_config(i));
    }
    config.quota.max_resources = spec_.max_resources;
    config.quota.max_resource_bytes = uint64_t{spec_.max_memory_mb} << 20;
    return config;
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

// The zone changed size: the guest is offered the new size the next time it asks (its driver
// reads the display info when it starts).
void Guest::resize_scanout(uint32_t index, int width, int height) {
    if (!backend_) {
        return;
    }
    auto config = scanout_config(index);
    config.width = static_cast<uint32_t>(width);
    config.height = static_cast<uint32_t>(height);
    backend_->device().set_scanout_config(index, config);
}

} // namespace tessera::compositor
