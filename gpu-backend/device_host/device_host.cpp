#include "gpu-backend/device_host/device_host.hpp"

#include "gpu-backend/base/fd_kind.hpp"
#include "gpu-backend/base/log.hpp"
#include "gpu-backend/virtio_input/profile.hpp"

#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <format>
#include <utility>

namespace tessera::gpu {

namespace {

uint32_t clamp_ms(std::chrono::milliseconds ms) {
    return static_cast<uint32_t>(std::min<int64_t>(ms.count(), UINT32_MAX));
}

log::Scope& host_log() {
    static log::Scope scope("gpu.device");
    return scope;
}

// Waits this long for room on the channel before the compositor counts as gone.
constexpr int send_wait_ms = 1000;
// Messages handled per wakeup, so that the VMM's fds get their turn.
constexpr int messages_per_wakeup = 256;

channel::Image wire_image(const ScanoutImage& image) {
    return {static_cast<uint32_t>(image.format),
            image.width,
            image.height,
            image.stride,
            image.offset,
            image.rect.x,
            image.rect.y,
            image.rect.width,
            image.rect.height,
            image.modifier,
            image.bottom_up ? 1u : 0u,
            0};
}

} // namespace

DeviceHost::DeviceHost(UniqueFd vmm_socket, UniqueFd channel, DeviceHostLoop loop,
                       std::function<void(std::string_view reason)> on_finished,
                       Renderer3d* renderer)
    : vmm_socket_(std::move(vmm_socket)), channel_(std::move(channel)), loop_(std::move(loop)),
      on_finished_(std::move(on_finished)), renderer_(renderer) {
    if (!loop_.add_fd(channel_.get(), [this] { on_channel_readable(); })) {
        finished_ = true;
    }
}

DeviceHost::~DeviceHost() {
    *alive_ = false;
    if (renderer_watched_) {
        loop_.remove_fd(renderer_->poll_fd());
    }
    backend_.reset();
    if (channel_ && !finished_) {
        loop_.remove_fd(channel_.get());
    }
}

void DeviceHost::finish(std::string_view reason) {
    if (std::exchange(finished_, true)) {
        return;
    }
    loop_.remove_fd(channel_.get());
    std::string why(reason);
    if (on_finished_) {
        on_finished_(why); // may destroy this
    }
}

void DeviceHost::send(const channel::Outgoing& message) {
    if (finished_) {
        return;
    }
    auto result = channel::send(channel_.get(), message);
    if (result == channel::SendResult::full) {
        // The compositor reads its end on each wakeup: a full queue means it is busy a moment.
        pollfd pfd{channel_.get(), POLLOUT, 0};
        if (poll(&pfd, 1, send_wait_ms) == 1) {
            result = channel::send(channel_.get(), message);
        }
    }
    if (result != channel::SendResult::sent) {
        finish(result == channel::SendResult::full ? "the compositor stopped reading"
                                                   : "the compositor's end is gone");
    }
}

void DeviceHost::on_channel_readable() {
    std::weak_ptr<bool> alive = alive_;
    for (int i = 0; i < messages_per_wakeup && !alive.expired() && !finished_; ++i) {
        auto received = channel::receive(channel_.get());
        if (!received) {
            finish(received.error().what);
            return;
        }
        if (!*received) {
            break;
        }
        if (!handle(**received)) {
            if (!alive.expired()) {
                finish("a malformed message from the compositor");
            }
            return;
        }
    }
    if (!alive.expired()) {
        after_event();
    }
}

bool DeviceHost::handle(channel::Message& message) {
    using channel::Type;
    if (message.type == Type::config) {
        channel::Config config{};
        if (backend_ || !vmm_socket_ || !message.read(config)) {
            return false;
        }
        start(config, std::move(message.fds));
        return true;
    }
    if (message.type == Type::attach_input) {
        channel::AttachInput attach{};
        if (!backend_ || message.fds.size() != 1 || !message.read(attach)) {
            return false;
        }
        return attach_input(attach, std::move(message.fds.front()));
    }
    if (!backend_ || !message.fds.empty()) {
        return false;
    }
    switch (message.type) {
    case Type::signal_fence: {
        channel::SignalFence m{};
        if (!message.read(m)) {
            return false;
        }
        if (backend_->connected()) {
            backend_->device().signal_fence(m.token);
        }
        return true;
    }
    case Type::display_released: {
        channel::DisplayReleased m{};
        if (!message.read(m)) {
            return false;
        }
        auto it = shown_serial_.find(m.resource_id);
        // A release of an older lend: the compositor has since been told to show it again.
        if (it != shown_serial_.end() && it->second == m.serial) {
            displayed_.erase(m.resource_id);
            if (backend_->connected()) {
                backend_->device().display_released(m.resource_id);
            }
        }
        return true;
    }
    case Type::scanout_config: {
        channel::ScanoutConfigChange m{};
        if (!message.read(m) || m.index >= backend_->device().num_scanouts()) {
            return false;
        }
        ScanoutConfig config{m.mode.width, m.mode.height, m.mode.refresh_mhz};
        if (backend_->device().set_scanout_config(m.index, config)) {
            backend_->notify_display_change();
        }
        return true;
    }
    case Type::ping: {
        channel::Ping m{};
        if (!message.read(m)) {
            return false;
        }
        send_stats(m.sequence);
        return true;
    }
    case Type::input_frame:
        return take_input_frame(message);
    case Type::log_levels: {
        if (message.body.size() > channel::max_log_spec) {
            return false;
        }
        std::string spec(reinterpret_cast<const char*>(message.body.data()), message.body.size());
        if (auto error = log::configure(spec)) {
            log::warn(host_log(), "log levels '{}' not taken: {}", spec, *error);
        } else {
            log::debug(host_log(), "log levels now {}", spec);
        }
        return true;
    }
    default:
        return false;
    }
}

void DeviceHost::start(const channel::Config& config, std::vector<UniqueFd> fds) {
    DeviceConfig device_config;
    for (uint32_t i = 0; i < std::min(config.scanout_count, channel::max_scanouts); ++i) {
        const auto& mode = config.scanouts[i];
        device_config.scanouts.push_back({mode.width, mode.height, mode.refresh_mhz});
    }
    device_config.quota.max_resources = config.max_resources;
    device_config.quota.max_resource_bytes = config.max_resource_bytes;
    if (!fds.empty()) {
        udmabuf_ = std::make_unique<Udmabuf>(std::move(fds.front()), Udmabuf::Limits{}, "");
        device_config.udmabuf = udmabuf_.get();
    }
    device_config.renderer = renderer_;

    BackendCallbacks callbacks;
    // Every event of the VMM's fds ends with after_event(): state changes go out at once.
    callbacks.add_fd = [this](int fd, std::function<void()> on_readable) {
        std::weak_ptr<bool> alive = alive_;
        return loop_.add_fd(fd, [this, alive, on_readable = std::move(on_readable)] {
            on_readable();
            if (!alive.expired()) {
                after_event();
            }
        });
    };
    callbacks.remove_fd = loop_.remove_fd;
    callbacks.device.on_scanout = [this](uint32_t index, const Resource* resource,
                                         const ScanoutImage& image) {
        scanout(index, resource, image);
    };
    callbacks.device.on_flush = [this](uint32_t index, const Resource& resource,
                                       proto::Rect damage) {
        send(channel::Outgoing(channel::Type::flush)
                 .add(channel::Flush{index, resource.id(), damage.x, damage.y, damage.width,
                                     damage.height}));
    };
    callbacks.device.on_fence = [this](uint32_t index, ResponseToken token) {
        send(channel::Outgoing(channel::Type::fence).add(channel::Fence{index, 0, token}));
    };
    callbacks.device.is_displayed = [this](uint32_t resource_id) {
        return displayed_.contains(resource_id);
    };
    callbacks.device.on_resource_destroyed = [this](uint32_t resource_id) {
        displayed_.erase(resource_id);
        shown_serial_.erase(resource_id);
        if (auto it = pixel_lends_.find(resource_id); it != pixel_lends_.end()) {
            send(channel::Outgoing(channel::Type::forget).add(channel::Forget{it->second}));
            pixel_lends_.erase(it);
        }
        send(channel::Outgoing(channel::Type::resource_gone)
                 .add(channel::ResourceGone{resource_id}));
        forget_expired();
    };
    callbacks.device.on_cursor = [this](uint32_t index, const Cursor& cursor, bool image_changed) {
        bool with_image = image_changed && cursor.pixels.size() <= channel::max_cursor_bytes;
        channel::CursorHeader header{index,
                                     cursor.visible,
                                     with_image,
                                     cursor.x,
                                     cursor.y,
                                     cursor.hot_x,
                                     cursor.hot_y,
                                     cursor.width,
                                     cursor.height,
                                     static_cast<uint32_t>(cursor.format),
                                     with_image ? static_cast<uint32_t>(cursor.pixels.size()) : 0};
        channel::Outgoing message(channel::Type::cursor);
        message.add(header);
        if (with_image) {
            message.add_bytes(cursor.pixels);
        }
        send(message);
    };
    callbacks.on_disconnected = [this](std::string_view reason) {
        std::string why(reason.substr(0, channel::max_reason));
        send_stats(0); // the last figures, before the compositor lets go
        channel::Outgoing message(channel::Type::closed);
        message.add(channel::Closed{static_cast<uint32_t>(why.size())});
        message.add_bytes(std::as_bytes(std::span(why)));
        send(message);
        finish(reason);
    };
    backend_ = std::make_unique<GuestBackend>(std::move(vmm_socket_), std::move(device_config),
                                              std::move(callbacks));
    if (!backend_->connected()) {
        finish("the VMM's socket cannot be watched");
        return;
    }
    // Finished 3D work answers the guest's fences from here.
    if (renderer_ != nullptr && renderer_->poll_fd() >= 0) {
        renderer_watched_ = loop_.add_fd(renderer_->poll_fd(), [this] {
            renderer_->poll();
            after_event();
        });
        if (!renderer_watched_) {
            finish("the renderer's poll fd cannot be watched");
        }
    }
}

// The device's state as the compositor shows it.
void DeviceHost::after_event() {
    if (!backend_ || finished_ || !backend_->connected()) {
        return;
    }
    auto state = backend_->connection()->device_broken() ? channel::DeviceState::stopped
                 : backend_->running()                   ? channel::DeviceState::running
                                                         : channel::DeviceState::connected;
    if (state_sent_ != state) {
        state_sent_ = state;
        send(channel::Outgoing(channel::Type::state).add(channel::State{state}));
    }
}

void DeviceHost::scanout(uint32_t index, const Resource* resource, const ScanoutImage& image) {
    channel::Scanout message{index, 0, 0, 0, channel::ScanoutSource::none, wire_image(image)};
    if (resource) {
        // The device hands out const resources; lending shares their pixels, which it owns.
        auto& shown = const_cast<Resource&>(*resource);
        bool in_place = resource->mapped_memory != nullptr || resource->exported() != nullptr;
        auto lend_id = lend(shown);
        if (!lend_id) {
            log::warn(host_log(), "resource {} cannot be shown: its memory cannot be lent",
                      resource->id());
        } else {
            message.resource_id = resource->id();
            message.lend_id = *lend_id;
            message.serial = ++shown_serial_[resource->id()];
            message.source = in_place              ? channel::ScanoutSource::in_place
                             : resource->read_back ? channel::ScanoutSource::readback
                                                   : channel::ScanoutSource::copy;
            displayed_.insert(resource->id());
        }
    }
    send(channel::Outgoing(channel::Type::scanout).add(message));
    forget_expired();
}

std::optional<uint32_t> DeviceHost::lend(Resource& resource) {
    if (resource.mapped_memory) {
        return lend_memory(resource.mapped_memory);
    }
    if (auto it = pixel_lends_.find(resource.id()); it != pixel_lends_.end()) {
        return it->second;
    }
    // Lent once, for the resource's life: host pixels, or the renderer's exported texture.
    const ExportedImage* exported = resource.exported();
    int fd = exported ? exported->dmabuf.get() : resource.share_pixels();
    if (fd < 0) {
        return std::nullopt;
    }
    uint32_t id = next_lend_++;
    send(channel::Outgoing(channel::Type::lend)
             .add(exported
                      ? channel::Lend{id, channel::LendKind::dmabuf, 0, 0, exported->size}
                      : channel::Lend{id, channel::LendKind::pixels, 0, 0, resource.size_bytes()})
             .add_fd(fd));
    pixel_lends_[resource.id()] = id;
    return id;
}

std::optional<uint32_t> DeviceHost::lend_memory(const std::shared_ptr<const BlobMemory>& memory) {
    if (auto it = lend_of_memory_.find(memory.get()); it != lend_of_memory_.end()) {
        auto lent = memory_lends_.find(it->second);
        if (lent != memory_lends_.end() && lent->second.memory.lock() == memory) {
            return it->second;
        }
    }
    uint32_t id = next_lend_++;
    uint64_t size = memory->bytes().size();
    if (memory->dmabuf() >= 0) {
        send(channel::Outgoing(channel::Type::lend)
                 .add(channel::Lend{id, channel::LendKind::dmabuf, 0, 0, size})
                 .add_fd(memory->dmabuf()));
    } else {
        auto pieces = memory->file_pieces();
        auto ram = backend_->connection()->memory();
        if (pieces.empty() || pieces.size() > channel::max_lend_pieces || !ram || !send_memory()) {
            return std::nullopt;
        }
        channel::Outgoing message(channel::Type::lend);
        message.add(channel::Lend{id, channel::LendKind::pieces, generation_,
                                  static_cast<uint32_t>(pieces.size()), size});
        for (const auto& piece : pieces) {
            uint32_t region = 0;
            while (region < ram->region_count() && ram->region_fd(region) != piece.fd) {
                ++region;
            }
            if (region == ram->region_count()) {
                return std::nullopt; // from an older memory table
            }
            message.add(channel::LendPiece{region, 0, piece.offset, piece.length});
        }
        send(message);
    }
    memory_lends_[id] = {memory};
    lend_of_memory_[memory.get()] = id;
    return id;
}

// Sends the guest's RAM regions when they changed since last sent.
bool DeviceHost::send_memory() {
    auto ram = backend_->connection()->memory();
    if (!ram.get() || ram->region_count() > channel::max_fds) {
        return false;
    }
    if (memory_sent_.lock() == ram) {
        return true;
    }
    channel::Memory memory{++generation_, static_cast<uint32_t>(ram->region_count()), {}};
    channel::Outgoing message(channel::Type::memory);
    for (size_t i = 0; i < ram->region_count(); ++i) {
        memory.region_sizes[i] = ram->region_map_length(i);
        message.add_fd(ram->region_fd(i));
    }
    message.add(memory);
    send(message);
    memory_sent_ = ram;
    return true;
}

// Memory the device let go of: the compositor keeps what it shows, and forgets the lend.
void DeviceHost::forget_expired() {
    for (auto it = memory_lends_.begin(); it != memory_lends_.end();) {
        if (it->second.memory.expired()) {
            send(channel::Outgoing(channel::Type::forget).add(channel::Forget{it->first}));
            std::erase_if(lend_of_memory_,
                          [&](const auto& entry) { return entry.second == it->first; });
            it = memory_lends_.erase(it);
        } else {
            ++it;
        }
    }
}

void DeviceHost::send_stats(uint64_t sequence) {
    const auto now = DriverProgress::Clock::now();
    channel::Stats stats{};
    stats.sequence = sequence;
    if (backend_) {
        const auto& d = backend_->device().stats();
        stats.commands = d.commands;
        stats.errors = d.errors;
        stats.flushes = d.flushes;
        stats.transfers = d.transfers;
        stats.transfer_bytes = d.transfer_bytes;
        stats.cursor_commands = d.cursor_commands;
        stats.deferred_unrefs = d.deferred_unrefs;
        stats.blobs = d.blobs;
        stats.fenced_frames = d.fenced_frames;
        stats.submits = d.submits;
        stats.submit_bytes = d.submit_bytes;
        stats.fenced_3d = d.fenced_3d;
        stats.readbacks = d.readbacks;
        stats.readback_bytes = d.readback_bytes;
        stats.exports = d.exports;
        const auto& b = backend_->stats();
        stats.requests = b.requests;
        stats.device_failures = b.device_failures;
        stats.resets = b.resets;
        if (auto unread = backend_->unread_answers()) {
            answers_progress_.observe(unread->count > 0, unread->used_event, now);
            stats.answers_watched = 1;
            stats.answers_unread = unread->count;
            stats.answers_stuck_ms = clamp_ms(answers_progress_.stuck_for(now));
        } else {
            answers_progress_.observe(false, 0, now);
        }
    }
    for (auto& [slot, input] : inputs_) {
        if (stats.input_count == channel::max_input_devices) {
            break;
        }
        const auto& fifo = input.backend->fifo_stats();
        const auto& b = input.backend->stats();
        auto queued = static_cast<uint32_t>(input.backend->queued_events());
        input.progress.observe(queued > 0, fifo.events_delivered, now);
        stats.inputs[stats.input_count++] = {slot,
                                             queued,
                                             fifo.frames_queued,
                                             fifo.frames_dropped,
                                             fifo.events_delivered,
                                             b.refused_events,
                                             b.status_events,
                                             b.status_garbage,
                                             b.device_failures,
                                             b.resets,
                                             clamp_ms(input.progress.stuck_for(now)),
                                             0};
    }
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0) {
        stats.rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
    }
    send(channel::Outgoing(channel::Type::stats).add(stats));
}

bool DeviceHost::attach_input(const channel::AttachInput& attach, UniqueFd socket) {
    using channel::InputKind;
    constexpr uint32_t max_axis = 16384; // pixels, as a scanout's
    bool sized = attach.width >= 1 && attach.width <= max_axis && attach.height >= 1 &&
                 attach.height <= max_axis;
    if (attach.slot >= channel::max_input_devices || !sized ||
        fd_kind::check_socket(socket.get())) {
        return false;
    }
    input::InputProfile profile;
    switch (attach.kind) {
    case InputKind::touchscreen:
        if (attach.scanout >= backend_->device().num_scanouts()) {
            return false;
        }
        profile = input::touchscreen_profile(attach.scanout, attach.width, attach.height);
        break;
    case InputKind::pointer:
        profile = input::pointer_profile(attach.width, attach.height);
        break;
    case InputKind::keyboard:
        profile = input::keyboard_profile();
        break;
    default:
        return false;
    }
    uint32_t slot = attach.slot;
    InputBackendCallbacks callbacks;
    callbacks.add_fd = [this, slot](int fd, std::function<void()> on_readable) {
        std::weak_ptr<bool> alive = alive_;
        return loop_.add_fd(fd, [this, slot, alive, on_readable = std::move(on_readable)] {
            on_readable();
            if (!alive.expired()) {
                report_input(slot);
            }
        });
    };
    callbacks.remove_fd = loop_.remove_fd;
    callbacks.on_leds = [this, slot](uint32_t) { report_input(slot); };
    callbacks.on_disconnected = [this, slot](std::string_view reason) {
        log::info(host_log(), "input device {} disconnected: {}", slot, reason);
        // Erasing destroys the backend and this callback with its captures: copy them first.
        DeviceHost* host = this;
        uint32_t gone = slot;
        host->inputs_.erase(gone);
        host->report_input(gone);
    };
    // A device attached again on its slot (the VMM reconnected it) replaces the old one.
    inputs_.erase(slot);
    auto& input = inputs_[slot];
    input.backend =
        std::make_unique<InputBackend>(std::move(socket), std::move(profile), std::move(callbacks));
    log::info(host_log(), "input device {}: {}", slot, input.backend->profile().name);
    if (!input.backend->connected()) {
        inputs_.erase(slot);
    }
    report_input(slot);
    return true;
}

bool DeviceHost::take_input_frame(const channel::Message& message) {
    channel::InputFrame frame{};
    if (!message.read(frame, true) || frame.count == 0 || frame.count > channel::max_input_frame ||
        message.after<channel::InputFrame>().size() !=
            frame.count * sizeof(channel::WireInputEvent)) {
        return false;
    }
    auto it = inputs_.find(frame.slot);
    if (it == inputs_.end()) {
        return true; // the device went; the compositor hears of it soon
    }
    std::vector<input::InputEvent> events(frame.count);
    auto bytes = message.after<channel::InputFrame>();
    for (uint32_t i = 0; i < frame.count; ++i) {
        channel::WireInputEvent wire{};
        std::memcpy(&wire, bytes.data() + i * sizeof(wire), sizeof(wire));
        events[i] = {wire.type, wire.code, wire.value};
    }
    it->second.backend->send_frame(events);
    return true;
}

void DeviceHost::report_input(uint32_t slot) {
    if (finished_) {
        return;
    }
    channel::InputState state{slot, channel::InputDeviceState::gone, 0};
    auto it = inputs_.find(slot);
    if (it != inputs_.end()) {
        const auto& backend = *it->second.backend;
        state.state = backend.running() ? channel::InputDeviceState::running
                                        : channel::InputDeviceState::connected;
        state.leds = backend.leds();
        auto& sent = it->second.sent;
        if (sent && sent->state == state.state && sent->leds == state.leds) {
            return;
        }
        sent = state;
    }
    send(channel::Outgoing(channel::Type::input_state).add(state));
}

} // namespace tessera::gpu
