#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

// What the vhost-user transport needs to know of the virtio device it carries. The transport
// is the same for every device type; a device model (virtio_gpu/, virtio_input/) describes
// itself with this and handles its queues' contents through ConnectionCallbacks.
namespace tessera::gpu {

struct DeviceModel {
    // For log lines: "virtio-gpu", "virtio-input".
    std::string name;
    // Virtqueues the device has (GET_QUEUE_NUM); at most Connection::max_queues.
    unsigned queue_count = 0;
    // Device-type feature bits (0 to 23) offered besides the transport's own.
    uint64_t features = 0;
    // VHOST_USER_GPU_SET_SOCKET is part of vhost-user-gpu only: other devices refuse it.
    bool takes_gpu_socket = false;
    // The whole config space as it reads now; GET_CONFIG answers any slice of it.
    std::function<std::vector<std::byte>()> read_config;
    // A driver's write into the config space (SET_CONFIG). Returns the error when the write
    // is refused (outside the space, a read-only field); the frontend hears a failure.
    std::function<std::optional<std::string>(uint32_t offset, std::span<const std::byte> data)>
        write_config;
};

} // namespace tessera::gpu
