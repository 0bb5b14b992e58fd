#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

// virtio-gpu's feature bits and config space (virtio spec 5.7.2-5.7.4).
namespace tessera::gpu {

namespace gpu_feature {
inline constexpr uint64_t virgl = 1ULL << 0;         // VIRTIO_GPU_F_VIRGL: 3D commands
inline constexpr uint64_t edid = 1ULL << 1;          // VIRTIO_GPU_F_EDID
inline constexpr uint64_t resource_uuid = 1ULL << 2; // VIRTIO_GPU_F_RESOURCE_UUID
inline constexpr uint64_t resource_blob = 1ULL << 3; // VIRTIO_GPU_F_RESOURCE_BLOB
} // namespace gpu_feature

// sizeof(struct virtio_gpu_config): events_read, events_clear, num_scanouts, num_capsets.
inline constexpr size_t gpu_config_size = 16;

// struct virtio_gpu_config as the driver reads it. No event is ever raised, so events_read is
// 0. QEMU overwrites num_scanouts with its own max_outputs.
std::vector<std::byte> gpu_config(uint32_t num_scanouts, uint32_t num_capsets);

// A driver's write: accepted within the space (it changes nothing), refused outside it.
std::optional<std::string> write_gpu_config(uint32_t offset, std::span<const std::byte> data);

} // namespace tessera::gpu
