#include "guest_inputs.hpp"

#include "log_scopes.hpp"
#include "util/unix_socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <format>
#include <utility>

namespace tessera::compositor {

namespace channel = gpu::channel;

namespace {

channel::InputKind wire_kind(ivi::InputKind kind) {
    switch (kind) {
    case ivi::input_touch:
        return channel::InputKind::touchscreen;
    case ivi::input_pointer:
        return channel::InputKind::pointer;
    default:
        return channel::InputKind::keyboard;
    }
}

void add_stats(channel::InputStats& sum, const channel::InputStats& more) {
    sum.frames_queued += more.frames_queued;
    sum.frames_dropped += more.frames_dropped;
    sum.events_delivered += more.events_delivered;
    sum.refused_events += more.refused_events;
    sum.status_events += more.status_events;
    sum.status_garbage += more.status_garbage;
    sum.device_failures += more.device_failures;
    sum.resets += more.resets;
}

} // namespace

GuestInputs::GuestInputs(wl_event_loop* loop, std::string guest, const ivi::GuestSpec& spec,
                         Hooks hooks)
    : loop_(loop), guest_(std::move(guest)), hooks_(std::move(hooks)) {
    for (auto& device_spec : ivi::input_devices(spec)) {
        devices_.push_back(
            Device{.spec = device_spec, .path = runtime_socket_path(device_spec.socket)});
    }
    for (auto& device : devices_) {
        auto fd = listen_unix_socket(device.path, {spec.socket_mode, spec.socket_group});
        if (!fd) {
            device.state = State::unavailable;
            log::error(input_log, "guest {}: no {} device: {}", guest_,
                       ivi::input_kind_name(device.spec.kind), fd.error());
            continue;
        }
        device.listen_fd = std::move(*fd);
        device.watch = std::make_unique<FdWatch>(loop_, device.listen_fd.get(), WL_EVENT_READABLE,
                                                 [this, &device](uint32_t) { accept(device); });
        log::info(input_log, "guest {}: {} device on {}", guest_,
                  ivi::input_kind_name(device.spec.kind), device.path);
    }
}

GuestInputs::~GuestInputs() {
    for (auto& device : devices_) {
        device.watch.reset();
        if (device.listen_fd) {
            unlink(device.path.c_str());
        }
    }
}

void GuestInputs::accept(Device& device) {
    UniqueFd socket(
        accept4(device.listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!socket || !hooks_.admitted(socket.get())) {
        return;
    }
    if (device.state == State::waiting || device.state == State::connected ||
        device.state == State::running) {
        // One connection per device, as one VMM per guest: another would take its input.
        ++device.refused;
        log::warn(input_log, "guest {}: refused a second connection to its {} device", guest_,
                  ivi::input_kind_name(device.spec.kind));
        return;
    }
    ++device.connections;
    auto slot = static_cast<uint32_t>(&device - devices_.data());
    auto* link = hooks_.link();
    if (!link || link->ended()) {
        // Its VMM connects the GPU too, perhaps in a moment: the device waits for it.
        device.waiting = std::move(socket);
        device.state = State::waiting;
        log::info(input_log, "guest {}: {} device connected; waiting for the guest's GPU", guest_,
                  ivi::input_kind_name(device.spec.kind));
        return;
    }
    attach(slot, std::move(socket));
}

void GuestInputs::attach(uint32_t slot, UniqueFd socket) {
    auto& device = devices_[slot];
    auto [width, height] = hooks_.scanout_size(static_cast<uint32_t>(device.spec.scanout));
    device.axis_width = width;
    device.axis_height = height;
    channel::AttachInput attach{slot, wire_kind(device.spec.kind),
                                static_cast<uint32_t>(device.spec.scanout), width, height};
    hooks_.link()->attach_input(attach, std::move(socket));
    device.state = State::connected;
    device.leds = 0;
    log::info(input_log, "guest {}: {} device connected", guest_,
              ivi::input_kind_name(device.spec.kind));
}

void GuestInputs::link_started() {
    for (uint32_t slot = 0; slot < devices_.size(); ++slot) {
        if (auto socket = std::move(devices_[slot].waiting)) {
            attach(slot, std::move(socket));
        }
    }
}

void GuestInputs::link_ended() {
    for (uint32_t slot = 0; slot < devices_.size(); ++slot) {
        auto& device = devices_[slot];
        if (device.state == State::connected || device.state == State::running) {
            if (const auto* stats = reported(slot)) {
                add_stats(device.past, *stats);
            }
            device.state = State::listening;
            device.leds = 0;
        }
    }
}

void GuestInputs::take_state(const channel::InputState& state) {
    if (state.slot >= devices_.size()) {
        return;
    }
    auto& device = devices_[state.slot];
    if (device.state == State::waiting || device.state == State::unavailable) {
        return; // news of an older connection
    }
    switch (state.state) {
    case channel::InputDeviceState::gone:
        if (device.state != State::listening) {
            log::info(input_log, "guest {}: {} device disconnected", guest_,
                      ivi::input_kind_name(device.spec.kind));
            if (const auto* stats = reported(state.slot)) {
                add_stats(device.past, *stats);
            }
        }
        device.state = State::listening;
        break;
    case channel::InputDeviceState::connected:
        device.state = State::connected;
        break;
    case channel::InputDeviceState::running:
        if (device.state != State::running) {
            log::info(input_log, "guest {}: its driver runs the {} device", guest_,
                      ivi::input_kind_name(device.spec.kind));
        }
        device.state = State::running;
        break;
    }
    device.leds = state.leds;
}

GuestInputs::Device* GuestInputs::find(ivi::InputKind kind, uint32_t scanout) {
    for (auto& device : devices_) {
        if (device.spec.kind == kind &&
            (kind != ivi::input_touch || device.spec.scanout == static_cast<int>(scanout))) {
            return &device;
        }
    }
    return nullptr;
}

const GuestInputs::Device* GuestInputs::find(ivi::InputKind kind, uint32_t scanout) const {
    return const_cast<GuestInputs*>(this)->find(kind, scanout);
}

bool GuestInputs::has(ivi::InputKind kind, uint32_t scanout) const {
    return find(kind, scanout) != nullptr;
}

bool GuestInputs::running(ivi::InputKind kind, uint32_t scanout) const {
    const auto* device = find(kind, scanout);
    return device && device->state == State::running;
}

void GuestInputs::send(ivi::InputKind kind, uint32_t scanout,
                       std::span<const channel::WireInputEvent> events) {
    auto* device = find(kind, scanout);
    auto* link = hooks_.link();
    if (!device || device->state != State::running || !link || link->ended()) {
        return;
    }
    link->send_input(static_cast<uint32_t>(device - devices_.data()), events);
    ++device->frames_sent;
}

std::pair<uint32_t, uint32_t> GuestInputs::axes(ivi::InputKind kind, uint32_t scanout) const {
    const auto* device = find(kind, scanout);
    return device ? std::pair{device->axis_width, device->axis_height} : std::pair{1u, 1u};
}

uint32_t GuestInputs::keyboard_leds() const {
    const auto* device = find(ivi::input_keyboard, 0);
    return device ? device->leds : 0;
}

const channel::InputStats* GuestInputs::reported(uint32_t slot) const {
    auto* link = hooks_.link();
    if (!link) {
        return nullptr;
    }
    const auto& stats = link->stats();
    for (uint32_t i = 0; i < stats.input_count && i < channel::max_input_devices; ++i) {
        if (stats.inputs[i].slot == slot) {
            return &stats.inputs[i];
        }
    }
    return nullptr;
}

std::vector<GuestInputStatus> GuestInputs::status() const {
    static constexpr const char* state_names[] = {"unavailable", "listening", "waiting",
                                                  "connected", "running"};
    std::vector<GuestInputStatus> result;
    for (uint32_t slot = 0; slot < devices_.size(); ++slot) {
        const auto& device = devices_[slot];
        GuestInputStatus status{.device = device.spec,
                                .socket_path = device.path,
                                .state = state_names[static_cast<int>(device.state)],
                                .leds = device.leds,
                                .connections = device.connections,
                                .refused = device.refused,
                                .frames_sent = device.frames_sent,
                                .device_stats = device.past};
        bool live = device.state == State::connected || device.state == State::running;
        if (const auto* stats = live ? reported(slot) : nullptr) {
            add_stats(status.device_stats, *stats);
            status.device_stats.queued = stats->queued;
        }
        status.device_stats.slot = slot;
        result.push_back(std::move(status));
    }
    return result;
}

std::string GuestInputs::device_name(uint32_t slot) const {
    if (slot >= devices_.size()) {
        return std::format("input {}", slot);
    }
    const auto& spec = devices_[slot].spec;
    auto kind = ivi::input_kind_name(spec.kind);
    return spec.kind == ivi::input_touch ? std::format("{} {}", kind, spec.scanout)
                                         : std::string(kind);
}

} // namespace tessera::compositor
