#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "gpu-backend/base/unique_fd.hpp"
#include "gpu-backend/vhost_user/connection.hpp"
#include "gpu-backend/virtio_input/config_space.hpp"
#include "gpu-backend/virtio_input/event_fifo.hpp"

// One virtio-input device of a guest (QEMU vhost-user-input-pci on the other side): the
// vhost-user connection and the input device model joined through the event queue (device to
// guest) and the status queue (guest to device: keyboard LEDs). Frames handed to it wait in a
// bounded FIFO and go out in order as the guest returns event buffers. Runs on one event loop
// through add_fd/remove_fd and never includes wlroots.
namespace tessera::gpu {

struct InputBackendCallbacks {
    // Hook fds into the event loop (required); add_fd is false when the fd cannot be watched.
    std::function<bool(int fd, std::function<void()> on_readable)> add_fd;
    std::function<void(int fd)> remove_fd;
    // The guest set its LEDs (bit n = LED code n: LED_NUML, LED_CAPSL, LED_SCROLLL...).
    std::function<void(uint32_t leds)> on_leds;
    // The connection closed; the backend is finished and may be destroyed from here.
    std::function<void(std::string_view reason)> on_disconnected;
};

struct InputBackendStats {
    uint64_t refused_events = 0;  // events outside the device's profile, never sent
    uint64_t status_events = 0;   // events the guest sent on the status queue
    uint64_t status_garbage = 0;  // status buffers that held no whole event
    uint64_t device_failures = 0; // ring violations that stopped the device
    uint64_t resets = 0;          // rings stopped (driver re-initialised or shut down)
};

class InputBackend {
public:
    static constexpr unsigned event_queue = 0;
    static constexpr unsigned status_queue = 1;

    InputBackend(UniqueFd socket, input::InputProfile profile, InputBackendCallbacks callbacks,
                 size_t fifo_capacity = input::EventFifo::default_capacity);
    ~InputBackend();
    InputBackend(const InputBackend&) = delete;
    InputBackend& operator=(const InputBackend&) = delete;

    // Hands the guest one frame (events ending in SYN_REPORT; one is added when missing).
    // Events the device's profile does not have are left out, absolute values are clamped to
    // their axis. False when the frame was dropped (see EventFifo).
    bool send_frame(std::span<const input::InputEvent> frame);

    [[nodiscard]] bool connected() const { return connection_ && connection_->is_open(); }
    // The guest's driver runs the event queue.
    [[nodiscard]] bool running() const;
    [[nodiscard]] const input::InputProfile& profile() const { return config_.profile(); }
    [[nodiscard]] uint32_t leds() const { return leds_; }
    [[nodiscard]] const input::FifoStats& fifo_stats() const { return fifo_.stats(); }
    [[nodiscard]] size_t queued_events() const { return fifo_.size(); }
    [[nodiscard]] const InputBackendStats& stats() const { return stats_; }
    [[nodiscard]] const Connection* connection() const { return connection_.get(); }

private:
    // What a kick or a (re)started queue asks for: deliver() or read_status().
    void serve(unsigned queue);
    // Fills the event buffers the guest gave with queued events, then notifies it once.
    void deliver();
    void read_status();
    // One event from the guest; true when it changed the LEDs.
    bool take_status(const input::InputEvent& event);
    // Returns a chain to the driver; false (and the device stopped) when the ring refuses it.
    bool push(unsigned queue, const DescriptorChain& chain, uint32_t written);
    void stop_device(std::string_view reason);
    // The event as the profile lets it through, or nullopt.
    [[nodiscard]] std::optional<input::InputEvent> admit(const input::InputEvent& event) const;

    input::InputConfigSpace config_;
    input::EventFifo fifo_;
    InputBackendCallbacks callbacks_;
    std::unique_ptr<Connection> connection_;
    uint32_t leds_ = 0;
    InputBackendStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace tessera::gpu
