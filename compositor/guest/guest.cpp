#include "guest.hpp"

#include "log_scopes.hpp"
#include "gpu-backend/virtio_gpu/udmabuf.hpp"
#include "output.hpp"
#include "server.hpp"
#include "util/unix_socket.hpp"
#include "zone_scene.hpp"

#include <sys/socket.h>

#include <cstdlib>
#include <format>
#include <utility>

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
    sum.blobs += more.blobs;
    sum.fenced_frames += more.fenced_frames;
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
    : server_(server), spec_(std::move(spec)), socket_path_(resolve_socket_path(spec_.socket)),
      blob_buffers_([this](uint32_t resource_id) {
          blobs_released_.push_back(resource_id);
          queue_for_device();
      }) {
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
        hooks.blob_buffer = [this](const gpu::Resource& resource, const gpu::ScanoutImage& image) {
            return blob_buffer(resource, image);
        };
        hooks.visit_image_in_backing = [this](const gpu::Resource& resource, uint64_t offset,
                                              uint64_t length,
                                              const gpu::Backing::PieceVisitor& piece) {
            return backend_ &&
                   backend_->device().visit_image_in_backing(resource, offset, length, piece);
        };
        scanouts_.push_back(std::make_unique<GuestScanout>(*server_.zones(), server_.event_loop(),
                                                           server_.layers().zones, spec_.name,
                                                           index, std::move(hooks)));
    }
    listen();
}

Guest::~Guest() {
    release_backend_.cancel();
    device_queue_.cancel();
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

gpu::BackendStats Guest::backend_stats() const {
    gpu::BackendStats sum = past_backend_stats_;
    if (backend_) {
        add_stats(sum, backend_->stats());
    }
    return sum;
}

BlobBuffer* Guest::blob_buffer(const gpu::Resource& resource, const gpu::ScanoutImage& image) {
    const auto& memory = *resource.mapped_memory;
    // Without udmabuf at all that was said once already (report_udmabuf).
    if (memory.dmabuf() < 0 && !memory.dmabuf_error().empty() &&
        gpu::Udmabuf::system().available() && !std::exchange(dmabuf_failure_reported_, true)) {
        log::warn(gpu_log, "guest {}: a blob is no dma-buf ({}): shown from its mapped memory",
                  spec_.name, memory.dmabuf_error());
    }
    return blob_buffers_.get(resource, image);
}

void Guest::queue_for_device() {
    if (!device_queue_.pending()) {
        device_queue_.schedule(server_.event_loop(), [this] { run_device_queue(); });
    }
}

void Guest::run_device_queue() {
    auto fences = std::exchange(fences_to_signal_, {});
    auto released = std::exchange(blobs_released_, {});
    if (!backend_ || !backend_->connected()) {
        return;
    }
    // Each call may answer the guest; the backend stays (it is released from an idle call).
    for (auto token : fences) {
        backend_->device().signal_fence(token);
    }
    for (auto id : released) {
        backend_->device().display_released(id);
    }
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
        auto watch = FdWatch::try_create(
            server_.event_loop(), fd, WL_EVENT_READABLE,
            [on_readable = std::move(on_readable)](uint32_t) { on_readable(); });
        if (!watch) {
            return false;
        }
        backend_watches_[fd] = std::move(watch);
        return true;
    };
    callbacks.remove_fd = [this](int fd) { backend_watches_.erase(fd); };
    callbacks.device.on_scanout = [this](uint32_t index, const gpu::Resource* resource,
                                         const gpu::ScanoutImage& image) {
        if (index < scanouts_.size()) {
            scanouts_[index]->show(resource, image);
        }
    };
    callbacks.device.on_fence = [this](uint32_t index, gpu::ResponseToken token) {
        if (index < scanouts_.size()) {
            scanouts_[index]->add_fence(token);
        }
    };
    callbacks.device.is_displayed = [this](uint32_t resource_id) {
        return blob_buffers_.in_use(resource_id);
    };
    callbacks.device.on_resource_destroyed = [this](uint32_t resource_id) {
        blob_buffers_.forget(resource_id);
    };
    callbacks.device.on_flush = [this](uint32_t index, const gpu::Resource& resource,
                                       gpu::proto::Rect damage) {
        if (index < scanouts_.size()) {
            scanouts_[index]->flush(resource, damage);
        }
    };
    callbacks.device.on_cursor = [this](uint32_t index, const gpu::Cursor& cursor,
                                        bool image_changed) {
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
    // Tokens of this connection mean nothing to the next one.
    fences_to_signal_.clear();
    blobs_released_.clear();
    for (auto& scanout : scanouts_) {
        scanout->forget_fences();
    }
    if (backend_) {
        add_stats(past_stats_, backend_->device().stats());
        add_stats(past_backend_stats_, backend_->stats());
        backend_.reset();
    }
    blob_buffers_.clear();
}

gpu::DeviceConfig Guest::device_config() const {
    gpu::DeviceConfig config;
    for (uint32_t i = 0; i < scanouts_.size(); ++i) {
        config.scanouts.push_back(scanout_config(i));
    }
    config.quota.max_resources = spec_.max_resources;
    config.quota.max_resource_bytes = uint64_t{spec_.max_memory_mb} << 20;
    config.udmabuf = &gpu::Udmabuf::system();
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

// The zone changed size: the guest is offered the new size as its preferred mode. The VMM is
// told on the backend channel, so that it raises the guest's display event and the guest
// re-renders at the new size (QEMU with data/qemu/vhost-user-gpu.patch); otherwise the guest
// sees it the next time it asks (its driver reads the display info when it starts).
void Guest::resize_scanout(uint32_t index, int width, int height) {
    if (!backend_) {
        return;
    }
    auto config = scanout_config(index);
    config.width = static_cast<uint32_t>(width);
    config.height = static_cast<uint32_t>(height);
    const auto& before = backend_->device().scanout_config(index);
    if (before.width == config.width && before.height == config.height &&
        before.refresh_mhz == config.refresh_mhz) {
        return;
    }
    backend_->device().set_scanout_config(index, config);
    bool told = backend_->notify_display_change();
    log::info(gpu_log, "guest {}: scanout {} offered {}x{}{}", spec_.name, index, config.width,
              config.height, told ? "" : " (at its next display-info request)");
}

} // namespace tessera::compositor
