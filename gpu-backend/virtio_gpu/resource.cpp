#include "gpu-backend/virtio_gpu/resource.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

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

std::unique_ptr<Resource> Resource::create_exported(uint32_t id, proto::Format format,
                                                    uint32_t width, uint32_t height,
                                                    ExportedImage image) {
    auto resource = std::unique_ptr<Resource>(
        new Resource(id, format, width, height, std::unique_ptr<std::byte, Free>()));
    resource->exported_ = std::move(image);
    return resource;
}

std::unique_ptr<Resource> Resource::create_blob(uint32_t id, uint64_t size, Backing backing) {
    auto resource = std::unique_ptr<Resource>(
        new Resource(id, proto::Format::b8g8r8x8, 0, 0, std::unique_ptr<std::byte, Free>()));
    resource->blob_size_ = size;
    resource->backing = std::move(backing);
    return resource;
}

Resource::~Resource() {
    if (shared_pixels_ != nullptr) {
        munmap(shared_pixels_, size_bytes() == 0 ? 1 : size_bytes());
    }
}

int Resource::share_pixels() {
    if (is_blob() || exported_) {
        return -1;
    }
    if (pixels_fd_) {
        return pixels_fd_.get();
    }
    size_t bytes = size_bytes() == 0 ? 1 : size_bytes();
    UniqueFd fd(memfd_create("tessera-pixels", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd || ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0 ||
        fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        return -1;
    }
    void* mapping = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (mapping == MAP_FAILED) {
        return -1;
    }
    shared_pixels_ = static_cast<std::byte*>(mapping);
    std::memcpy(shared_pixels_, pixels_.get(), size_bytes());
    pixels_.reset();
    pixels_fd_ = std::move(fd);
    return pixels_fd_.get();
}

} // namespace tessera::gpu
