#include "gpu-backend/virtio_gpu/config_space.hpp"

#include <format>

#include "gpu-backend/base/bytes.hpp"

namespace tessera::gpu {

std::vector<std::byte> gpu_config(uint32_t num_scanouts, uint32_t num_capsets) {
    ByteWriter config;
    config.u32(0).u32(0).u32(num_scanouts).u32(num_capsets);
    return std::move(config).take();
}

std::optional<std::string> write_gpu_config(uint32_t offset, std::span<const std::byte> data) {
    // QEMU writes the whole struct back at offset 0. Only events_clear is writable, and with
    // no event raised clearing changes nothing; like hardware, read-only fields ignore writes.
    if (offset > gpu_config_size || data.size() > gpu_config_size - offset) {
        return std::format("bytes {}+{} outside the config space", offset, data.size());
    }
    return std::nullopt;
}

} // namespace tessera::gpu
