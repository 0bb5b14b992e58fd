#pragma once

#include "gpu-backend/vhost_user/connection.hpp"
#include "gpu-backend/virtio_gpu/device.hpp"
#include "gpu-backend/base/unique_fd.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

// One guest's virtio-gpu backend: the vhost-user connection and the device model joined through
// the two virtqueues. It pops each request, has the device answer it, writes the response back
// into the chain and notifies the driver; deferred answers (RESOURCE_UNREF of a buffer still on
// screen) keep their chain until the device releases them. Like its parts it runs on one event
// loop through add_fd/remove_fd and never includes wlroots.
namespace tessera::gpu {

struct BackendCallbacks {
    // Hook fds into the event loop (required); add_fd is false when the fd cannot be watched.
    std::function<bool(int fd, std::function<void()> on_readable)> add_fd;
    std::function<void(int fd)> remove_fd;
    // What the device shows. Its on_response_ready is the backend's own and is overwritten.
    DeviceCallbacks device;
    // The connection closed; the backend is finished and may be destroyed from here.
    std::function<void(std::string_view reason)> on_disconnected;
};

struct BackendStats {
    uint64_t requests = 0;        // chains answered, both queues
    uint64_t device_failures = 0; // ring violations that stopped the device
    uint64_t resets = 0;          // rings stopped (guest driver re-initialised or shut down)
};

// The transport's view of a virtio-gpu: control and cursor queues, these feature bits, its
// config space (with the renderer's capsets), and the GPU socket vhost-user-gpu hands over.
DeviceModel gpu_device_model(uint32_t num_scanouts, uint32_t num_capsets, uint64_t features);

class GuestBackend {
public:
    static constexpr unsigned control_queue = 0;
    static constexpr unsigned cursor_queue = 1;

    // `socket` is an accepted connection from the VMM. The device's scanouts decide what the
    // connection reports as num_scanouts.
    GuestBackend(UniqueFd socket, DeviceConfig device_config, BackendCallbacks callbacks);
    ~GuestBackend();
    GuestBackend(const GuestBackend&) = delete;
    GuestBackend& operator=(const GuestBackend&) = delete;

    [[nodiscard]] bool connected() const { return connection_ && connection_->is_open(); }
    [[nodiscard]] bool running() const;
    [[nodiscard]] GpuDevice& device() { return device_; }
    [[nodiscard]] const GpuDevice& device() const { return device_; }
    [[nodiscard]] const Connection* connection() const { return connection_.get(); }
    // Tells the VMM the device's displays changed (Connection::notify_config_change).
    bool notify_display_change() { return connected() && connection_->notify_config_change(); }
    [[nodiscard]] const BackendStats& stats() const { return stats_; }
    // The control queue's answers the driver has not taken back, and its used_event (which
    // moves as it takes them); nullopt while the ring does not run or has no event-idx.
    struct UnreadAnswers {
        uint16_t count;
        uint16_t used_event;
    };
    [[nodiscard]] std::optional<UnreadAnswers> unread_answers() const;

private:
    void on_kick(unsigned queue);
    void process_queue(unsigned queue);
    void answer(unsigned queue, const DescriptorChain& chain, std::span<const std::byte> response);
    void answer_deferred(ResponseToken token, std::vector<std::byte> response);
    void stop_device(std::string_view reason);
    void drop_held_chains();

    GpuDevice device_;
    BackendCallbacks callbacks_;
    std::unique_ptr<Connection> connection_;
    // Deferred control-queue requests, by token.
    std::unordered_map<ResponseToken, DescriptorChain> held_;
    ResponseToken next_token_ = 1;
    BackendStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace tessera::gpu
