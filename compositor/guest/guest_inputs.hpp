#pragma once

#include "device_link.hpp"
#include "event_loop.hpp"
#include "gpu-backend/base/unique_fd.hpp"
#include "gpu-backend/device_host/channel.hpp"
#include "ivi/layout.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tessera::compositor {

// What tessera-ctl shows of one input device.
struct GuestInputStatus {
    ivi::GuestInputDevice device; // kind, scanout, socket as the layout names it
    std::string socket_path;      // as tessera listens on it
    std::string state;            // listening, waiting, connected, running, unavailable
    uint32_t leds = 0;
    uint64_t connections = 0;
    uint64_t refused = 0;                    // second connections while one was there
    uint64_t frames_sent = 0;                // handed to the device process
    gpu::channel::InputStats device_stats{}; // summed over its connections
};

// A guest's virtio-input devices (QEMU vhost-user-input-pci): tessera listens on a socket per
// device and hands each connection the guest's VMM makes to its device process (DeviceLink),
// which runs the device beside the guest's GPU. A device that connects before the GPU waits
// for the device process; while a device has a connection, another is refused.
class GuestInputs {
public:
    struct Hooks {
        std::function<bool(int socket)> admitted; // the layout lets this peer in
        std::function<DeviceLink*()> link;        // the guest's device process, if running
        // The size of a scanout as offered to the guest: a touchscreen's axes.
        std::function<std::pair<uint32_t, uint32_t>(uint32_t scanout)> scanout_size;
    };

    GuestInputs(wl_event_loop* loop, std::string guest, const ivi::GuestSpec& spec, Hooks hooks);
    ~GuestInputs();
    GuestInputs(const GuestInputs&) = delete;
    GuestInputs& operator=(const GuestInputs&) = delete;

    // The device process started: connections waiting for it are handed over.
    void link_started();
    // It ended, and the connections it held with it.
    void link_ended();
    // From the device process.
    void take_state(const gpu::channel::InputState& state);

    // Whether the guest has a device of this kind (for touch: over this scanout) whose driver
    // runs; `send` then hands it one frame (nothing happens when it is not running).
    [[nodiscard]] bool has(ivi::InputKind kind, uint32_t scanout = 0) const;
    [[nodiscard]] bool running(ivi::InputKind kind, uint32_t scanout = 0) const;
    void send(ivi::InputKind kind, uint32_t scanout,
              std::span<const gpu::channel::WireInputEvent> events);
    // The range of a device's absolute axes (what it was attached with), in pixels.
    [[nodiscard]] std::pair<uint32_t, uint32_t> axes(ivi::InputKind kind, uint32_t scanout) const;
    // The LEDs the guest set on its keyboard (bit n: LED code n).
    [[nodiscard]] uint32_t keyboard_leds() const;

    [[nodiscard]] std::vector<GuestInputStatus> status() const;
    // A device by its slot, as users know it: "touch 0" (over scanout 0), "pointer", "keyboard".
    [[nodiscard]] std::string device_name(uint32_t slot) const;

private:
    enum class State { unavailable, listening, waiting, connected, running };
    struct Device {
        ivi::GuestInputDevice spec;
        std::string path;
        UniqueFd listen_fd;
        std::unique_ptr<FdWatch> watch;
        UniqueFd waiting; // a connection accepted before the device process was there
        State state = State::listening;
        uint32_t leds = 0;
        uint32_t axis_width = 1, axis_height = 1;
        uint64_t connections = 0, refused = 0, frames_sent = 0;
        gpu::channel::InputStats past{};
    };

    void accept(Device& device);
    void attach(uint32_t slot, UniqueFd socket);
    Device* find(ivi::InputKind kind, uint32_t scanout);
    const Device* find(ivi::InputKind kind, uint32_t scanout) const;
    // The device process's latest figures for a slot, if it reported any.
    const gpu::channel::InputStats* reported(uint32_t slot) const;

    wl_event_loop* loop_;
    std::string guest_;
    Hooks hooks_;
    std::vector<Device> devices_; // slot = index
};

} // namespace tessera::compositor
