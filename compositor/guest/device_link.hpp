#pragma once

#include "event_loop.hpp"
#include "gpu-backend/base/unique_fd.hpp"
#include "gpu-backend/device_host/channel.hpp"
#include "gpu-backend/virtio_gpu/blob_memory.hpp"
#include "gpu-backend/virtio_gpu/device.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tessera::gpu {
class DeviceHost;
class Udmabuf;
} // namespace tessera::gpu
namespace tessera {
class EpollLoop;
}

namespace tessera::compositor {

// What a scanout shows, as lent by the guest's device process: memory mapped read-only here
// (a dma-buf, pieces of guest RAM, or the device's host pixels) and how to read it.
struct LentFrame {
    uint32_t resource_id = 0;
    std::shared_ptr<const gpu::BlobMemory> memory;
    gpu::ScanoutImage image;
    bool in_place = true;   // else: host pixels, copied as the guest flushes
    bool read_back = false; // in place: host pixels the device read back from its renderer
};

struct DeviceLinkEvents {
    std::function<void(gpu::channel::DeviceState)> on_state;
    // `frame` null: the scanout shows nothing.
    std::function<void(uint32_t index, const LentFrame* frame)> on_scanout;
    std::function<void(uint32_t index, gpu::proto::Rect damage)> on_flush;
    std::function<void(uint32_t index, gpu::ResponseToken token)> on_fence;
    std::function<void(uint32_t index, const gpu::Cursor& cursor, bool image_changed)> on_cursor;
    std::function<void(uint32_t resource_id)> on_resource_gone;
    // An input device's state or LEDs changed (`gone`: its connection ended).
    std::function<void(const gpu::channel::InputState&)> on_input_state;
    // The device's figures, sent with each heartbeat.
    std::function<void(const gpu::channel::Stats&)> on_stats;
    // The device process ended, broke the channel or stopped answering (level 2), or the VMM
    // went (`failure` false). The link is done; destroy it outside this call.
    std::function<void(std::string_view reason, bool failure)> on_ended;
};

struct DeviceLinkConfig {
    std::string guest;
    std::vector<gpu::ScanoutConfig> scanouts;
    gpu::Quota quota;
    gpu::Udmabuf* udmabuf = nullptr; // handed to the device when available
    // Where the devices run: their own sandboxed process (the product), or this process behind
    // the same channel (to measure what the wall costs).
    bool in_process = false;
    std::string program;  // tessera-device
    std::string log_spec; // the device process's log levels
    // 3D: the device process starts a renderer, on `render_node` (the compositor's GPU) or,
    // empty, on whatever EGL surfaceless finds (a GPU, else llvmpipe). Not in-process.
    bool three_d = false;
    std::string render_node;
    std::chrono::milliseconds ping_period{500};
    std::chrono::milliseconds answer_timeout{3000}; // a device silent this long is ended
    std::chrono::milliseconds start_timeout{15000}; // likewise, one that never said anything
};

// The compositor's end of one guest's device process: it starts the process with the VMM's
// socket, reads what the device reports over the channel, checks every message (the process
// counts as hostile: a guest may have taken it over) and maps the memory it lends. Anything
// wrong ends the process: its guest loses its device, nothing else does.
class DeviceLink {
public:
    // The error says why no device process could be started.
    static std::expected<std::unique_ptr<DeviceLink>, std::string>
    start(wl_event_loop* loop, UniqueFd vmm_socket, const DeviceLinkConfig& config,
          DeviceLinkEvents events);
    ~DeviceLink();
    DeviceLink(const DeviceLink&) = delete;
    DeviceLink& operator=(const DeviceLink&) = delete;

    void signal_fence(gpu::ResponseToken token);
    void display_released(uint32_t resource_id);
    void set_scanout_mode(uint32_t index, const gpu::ScanoutConfig& mode);
    // Hands the device process the VMM's connection of an input device, on `attach.slot`.
    void attach_input(const gpu::channel::AttachInput& attach, UniqueFd socket);
    // One input frame for the device on `slot` (at most channel::max_input_frame events).
    void send_input(uint32_t slot, std::span<const gpu::channel::WireInputEvent> events);
    // The log levels changed (tessera-ctl log-level): the device process takes them too.
    void set_log_levels(std::string_view spec);
    // Ends the device process now (SIGKILL) and reports nothing more.
    void end();

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] bool ended() const { return ended_; }
    // The device's statistics as last reported (with each answered ping).
    [[nodiscard]] const gpu::channel::Stats& stats() const { return stats_; }
    // Pings answered: every message the device sent before answering one has been handled.
    [[nodiscard]] uint64_t pings_answered() const { return pings_answered_; }
    [[nodiscard]] size_t lends() const { return lends_.size(); }

private:
    DeviceLink(wl_event_loop* loop, const DeviceLinkConfig& config, DeviceLinkEvents events);
    std::expected<void, std::string> spawn(UniqueFd vmm_socket, UniqueFd device_end);
    std::expected<void, std::string> host_here(UniqueFd vmm_socket, UniqueFd device_end);
    void on_channel();
    void drain(bool exited);
    std::optional<std::string> handle(gpu::channel::Message& message);
    std::optional<std::string> take_memory(gpu::channel::Message& message);
    std::optional<std::string> take_lend(gpu::channel::Message& message);
    std::optional<std::string> take_scanout(const gpu::channel::Message& message);
    std::optional<std::string> take_cursor(const gpu::channel::Message& message);
    void send(const gpu::channel::Outgoing& message);
    void ping();
    void on_exit();
    void fail(std::string_view reason);
    void finish(std::string_view reason, bool failure);

    wl_event_loop* loop_;
    DeviceLinkConfig config_;
    DeviceLinkEvents events_;
    UniqueFd channel_;
    std::unique_ptr<FdWatch> channel_watch_;
    pid_t pid_ = -1;
    UniqueFd pidfd_;
    std::unique_ptr<FdWatch> pidfd_watch_;
    // In-process mode: the device host and its loop.
    std::unique_ptr<EpollLoop> host_loop_;
    std::unique_ptr<gpu::DeviceHost> host_;
    std::unique_ptr<FdWatch> host_watch_;
    IdleCall drop_host_;

    struct Generation {
        std::vector<UniqueFd> fds;
        std::vector<uint64_t> sizes;
        bool usable = true;
    };
    std::map<uint32_t, Generation> generations_; // the latest two
    bool unsealed_reported_ = false;
    struct Lend {
        std::shared_ptr<const gpu::BlobMemory> memory;
        gpu::channel::LendKind kind;
    };
    std::unordered_map<uint32_t, Lend> lends_;
    uint64_t lent_bytes_ = 0;
    std::unordered_map<uint32_t, uint32_t> serial_; // resource id -> last Scanout serial

    Timer ping_timer_;
    uint64_t ping_sequence_ = 0;
    std::optional<std::chrono::steady_clock::time_point> ping_sent_at_;
    uint64_t pings_answered_ = 0;
    bool heard_from_ = false; // a valid message came: the process has started
    gpu::channel::Stats stats_{};
    std::string closed_reason_;
    bool ended_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace tessera::compositor
