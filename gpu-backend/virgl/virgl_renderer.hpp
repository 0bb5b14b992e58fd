#pragma once

#include "gpu-backend/virtio_gpu/renderer_3d.hpp"

#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <deque>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

// virglrenderer as a guest's Renderer3d: the guest's Gallium command streams (virgl) executed
// with the host's OpenGL through EGL, on a GPU render node or, without one, on Mesa's llvmpipe
// (EGL surfaceless). virglrenderer keeps its state in the process: one VirglRenderer per
// process, which is what a guest's device process is. It parses hostile command streams;
// that is why it runs there and never in the compositor.
namespace tessera::gpu {

struct VirglOptions {
    // A DRM render node to render on ("/dev/dri/renderD128"), the one tessera renders on;
    // empty: EGL surfaceless, which is llvmpipe where the host has no GPU (tessera then draws
    // with the CPU, so only linear textures are shown without a copy).
    std::string render_node;
};

class VirglRenderer : public Renderer3d {
public:
    // Fails (saying why) when EGL or the GL driver cannot be brought up, or when another
    // VirglRenderer is alive in this process.
    static std::expected<std::unique_ptr<VirglRenderer>, std::string> create(VirglOptions options);
    ~VirglRenderer() override;
    VirglRenderer(const VirglRenderer&) = delete;
    VirglRenderer& operator=(const VirglRenderer&) = delete;

    [[nodiscard]] int poll_fd() const override;
    void poll() override;

    [[nodiscard]] std::vector<Capset> capsets() const override;
    [[nodiscard]] std::vector<std::byte> capset(uint32_t id, uint32_t version) override;
    bool create_context(uint32_t ctx_id, uint32_t capset_id, std::string_view name) override;
    void destroy_context(uint32_t ctx_id) override;
    void attach_resource(uint32_t ctx_id, uint32_t resource_id) override;
    void detach_resource(uint32_t ctx_id, uint32_t resource_id) override;
    bool create_resource(const proto::ResourceCreate3d& args) override;
    void destroy_resource(uint32_t resource_id) override;
    bool attach_backing(uint32_t resource_id,
                        std::span<const std::span<std::byte>> pieces) override;
    void detach_backing(uint32_t resource_id) override;
    bool transfer(uint32_t ctx_id, const proto::Transfer3d& transfer) override;
    bool submit(uint32_t ctx_id, std::span<const std::byte> commands) override;
    bool read_pixels(uint32_t resource_id, uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                     uint32_t stride, std::span<std::byte> out) override;
    bool create_fence(uint32_t ctx_id, uint64_t fence_id) override;
    [[nodiscard]] std::expected<ExportedImage, std::string>
    export_image(uint32_t resource_id) override;

    // virglrenderer's callback: its fence `fence` and all before it are done.
    void fence_written(uint32_t fence);

private:
    VirglRenderer() = default;
    // How the driver stores a texture's rows, by the guest's Y_0_TOP flag (0, 1): learnt at start
    // from a small texture uploaded and exported; unset where that cannot be seen.
    void learn_row_order();
    std::array<std::optional<bool>, 2> bottom_up_;
    std::string cannot_export_; // why not, when the driver exports nothing

    std::unordered_map<uint32_t, std::vector<iovec>> backing_; // virglrenderer keeps pointers
    // virglrenderer's fences are 32-bit: ours, in creation order, by the id given to it.
    struct Fence {
        uint32_t virgl_id;
        uint64_t fence_id;
    };
    std::deque<Fence> fences_;
    uint32_t next_virgl_fence_ = 1;
    std::vector<uint32_t> submit_buffer_; // dword-aligned copy of a command buffer
};

} // namespace tessera::gpu
