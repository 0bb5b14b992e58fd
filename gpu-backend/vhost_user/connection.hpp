#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpu-backend/base/log_limiter.hpp"
#include "gpu-backend/base/unique_fd.hpp"
#include "gpu-backend/vhost_user/device_model.hpp"
#include "gpu-backend/vhost_user/guest_memory.hpp"
#include "gpu-backend/vhost_user/vhost_log.hpp"
#include "gpu-backend/vhost_user/message.hpp"
#include "gpu-backend/virtqueue/split_queue.hpp"

namespace tessera::gpu {

// Transport feature bits (virtio spec, vhost-user.rst); device-type bits live with their model.
namespace feature {
inline constexpr uint64_t ring_indirect_desc = 1ULL << 28; // VIRTIO_RING_F_INDIRECT_DESC
inline constexpr uint64_t ring_event_idx = 1ULL << 29;     // VIRTIO_RING_F_EVENT_IDX
inline constexpr uint64_t protocol_features = 1ULL << 30;  // VHOST_USER_F_PROTOCOL_FEATURES
inline constexpr uint64_t version_1 = 1ULL << 32;          // VIRTIO_F_VERSION_1
inline constexpr uint64_t ring_packed = 1ULL << 34;        // VIRTIO_F_RING_PACKED
inline constexpr uint64_t ring_reset = 1ULL << 40;         // VIRTIO_F_RING_RESET
} // namespace feature
namespace protocol_feature {
inline constexpr uint64_t mq = 1ULL << 0;
inline constexpr uint64_t reply_ack = 1ULL << 3;
inline constexpr uint64_t backend_req = 1ULL << 5;
inline constexpr uint64_t config = 1ULL << 9;
inline constexpr uint64_t reset_device = 1ULL << 13;
} // namespace protocol_feature

// One ring's configuration as the frontend set it, and the queue once it runs.
struct VringState {
    uint32_t num = 0; // 0 until SET_VRING_NUM
    std::optional<vhost::SetVringAddr> addr;
    uint16_t base = 0; // next avail index while the queue is not running
    bool enabled = false;
    UniqueFd kick;
    UniqueFd call;
    UniqueFd err;
    std::optional<SplitQueue> queue; // set while the ring runs
};

// What the connection tells its owner. add_fd/remove_fd hook fds into any event loop
// (level-triggered readability); add_fd returns false when the loop cannot watch the fd, which
// closes the connection. The rest report to the device model.
struct ConnectionCallbacks {
    std::function<bool(int fd, std::function<void()> on_readable)> add_fd;
    std::function<void(int fd)> remove_fd;
    // A ring is configured, enabled, has memory and a kick fd: queue(index) is valid. May fire
    // again for the same ring when the frontend reconfigures it; chains popped before cannot
    // be pushed to the new queue (SplitQueue::owns) and must be dropped.
    std::function<void(unsigned queue)> on_queue_ready;
    // The driver kicked a running queue.
    std::function<void(unsigned queue)> on_kick;
    // The rings stopped (GET_VRING_BASE, reset, disconnect): drop every resource and every
    // chain held. Called once per run of the device.
    std::function<void()> on_rings_stopped;
    // The connection closed (malformed message, EOF, error); may destroy the Connection.
    std::function<void(std::string_view reason)> on_closed;
};

// One vhost-user backend connection for one virtio device (QEMU vhost-user-gpu-pci or
// vhost-user-input-pci on the other side) over a connected SOCK_STREAM socket. Which device
// it carries is the DeviceModel's business. Single-threaded: everything runs from the event
// loop's callbacks. Any callback may destroy the Connection.
class Connection {
public:
    static constexpr unsigned max_queues = 8;

    // add_fd and remove_fd are required; without them, without a socket, or with a model of
    // no queues or more than max_queues, the connection starts closed.
    Connection(UniqueFd socket, ConnectionCallbacks callbacks, DeviceModel model);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    [[nodiscard]] bool is_open() const { return open_; }
    // Closes the connection (failure level 1): unhooks and closes every fd, reports on_closed.
    // `failure` false: the frontend ended it normally, which is no warning.
    void close(std::string_view reason, bool failure = true);

    // Marks the device broken (failure level 2, a ring violation): its queues stop until the
    // frontend restarts them (GET_VRING_BASE or a reset). Signals the rings' err fds.
    // on_rings_stopped is not called: the caller knows.
    void fail_device(std::string_view reason);
    [[nodiscard]] bool device_broken() const { return broken_; }

    [[nodiscard]] std::shared_ptr<const GuestMemory> memory() const { return memory_; }
    [[nodiscard]] const VringState& vring(unsigned index) const { return vrings_.at(index); }
    // The running queue, or nullptr. Valid until the next message or fail_device(): look it
    // up on each kick rather than keeping it.
    [[nodiscard]] SplitQueue* queue(unsigned index);
    // The next chain the driver made available on a running queue; nullopt when there is none
    // or the queue does not run. An error means the ring is broken: call fail_device().
    std::expected<std::optional<DescriptorChain>, RingError> pop(unsigned index);
    // Signals the call eventfd; false when there is none.
    bool notify(unsigned index);
    // After a batch of pushes: signals the driver when it asked to be.
    void notify_if_needed(unsigned index);

    [[nodiscard]] unsigned queue_count() const { return static_cast<unsigned>(vrings_.size()); }
    [[nodiscard]] uint64_t offered_features() const;
    [[nodiscard]] uint64_t acked_features() const { return acked_features_; }
    [[nodiscard]] uint64_t acked_protocol_features() const { return acked_protocol_features_; }
    [[nodiscard]] int gpu_socket() const { return gpu_socket_.get(); }

    // Tells the frontend that the device's config changed (its displays: sizes, modes), on the
    // backend channel, so that it raises the guest's display event (a QEMU with
    // data/qemu/vhost-user-gpu.patch does; stock QEMU logs it as unhandled). False without a
    // channel or when the frontend does not read it; the guest then sees the change at its next
    // display-info request.
    bool notify_config_change();

private:
    enum class ReadResult { again, progress, message, closed };

    void on_socket_readable();
    ReadResult read_some();
    void dispatch();
    void handle(vhost::Message& message);
    bool send_reply(const std::vector<std::byte>& bytes);
    void ack(const vhost::Message& message, bool success = true);

    bool check_index(uint32_t request, uint32_t index);
    // These return false when the connection closed or was destroyed meanwhile: the caller
    // must then return without touching any member.
    bool update_ready(unsigned index);
    bool rings_stopped();
    bool reset_device();
    void stop_queue(unsigned index);
    void stop_all();
    // Puts a ring's fd in its slot (a kick fd is watched). False when it was closed: the fd is
    // no eventfd, or the loop cannot watch it.
    bool set_fd(unsigned index, UniqueFd& slot, UniqueFd fd, bool watch, std::string_view what);
    void on_kick_readable(unsigned index);
    // Where the ring's areas are in memory_ (the frontend gave user addresses), or why not.
    std::expected<RingAreas, RingError> locate_rings(const VringState& vring) const;
    void unhook_all();

    template <typename... Args> void guest_warn(std::format_string<Args...> fmt, Args&&... args);

    UniqueFd socket_;
    ConnectionCallbacks callbacks_;
    DeviceModel model_;
    bool open_ = true;
    // Expires when the Connection is destroyed, so code that ran a callback can tell.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    LogLimiter limiter_;

    // The message being received.
    std::array<std::byte, vhost::header_size> rx_header_{};
    size_t rx_header_have_ = 0;
    std::optional<vhost::Header> rx_parsed_;
    std::vector<std::byte> rx_payload_;
    size_t rx_payload_have_ = 0;
    std::vector<UniqueFd> rx_fds_;
    bool rx_fds_truncated_ = false;
    uint32_t ack_request_ = 0; // the request being handled, echoed by REPLY_ACK

    uint64_t acked_features_ = 0;
    uint64_t acked_protocol_features_ = 0;
    std::shared_ptr<const GuestMemory> memory_;
    std::vector<VringState> vrings_;
    bool broken_ = false;
    bool running_ = false; // a queue started since the rings last stopped
    UniqueFd gpu_socket_;
    UniqueFd backend_channel_; // SET_BACKEND_REQ_FD: messages to the frontend
};

} // namespace tessera::gpu
