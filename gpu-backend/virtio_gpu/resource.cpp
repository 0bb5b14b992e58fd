#include "gpu-backend/virtio_gpu/resource.hpp"

namespace tessera::gpu {

std::unique_ptr<Resource> Resource::create(uint32_t id, proto::Format format, uint32_t width,
                                           uint32_t height) {
    size_t bytes = size_t{width} * proto::bytes_per_pixel * height;
    // calloc: large buffers come zeroed from fresh pages without being touched here, and a
    // failure is a null pointer rather than an exception.
    auto* pixels = static_cast<std::byte*>(std::calloc(bytes == 0 ? 1 : bytes, 1));
    if (pixels == nullptr) {
        return nullptr;
    }
    return std::unique_ptr<Resource>(
        new Resource(id, format, width, height, std::unique_ptr<std::byte, Free>(pixels)));
}

std::unique_ptr<Resource> Resource::create_blob(uint32_t id, uint64_t size, Backing backing) {
    auto resource = std::unique_ptr<Resource>(
        new Resource(id, proto::Format::b8g8r8x8, 0, 0, std::unique_ptr<std::byte, Free>()));
    resource->blob_size_ = size;
    resource->backing = std::move(backing);
    return resource;
}

} // namespace tessera::gpu
