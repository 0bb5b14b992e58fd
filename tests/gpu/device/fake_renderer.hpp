#pragma once

#include "gpu-backend/virtio_gpu/renderer_3d.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

// A Renderer3d that records what the device asks of it and does what a test says: the
// device's side of 3D (checks, quota, fences) tested without a GPU or virglrenderer.
namespace tessera::gpu::test {

class FakeRenderer : public Renderer3d {
public:
    std::vector<Capset> offered{{proto::capset_virgl, 1, 308}, {proto::capset_virgl2, 2, 1384}};
    bool refuse_resources = false;
    bool reject_submits = false;

    std::map<uint32_t, std::string> contexts;         // id -> name
    std::set<std::pair<uint32_t, uint32_t>> attached; // (context, resource)
    std::set<uint32_t> resources;
    std::map<uint32_t, std::vector<std::span<std::byte>>> backing;
    std::vector<proto::Transfer3d> transfers;
    std::vector<std::vector<std::byte>> submits;
    std::vector<uint64_t> fences; // created, not yet completed

    [[nodiscard]] std::vector<Capset> capsets() const override { return offered; }
    [[nodiscard]] std::vector<std::byte> capset(uint32_t id, uint32_t version) override {
        return std::vector<std::byte>(id == proto::capset_virgl ? 308 : 1384,
                                      static_cast<std::byte>(id * 16 + version));
    }
    bool create_context(uint32_t ctx, uint32_t, std::string_view name) override {
        contexts[ctx] = std::string(name);
        return true;
    }
    void destroy_context(uint32_t ctx) override { contexts.erase(ctx); }
    void attach_resource(uint32_t ctx, uint32_t id) override { attached.insert({ctx, id}); }
    void detach_resource(uint32_t ctx, uint32_t id) override { attached.erase({ctx, id}); }
    bool create_resource(const proto::ResourceCreate3d& args) override {
        if (refuse_resources) {
            return false;
        }
        resources.insert(args.resource_id);
        return true;
    }
    void destroy_resource(uint32_t id) override {
        resources.erase(id);
        std::erase_if(attached, [&](const auto& a) { return a.second == id; });
    }
    bool attach_backing(uint32_t id, std::span<const std::span<std::byte>> pieces) override {
        for (auto piece : pieces) { // what a renderer does with them: read them (ASan checks)
            volatile std::byte first = piece.empty() ? std::byte{} : piece.front();
            volatile std::byte last = piece.empty() ? std::byte{} : piece.back();
            (void)first;
            (void)last;
        }
        backing[id].assign(pieces.begin(), pieces.end());
        return true;
    }
    void detach_backing(uint32_t id) override { backing.erase(id); }
    bool transfer(uint32_t, const proto::Transfer3d& t) override {
        transfers.push_back(t);
        return true;
    }
    bool submit(uint32_t, std::span<const std::byte> commands) override {
        if (reject_submits) {
            return false;
        }
        submits.emplace_back(commands.begin(), commands.end());
        return true;
    }
    // Texel (x, y) of any resource reads as B = x, G = y, R = the command buffers submitted so
    // far, X = 0xff: a frame read back tells where it came from and how new it is.
    bool read_pixels(uint32_t, uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                     uint32_t stride, std::span<std::byte> out) override {
        if (fail_reads || uint64_t{stride} * (height - 1) + uint64_t{width} * 4 > out.size()) {
            return false;
        }
        for (uint32_t row = 0; row < height; ++row) {
            for (uint32_t col = 0; col < width; ++col) {
                auto* texel = out.data() + size_t{row} * stride + size_t{col} * 4;
                texel[0] = static_cast<std::byte>(x + col);
                texel[1] = static_cast<std::byte>(y + row);
                texel[2] = static_cast<std::byte>(submits.size());
                texel[3] = std::byte{0xff};
            }
        }
        return true;
    }
    bool fail_reads = false;

    // Exports, when `exports` is set, each texture as a memfd of `exported_size(width, height)`
    // bytes laid out as `exported`.
    struct Layout {
        uint32_t drm_format = 0;
        uint32_t stride = 0;
        uint32_t offset = 0;
        uint64_t size = 0;
        uint64_t modifier = 0;
    };
    std::optional<Layout> exports;
    std::vector<uint32_t> exported; // resource ids, in order
    [[nodiscard]] std::expected<ExportedImage, std::string>
    export_image(uint32_t resource_id) override {
        if (!exports) {
            return std::unexpected("not exporting");
        }
        UniqueFd fd(memfd_create("fake-texture", MFD_CLOEXEC));
        if (!fd || ftruncate(fd.get(), static_cast<off_t>(exports->size)) != 0) {
            return std::unexpected("no memfd");
        }
        exported.push_back(resource_id);
        return ExportedImage{std::move(fd),   exports->drm_format, exports->modifier,
                             exports->stride, exports->offset,     exports->size};
    }
    bool create_fence(uint32_t, uint64_t fence_id) override {
        fences.push_back(fence_id);
        return true;
    }
    // The GPU finished everything up to and including `fence_id`.
    void complete(uint64_t fence_id) {
        std::erase_if(fences, [&](uint64_t f) { return f <= fence_id; });
        if (on_fence_done) {
            on_fence_done(fence_id);
        }
    }
};

} // namespace tessera::gpu::test
