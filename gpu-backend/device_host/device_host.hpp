#pragma once

#include "gpu-backend/backend/driver_progress.hpp"
#include "gpu-backend/backend/guest_backend.hpp"
#include "gpu-backend/backend/input_backend.hpp"
#include "gpu-backend/base/unique_fd.hpp"
#include "gpu-backend/device_host/channel.hpp"
#include "gpu-backend/virtio_gpu/renderer_3d.hpp"
#include "gpu-backend/virtio_gpu/udmabuf.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

// One guest's devices as a device process runs them: the VMM's vhost-user connection and the
// virtio-gpu device (GuestBackend), and the guest's virtio-input devices (InputBackend), whose
// connections the compositor hands in as the VMM makes them, and whose events it sends as
// frames. They report to the compositor over the channel instead of
// through calls. What the device shows is lent as memory, once per buffer: a blob's dma-buf,
// pieces of guest RAM (region fds sent once per memory table), or a 2D resource's host pixels
// as a sealed memfd. The compositor answers with fences signalled and buffers released.
namespace tessera::gpu {

struct DeviceHostLoop {
    std::function<bool(int fd, std::function<void()> on_readable)> add_fd;
    std::function<void(int fd)> remove_fd;
};

class DeviceHost {
public:
    // `on_finished(reason)`: the VMM or the compositor went, or the channel broke; the host is
    // done and may be destroyed from there. `renderer`: the guest's 3D renderer (it outlives
    // the host), null for a guest without 3D.
    DeviceHost(UniqueFd vmm_socket, UniqueFd channel, DeviceHostLoop loop,
               std::function<void(std::string_view reason)> on_finished,
               Renderer3d* renderer = nullptr);
    ~DeviceHost();
    DeviceHost(const DeviceHost&) = delete;
    DeviceHost& operator=(const DeviceHost&) = delete;

private:
    void on_channel_readable();
    bool handle(channel::Message& message);
    void start(const channel::Config& config, std::vector<UniqueFd> fds);
    void after_event();
    void finish(std::string_view reason);
    void send(const channel::Outgoing& message);

    // Device callbacks.
    void scanout(uint32_t index, const Resource* resource, const ScanoutImage& image);
    // The lend showing `resource`: its mapped guest memory, its host pixels (a copy or a
    // read-back frame) or the renderer's exported texture.
    std::optional<uint32_t> lend(Resource& resource);
    std::optional<uint32_t> lend_memory(const std::shared_ptr<const BlobMemory>& memory);
    bool send_memory();
    void forget_expired();
    void send_stats(uint64_t sequence);

    // Input devices.
    bool attach_input(const channel::AttachInput& attach, UniqueFd socket);
    bool take_input_frame(const channel::Message& message);
    // Sends the device's state when it changed (and `gone` once it went).
    void report_input(uint32_t slot);

    UniqueFd vmm_socket_; // until the Config arrives
    UniqueFd channel_;
    DeviceHostLoop loop_;
    std::function<void(std::string_view)> on_finished_;
    std::unique_ptr<Udmabuf> udmabuf_;
    Renderer3d* renderer_;
    bool renderer_watched_ = false;
    std::unique_ptr<GuestBackend> backend_;
    bool finished_ = false;
    std::optional<channel::DeviceState> state_sent_;

    // Memory lent to the compositor, by lend id.
    struct MemoryLend {
        std::weak_ptr<const BlobMemory> memory;
    };
    std::map<uint32_t, MemoryLend> memory_lends_;
    std::unordered_map<const BlobMemory*, uint32_t> lend_of_memory_;
    // Lends made once per resource (host pixels, exported textures): resource id -> lend id.
    std::unordered_map<uint32_t, uint32_t> pixel_lends_;
    uint32_t next_lend_ = 1;
    // Guest RAM as last sent (Memory), to know when it changed.
    std::weak_ptr<const GuestMemory> memory_sent_;
    uint32_t generation_ = 0;
    // Resources the display may still read: lent to a scanout and not released since.
    std::unordered_map<uint32_t, uint32_t> shown_serial_; // resource id -> last Scanout serial
    std::set<uint32_t> displayed_;
    struct AttachedInput {
        std::unique_ptr<InputBackend> backend;
        std::optional<channel::InputState> sent;
        DriverProgress progress; // does the guest take buffers for the events that wait?
    };
    DriverProgress answers_progress_;          // does the guest take its control-queue answers?
    std::map<uint32_t, AttachedInput> inputs_; // by slot
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace tessera::gpu
