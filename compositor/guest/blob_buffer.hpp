#pragma once

#include "gpu-backend/virtio_gpu/blob_memory.hpp"
#include "gpu-backend/virtio_gpu/device.hpp"
#include "listener.hpp"
#include "wlr.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

namespace tessera::compositor {

// Guest memory the device mapped (a blob, or a 2D image in its backing: "blob" below) as a
// wlr_buffer, made once per blob (and way of reading it) and kept for the blob's life, so
// renderers and the DRM backend can cache what they import. It offers the blob's
// dma-buf when udmabuf made one, and data access to its pages in place: GLES2 imports the one,
// pixman reads the other; neither copies on the host. Guest formats with alpha are offered as
// their opaque twins: a scanout has no transparency.
class BlobBuffer {
public:
    enum class Access {
        none,
        dmabuf_import, // a renderer or the display imported the dma-buf
        mapping,       // a renderer read the pages through data access
    };

    BlobBuffer(std::shared_ptr<const gpu::BlobMemory> memory, const gpu::ScanoutImage& image);
    BlobBuffer(const BlobBuffer&) = delete;
    BlobBuffer& operator=(const BlobBuffer&) = delete;

    [[nodiscard]] wlr_buffer* wlr() { return &base_.buffer; }
    [[nodiscard]] const gpu::ScanoutImage& image() const { return image_; }
    [[nodiscard]] const gpu::BlobMemory& memory() const { return *memory_; }
    [[nodiscard]] bool shows(const std::shared_ptr<const gpu::BlobMemory>& memory) const {
        return memory_ == memory;
    }
    [[nodiscard]] Access last_access() const { return last_access_; }
    // Someone (the scene, a renderer's texture, the display) holds the buffer.
    [[nodiscard]] bool in_use() const { return base_.buffer.n_locks > 0; }
    // Called each time the last lock goes.
    void set_on_release(std::function<void()> on_release) { on_release_ = std::move(on_release); }
    // The producer is done with it; wlroots destroys it once unlocked.
    void drop();

private:
    // Standard layout, so that the wlr_buffer converts back to it.
    struct Base {
        wlr_buffer buffer;
        BlobBuffer* self;
    };
    static_assert(std::is_standard_layout_v<Base>);
    static BlobBuffer* from(wlr_buffer* buffer);
    static const wlr_buffer_impl impl;

    ~BlobBuffer() = default; // through wlr_buffer_drop only

    Base base_{};
    std::shared_ptr<const gpu::BlobMemory> memory_;
    gpu::ScanoutImage image_;
    uint32_t drm_format_;
    Access last_access_ = Access::none;
    std::function<void()> on_release_;
    Listener<void> on_buffer_release_;
};

// One guest's blob buffers, by resource, mapping and way of reading it. The device's scanouts
// take them from here; the device asks whether the display still uses a blob before it answers
// its UNREF (or a 2D resource's detach).
class BlobBuffers {
public:
    // `on_released(resource_id)`: a blob's buffers are no longer in use. Called from inside
    // wlroots' unlock: do not drop buffers from there.
    explicit BlobBuffers(std::function<void(uint32_t resource_id)> on_released);
    ~BlobBuffers();
    BlobBuffers(const BlobBuffers&) = delete;
    BlobBuffers& operator=(const BlobBuffers&) = delete;

    // A blob holding several frames (flipped by offset) keeps a buffer for each, up to this
    // many; beyond it, making a new one drops those nothing uses.
    static constexpr size_t max_images_per_blob = 4;

    // The buffer showing `image` of resource `resource_id`, whose memory is `memory`.
    BlobBuffer* get(uint32_t resource_id, const std::shared_ptr<const gpu::BlobMemory>& memory,
                    const gpu::ScanoutImage& image);
    [[nodiscard]] size_t images(uint32_t resource_id) const; // buffers kept for the blob
    [[nodiscard]] bool in_use(uint32_t resource_id) const;
    void forget(uint32_t resource_id); // the blob is gone
    void clear();

private:
    std::function<void(uint32_t)> on_released_;
    std::multimap<uint32_t, BlobBuffer*> buffers_; // by resource id
};

} // namespace tessera::compositor
