#pragma once

#include "blob_buffer.hpp"
#include "event_loop.hpp"
#include "device_link.hpp"
#include "driver_stall.hpp"
#include "gpu-backend/backend/guest_backend.hpp"
#include "guest_inputs.hpp"
#include "guest_scanout.hpp"
#include "vmm_access.hpp"
#include "gpu-backend/base/log_limiter.hpp"
#include "ivi/layout.hpp"
#include "gpu-backend/base/unique_fd.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tessera::compositor {

class Server;

// One guest of the layout: tessera listens on its socket, hands the VMM that connects (one at a
// time) to a device process of its own (DeviceLink), which serves its virtio-gpu device and its
// virtio-input devices (GuestInputs), and shows its scanouts in their zones. The guest may go away
// and come back (VM shut down, killed, rebooted) as often as it likes, and its device process may
// die in any way; nothing of it blocks the event loop or touches another guest.
class Guest {
public:
    enum class State {
        listening,   // no VMM connected
        connected,   // a VMM is connected; its driver has not started the device yet
        running,     // the device runs
        stopped,     // the guest broke a virtqueue: the device stays stopped until it resets
        unavailable, // the socket could not be created
    };

    Guest(Server& server, ivi::GuestSpec spec);
    ~Guest();
    Guest(const Guest&) = delete;
    Guest& operator=(const Guest&) = delete;

    [[nodiscard]] const ivi::GuestSpec& spec() const { return spec_; }
    [[nodiscard]] const std::string& socket_path() const { return socket_path_; }
    [[nodiscard]] State state() const;
    [[nodiscard]] const std::string& error() const { return error_; } // when unavailable
    [[nodiscard]] const std::vector<std::unique_ptr<GuestScanout>>& scanouts() const {
        return scanouts_;
    }
    [[nodiscard]] uint64_t connections() const { return connections_; }
    // Connections from peers the layout does not let in (vmm_access.hpp).
    [[nodiscard]] uint64_t refused_connections() const { return refused_connections_; }
    // The device process of the VMM connected now, if any.
    [[nodiscard]] const DeviceLink* link() const { return link_.get(); }
    // Whether the guest stopped taking back its devices' answers or input buffers.
    [[nodiscard]] const DriverStallWatch& driver_stalls() const { return driver_stalls_; }
    [[nodiscard]] GuestInputs& inputs() { return *inputs_; }
    [[nodiscard]] const GuestInputs& inputs() const { return *inputs_; }
    // Passes log levels on to the device process, if one runs.
    void set_log_levels(std::string_view spec);
    // Device processes that ended in failure (crashed, killed, broke the channel, silent).
    [[nodiscard]] uint64_t device_failures() const { return device_failures_; }
    [[nodiscard]] const std::string& last_device_failure() const { return last_failure_; }
    // What each scanout is offered as its preferred mode.
    [[nodiscard]] const gpu::ScanoutConfig& offered(uint32_t index) const {
        return offered_.at(index);
    }
    // Device statistics, summed over this guest's connections.
    [[nodiscard]] gpu::DeviceStats device_stats() const;
    // Backend statistics (requests, ring failures, resets), likewise.
    [[nodiscard]] gpu::BackendStats backend_stats() const;

    static std::string_view state_name(State state);

private:
    void listen();
    // Publishes a health event when the state changed since the last one.
    void report_state(std::string_view reason = {});
    // The device's heartbeat figures: publishes a queue that stalled or recovered.
    void judge_driver(const gpu::channel::Stats& stats);
    void warn_if_directory_closed() const;
    void accept_connection();
    bool admitted(int socket);
    DeviceLinkEvents link_events();
    void link_ended(std::string_view reason, bool failure);
    void release_link();
    DeviceLinkConfig link_config();
    gpu::ScanoutConfig scanout_config(uint32_t index) const;
    void resize_scanout(uint32_t index, int width, int height);
    BlobBuffer* blob_buffer(const LentFrame& frame);
    // Fence signals and released blobs reach the device from an idle callback: never from
    // inside the device's own callbacks or wlroots' buffer unlock.
    void queue_for_device();
    void run_device_queue();

    Server& server_;
    ivi::GuestSpec spec_;
    std::string socket_path_;
    std::string error_;
    UniqueFd listen_fd_;
    std::unique_ptr<FdWatch> listen_watch_;
    std::vector<std::unique_ptr<GuestScanout>> scanouts_;
    std::unique_ptr<DeviceLink> link_;
    std::optional<gpu::channel::DeviceState> device_state_;
    IdleCall release_link_;       // an ended link is destroyed outside its own callbacks
    gpu::DeviceStats past_stats_; // of connections that ended
    gpu::BackendStats past_backend_stats_;
    std::vector<gpu::ScanoutConfig> offered_;
    uint64_t device_failures_ = 0;
    std::string last_failure_;
    BlobBuffers blob_buffers_;
    std::vector<gpu::ResponseToken> fences_to_signal_;
    std::vector<uint32_t> blobs_released_;
    IdleCall device_queue_;
    uint64_t connections_ = 0;
    VmmAccess access_;
    uint64_t refused_connections_ = 0;
    gpu::LogLimiter refusal_log_;
    std::unique_ptr<GuestInputs> inputs_;
    State reported_ = State::listening;
    DriverStallWatch driver_stalls_;
};

} // namespace tessera::compositor
