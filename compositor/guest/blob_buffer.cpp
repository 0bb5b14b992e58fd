#include "blob_buffer.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>

namespace tessera::compositor {

namespace {

// What the display should make of a guest format: the same bytes, without alpha.
uint32_t opaque_drm_format(gpu::proto::Format format) {
    switch (format) {
    case gpu::proto::Format::b8g8r8a8:
        return DRM_FORMAT_XRGB8888;
    case gpu::proto::Format::a8r8g8b8:
        return DRM_FORMAT_BGRX8888;
    case gpu::proto::Format::r8g8b8a8:
        return DRM_FORMAT_XBGR8888;
    case gpu::proto::Format::a8b8g8r8:
        return DRM_FORMAT_RGBX8888;
    default:
        return gpu::proto::drm_fourcc(format);
    }
}

} // namespace

const wlr_buffer_impl BlobBuffer::impl = {
    .destroy = [](wlr_buffer* buffer) { delete from(buffer); },
    .get_dmabuf =
        [](wlr_buffer* buffer, wlr_dmabuf_attributes* attributes) {
            auto* self = from(buffer);
            if (self->memory_->dmabuf() < 0) {
                return false;
            }
            *attributes = {};
            attributes->width = buffer->width;
            attributes->height = buffer->height;
            attributes->format = self->drm_format_;
            attributes->modifier = self->image_.modifier;
            attributes->n_planes = 1;
            attributes->offset[0] = static_cast<uint32_t>(self->image_.offset);
            attributes->stride[0] = self->image_.stride;
            attributes->fd[0] = self->memory_->dmabuf();
            self->last_access_ = Access::dmabuf_import;
            return true;
        },
    .get_shm = nullptr,
    .begin_data_ptr_access =
        [](wlr_buffer* buffer, uint32_t flags, void** data, uint32_t* format, size_t* stride) {
            if (flags & WLR_BUFFER_DATA_PTR_ACCESS_WRITE) {
                return false; // the guest's pages: only the guest writes them
            }
            auto* self = from(buffer);
            if (self->image_.modifier != gpu::proto::modifier_linear) {
                return false; // tiled as the GPU likes it: for the GPU to read
            }
            *data = const_cast<std::byte*>(self->memory_->bytes().data() + self->image_.offset);
            *format = self->drm_format_;
            *stride = self->image_.stride;
            self->last_access_ = Access::mapping;
            return true;
        },
    .end_data_ptr_access = [](wlr_buffer*) {},
};

BlobBuffer* BlobBuffer::from(wlr_buffer* buffer) {
    return reinterpret_cast<Base*>(buffer)->self;
}

BlobBuffer::BlobBuffer(std::shared_ptr<const gpu::BlobMemory> memory,
                       const gpu::ScanoutImage& image)
    : memory_(std::move(memory)), image_(image), drm_format_(opaque_drm_format(image.format)) {
    base_.self = this;
    wlr_buffer_init(&base_.buffer, &impl, static_cast<int>(image.width),
                    static_cast<int>(image.height));
    on_buffer_release_.connect(&base_.buffer.events.release, [this](void*) {
        if (on_release_) {
            on_release_();
        }
    });
}

void BlobBuffer::drop() {
    on_release_ = nullptr;
    wlr_buffer_drop(&base_.buffer);
}

BlobBuffers::BlobBuffers(std::function<void(uint32_t resource_id)> on_released)
    : on_released_(std::move(on_released)) {}

BlobBuffers::~BlobBuffers() {
    clear();
}

BlobBuffer* BlobBuffers::get(uint32_t resource_id,
                             const std::shared_ptr<const gpu::BlobMemory>& memory,
                             const gpu::ScanoutImage& image) {
    // The rect only crops: images differing in it alone share a buffer.
    gpu::ScanoutImage whole = image;
    whole.rect = {};
    auto [first, last] = buffers_.equal_range(resource_id);
    for (auto it = first; it != last; ++it) {
        // A 2D resource's backing may be detached and another one mapped: a buffer per mapping.
        if (it->second->image() == whole && it->second->shows(memory)) {
            return it->second;
        }
    }
    if (std::distance(first, last) >= static_cast<ptrdiff_t>(max_images_per_blob)) {
        // A guest may point its scanout at a blob in ever new ways: the buffers nothing
        // holds go, and the ones shown stay (as many as scanouts and commits in flight).
        for (auto it = first; it != last;) {
            if (it->second->in_use()) {
                ++it;
            } else {
                it->second->drop();
                it = buffers_.erase(it);
            }
        }
    }
    auto* buffer = new BlobBuffer(memory, whole);
    uint32_t id = resource_id;
    buffer->set_on_release([this, id] {
        if (!in_use(id)) {
            on_released_(id);
        }
    });
    buffers_.emplace(id, buffer);
    return buffer;
}

size_t BlobBuffers::images(uint32_t resource_id) const {
    return buffers_.count(resource_id);
}

bool BlobBuffers::in_use(uint32_t resource_id) const {
    auto [first, last] = buffers_.equal_range(resource_id);
    return std::any_of(first, last, [](const auto& entry) { return entry.second->in_use(); });
}

void BlobBuffers::forget(uint32_t resource_id) {
    auto [first, last] = buffers_.equal_range(resource_id);
    for (auto it = first; it != last; ++it) {
        it->second->drop();
    }
    buffers_.erase(first, last);
}

void BlobBuffers::clear() {
    for (auto& [key, buffer] : buffers_) {
        buffer->drop();
    }
    buffers_.clear();
}

} // namespace tessera::compositor
