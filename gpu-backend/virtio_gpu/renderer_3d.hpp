#pragma once

#include "gpu-backend/base/unique_fd.hpp"
#include "gpu-backend/virtio_gpu/protocol_3d.hpp"

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// What renders a guest's 3D commands on the host: virglrenderer in the guest's device process
// (virgl/), a recording fake in tests. The device model has checked every id, size and quota
// before it calls; the command buffers of submit() are the renderer's to parse, and it must
// treat them as hostile. Called from the device's one event loop.
namespace tessera::gpu {

struct Capset {
    uint32_t id = 0;
    uint32_t max_version = 0;
    uint32_t max_size = 0;
};

// A render target's pixels as a dma-buf that the display shows as it is: no copy.
struct ExportedImage {
    UniqueFd dmabuf;
    uint32_t drm_format = 0; // DRM fourcc, as the driver lays the pixels out
    uint64_t modifier = 0;   // DRM format modifier (0: linear)
    uint32_t stride = 0;
    uint32_t offset = 0;
    uint64_t size = 0;      // of the dma-buf
    bool bottom_up = false; // rows stored bottom first (OpenGL's order): shown flipped
};

class Renderer3d {
public:
    virtual ~Renderer3d() = default;

    // The capability sets offered to the guest (their count is the config's num_capsets).
    [[nodiscard]] virtual std::vector<Capset> capsets() const = 0;
    // The bytes of one capset at `version` (at most its max_size); empty when unknown.
    [[nodiscard]] virtual std::vector<std::byte> capset(uint32_t id, uint32_t version) = 0;

    // `capset_id` is the context kind (proto::capset_*); the device only passes kinds listed
    // in capsets().
    virtual bool create_context(uint32_t ctx_id, uint32_t capset_id, std::string_view name) = 0;
    virtual void destroy_context(uint32_t ctx_id) = 0;
    virtual void attach_resource(uint32_t ctx_id, uint32_t resource_id) = 0;
    virtual void detach_resource(uint32_t ctx_id, uint32_t resource_id) = 0;

    virtual bool create_resource(const proto::ResourceCreate3d& args) = 0;
    virtual void destroy_resource(uint32_t resource_id) = 0;
    // The guest memory behind a resource, in order. The pieces stay valid until
    // detach_backing() or destroy_resource() (the device re-attaches when guest memory is
    // mapped anew).
    virtual bool attach_backing(uint32_t resource_id,
                                std::span<const std::span<std::byte>> pieces) = 0;
    virtual void detach_backing(uint32_t resource_id) = 0;
    // Between a resource's host copy and its backing, per the guest's box and layout.
    virtual bool transfer(uint32_t ctx_id, const proto::Transfer3d& transfer) = 0;
    // One command buffer of whole dwords.
    virtual bool submit(uint32_t ctx_id, std::span<const std::byte> commands) = 0;
    // Reads a rectangle of a 2D render target into `out` as rows `stride` bytes apart (the
    // readback path of a 3D scanout where no dma-buf can be exported).
    virtual bool read_pixels(uint32_t resource_id, uint32_t x, uint32_t y, uint32_t width,
                             uint32_t height, uint32_t stride, std::span<std::byte> out) = 0;

    // The render target `resource_id` (flat, 2D) as a dma-buf, valid for as long as the
    // resource lives: where the renderer's driver can export its textures (a GPU render node).
    // The error says why not; the display then reads frames back with read_pixels().
    [[nodiscard]] virtual std::expected<ExportedImage, std::string>
    export_image(uint32_t /*resource_id*/) {
        return std::unexpected("this renderer exports no images");
    }

    // A fence after everything submitted so far on `ctx_id`: on_fence_done(fence_id) is called
    // from poll() once that work is done, fences in the order they were created.
    virtual bool create_fence(uint32_t ctx_id, uint64_t fence_id) = 0;
    std::function<void(uint64_t fence_id)> on_fence_done;

    // Readable when finished work waits to be retired; -1: call poll() on a timer instead.
    [[nodiscard]] virtual int poll_fd() const { return -1; }
    // Retires finished work (on_fence_done for the fences passed).
    virtual void poll() {}
};

} // namespace tessera::gpu
