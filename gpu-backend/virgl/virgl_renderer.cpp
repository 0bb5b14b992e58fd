#include "gpu-backend/virgl/virgl_renderer.hpp"

#include "gpu-backend/base/log.hpp"
#include "gpu-backend/virtio_gpu/protocol.hpp"

extern "C" { // the header has no C++ guard of its own
#include <virgl/virglrenderer.h>
}

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <format>

// virglrenderer.h declares the box of its transfers without its fields; this is its layout
// (virgl_hw.h), which every virglrenderer user completes the same way.
struct virgl_box {
    uint32_t x, y, z, w, h, d;
};

// virglrenderer's resource flag (virgl_hw.h), which Linux's console sets on its buffers and its
// 3D driver does not. It changes the order in which the texture's rows are stored; which order
// each value gives is the driver's, learnt at start (learn_row_order()).
constexpr uint32_t virgl_resource_y_0_top = 1;

namespace tessera::gpu {
namespace {

log::Scope& virgl_log() {
    static log::Scope scope("gpu.virgl");
    return scope;
}

VirglRenderer* live = nullptr; // virglrenderer's state is the process's: one at a time
VirglOptions live_options;

void write_fence(void* cookie, uint32_t fence);

std::string_view where_it_renders() {
    return live_options.render_node.empty() ? std::string_view("EGL surfaceless")
                                            : std::string_view(live_options.render_node);
}

int open_render_node(void*) {
    if (live_options.render_node.empty()) {
        return -1;
    }
    return ::open(live_options.render_node.c_str(), O_RDWR | O_CLOEXEC);
}

virgl_renderer_callbacks callbacks = {
    .version = 2,
    .write_fence = write_fence,
    .create_gl_context = nullptr,
    .destroy_gl_context = nullptr,
    .make_current = nullptr,
    .get_drm_fd = open_render_node,
    .write_context_fence = nullptr,
    .get_server_fd = nullptr,
    .get_egl_display = nullptr,
};

void log_line(virgl_log_level_flags level, const char* message, void*) {
    std::string_view text(message);
    while (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
    }
    if (level >= VIRGL_LOG_LEVEL_ERROR) {
        log::warn(virgl_log(), "{}", text);
    } else {
        log::debug(virgl_log(), "{}", text);
    }
}

iovec to_iovec(std::span<std::byte> piece) {
    return {piece.data(), piece.size()};
}

virgl_box to_box(const proto::Box& b) {
    return {b.x, b.y, b.z, b.w, b.h, b.d};
}

} // namespace

namespace {
void write_fence(void*, uint32_t fence) {
    if (live != nullptr) {
        live->fence_written(fence);
    }
}
} // namespace

std::expected<std::unique_ptr<VirglRenderer>, std::string>
VirglRenderer::create(VirglOptions options) {
    if (live != nullptr) {
        return std::unexpected("a renderer is already running in this process");
    }
    live_options = std::move(options);
    virgl_set_log_callback(log_line, nullptr, nullptr);
    std::unique_ptr<VirglRenderer> renderer(new VirglRenderer());
    int flags = VIRGL_RENDERER_USE_EGL | VIRGL_RENDERER_THREAD_SYNC;
    if (live_options.render_node.empty()) {
        flags |= VIRGL_RENDERER_USE_SURFACELESS;
    }
    live = renderer.get();
    if (int error = virgl_renderer_init(renderer.get(), flags, &callbacks); error != 0) {
        live = nullptr;
        return std::unexpected(
            std::format("virglrenderer did not start on {} (error {})", where_it_renders(), error));
    }
    renderer->learn_row_order();
    log::info(virgl_log(), "virglrenderer on {}; scanouts {}", where_it_renders(),
              renderer->cannot_export_.empty()
                  ? "shown from its textures (dma-bufs)"
                  : std::format("read back ({})", renderer->cannot_export_));
    return renderer;
}

VirglRenderer::~VirglRenderer() {
    virgl_renderer_cleanup(this);
    live = nullptr;
}

int VirglRenderer::poll_fd() const {
    return virgl_renderer_get_poll_fd();
}

void VirglRenderer::poll() {
    virgl_renderer_poll();
}

void VirglRenderer::fence_written(uint32_t fence) {
    // Fences retire in order: every one up to `fence` is done.
    auto it = std::ranges::find(fences_, fence, &Fence::virgl_id);
    if (it == fences_.end()) {
        return;
    }
    uint64_t fence_id = it->fence_id;
    fences_.erase(fences_.begin(), it + 1);
    if (on_fence_done) {
        on_fence_done(fence_id);
    }
}

std::vector<Capset> VirglRenderer::capsets() const {
    std::vector<Capset> out;
    for (uint32_t id : {proto::capset_virgl, proto::capset_virgl2}) {
        uint32_t max_version = 0;
        uint32_t max_size = 0;
        virgl_renderer_get_cap_set(id, &max_version, &max_size);
        if (max_size != 0 && max_size <= proto::max_capset_bytes) {
            out.push_back({id, max_version, max_size});
        }
    }
    return out;
}

std::vector<std::byte> VirglRenderer::capset(uint32_t id, uint32_t version) {
    uint32_t max_version = 0;
    uint32_t max_size = 0;
    virgl_renderer_get_cap_set(id, &max_version, &max_size);
    if (max_size == 0 || max_size > proto::max_capset_bytes || version > max_version) {
        return {};
    }
    std::vector<std::byte> out(max_size);
    virgl_renderer_fill_caps(id, version, out.data());
    return out;
}

bool VirglRenderer::create_context(uint32_t ctx_id, uint32_t capset_id, std::string_view name) {
    return virgl_renderer_context_create_with_flags(ctx_id, capset_id,
                                                    static_cast<uint32_t>(name.size()),
                                                    std::string(name).c_str()) == 0;
}

void VirglRenderer::destroy_context(uint32_t ctx_id) {
    virgl_renderer_context_destroy(ctx_id);
}

void VirglRenderer::attach_resource(uint32_t ctx_id, uint32_t resource_id) {
    virgl_renderer_ctx_attach_resource(static_cast<int>(ctx_id), static_cast<int>(resource_id));
}

void VirglRenderer::detach_resource(uint32_t ctx_id, uint32_t resource_id) {
    virgl_renderer_ctx_detach_resource(static_cast<int>(ctx_id), static_cast<int>(resource_id));
}

bool VirglRenderer::create_resource(const proto::ResourceCreate3d& c) {
    virgl_renderer_resource_create_args args{
        .handle = c.resource_id,
        .target = c.target,
        .format = c.format,
        .bind = c.bind,
        .width = c.width,
        .height = c.height,
        .depth = c.depth,
        .array_size = c.array_size,
        .last_level = c.last_level,
        .nr_samples = c.nr_samples,
        .flags = c.flags,
    };
    return virgl_renderer_resource_create(&args, nullptr, 0) == 0;
}

void VirglRenderer::destroy_resource(uint32_t resource_id) {
    detach_backing(resource_id);
    virgl_renderer_resource_unref(resource_id);
}

bool VirglRenderer::attach_backing(uint32_t resource_id,
                                   std::span<const std::span<std::byte>> pieces) {
    detach_backing(resource_id);
    auto& iovecs = backing_[resource_id];
    std::ranges::transform(pieces, std::back_inserter(iovecs), to_iovec);
    if (virgl_renderer_resource_attach_iov(static_cast<int>(resource_id), iovecs.data(),
                                           static_cast<int>(iovecs.size())) != 0) {
        backing_.erase(resource_id);
        return false;
    }
    return true;
}

void VirglRenderer::detach_backing(uint32_t resource_id) {
    auto it = backing_.find(resource_id);
    if (it == backing_.end()) {
        return;
    }
    iovec* iovecs = nullptr;
    int count = 0;
    virgl_renderer_resource_detach_iov(static_cast<int>(resource_id), &iovecs, &count);
    backing_.erase(it);
}

bool VirglRenderer::transfer(uint32_t ctx_id, const proto::Transfer3d& t) {
    virgl_box box = to_box(t.box);
    int result = t.to_host
                     ? virgl_renderer_transfer_write_iov(t.resource_id, ctx_id,
                                                         static_cast<int>(t.level), t.stride,
                                                         t.layer_stride, &box, t.offset, nullptr, 0)
                     : virgl_renderer_transfer_read_iov(t.resource_id, ctx_id, t.level, t.stride,
                                                        t.layer_stride, &box, t.offset, nullptr, 0);
    return result == 0;
}

bool VirglRenderer::submit(uint32_t ctx_id, std::span<const std::byte> commands) {
    submit_buffer_.resize(commands.size() / 4);
    std::memcpy(submit_buffer_.data(), commands.data(), submit_buffer_.size() * 4);
    return virgl_renderer_submit_cmd(submit_buffer_.data(), static_cast<int>(ctx_id),
                                     static_cast<int>(submit_buffer_.size())) == 0;
}

bool VirglRenderer::read_pixels(uint32_t resource_id, uint32_t x, uint32_t y, uint32_t width,
                                uint32_t height, uint32_t stride, std::span<std::byte> out) {
    if (height == 0 || uint64_t{stride} * (height - 1) + uint64_t{width} * 4 > out.size()) {
        return false;
    }
    virgl_box box{x, y, 0, width, height, 1};
    iovec iov{out.data(), out.size()};
    return virgl_renderer_transfer_read_iov(resource_id, 0, 0, stride, 0, &box, 0, &iov, 1) == 0;
}

bool VirglRenderer::create_fence(uint32_t ctx_id, uint64_t fence_id) {
    uint32_t virgl_id = next_virgl_fence_++;
    if (next_virgl_fence_ == 0) {
        next_virgl_fence_ = 1;
    }
    if (virgl_renderer_create_fence(static_cast<int>(virgl_id), ctx_id) != 0) {
        return false;
    }
    fences_.push_back({virgl_id, fence_id});
    return true;
}

std::expected<ExportedImage, std::string> VirglRenderer::export_image(uint32_t resource_id) {
    if (!cannot_export_.empty()) {
        return std::unexpected(cannot_export_);
    }
    virgl_renderer_resource_info_ext info{};
    info.version = VIRGL_RENDERER_RESOURCE_INFO_EXT_VERSION;
    if (virgl_renderer_resource_get_info_ext(static_cast<int>(resource_id), &info) != 0) {
        return std::unexpected("the renderer has no texture for it");
    }
    if (!info.has_dmabuf_export) {
        return std::unexpected("the GL driver cannot export its textures as dma-bufs");
    }
    if (info.planes > 1 || info.base.drm_fourcc == 0) {
        return std::unexpected(std::format("{} planes of format {:#x}", info.planes,
                                           static_cast<uint32_t>(info.base.drm_fourcc)));
    }
    int fd = -1;
    int stride = 0;
    int offset = 0;
    if (virgl_renderer_get_fd_for_texture2(info.base.tex_id, &fd, &stride, &offset) != 0 ||
        fd < 0) {
        return std::unexpected("the GL driver did not export the texture");
    }
    ExportedImage image;
    image.dmabuf = UniqueFd(fd);
    off_t size = ::lseek(fd, 0, SEEK_END);
    if (size <= 0 || stride <= 0 || offset < 0) {
        return std::unexpected("the exported dma-buf has no size or layout");
    }
    image.drm_format = static_cast<uint32_t>(info.base.drm_fourcc);
    image.modifier = info.modifiers;
    // Without a render node tessera draws with the CPU (pixman), which reads rows of pixels:
    // a GPU that EGL surfaceless found may lay its textures out otherwise.
    if (live_options.render_node.empty() && image.modifier != proto::modifier_linear) {
        return std::unexpected(std::format(
            "its textures are laid out for a GPU (modifier {:#x}) and tessera reads pixels with "
            "the CPU",
            image.modifier));
    }
    image.stride = static_cast<uint32_t>(stride);
    image.offset = static_cast<uint32_t>(offset);
    image.size = static_cast<uint64_t>(size);
    // Where the probe could not tell, OpenGL's convention (as QEMU's display assumes).
    bool y_0_top = (info.base.flags & virgl_resource_y_0_top) != 0;
    image.bottom_up = bottom_up_[y_0_top ? 1 : 0].value_or(!y_0_top);
    return image;
}

// Uploads a 1x2 texture whose top row (as the guest's transfers see it) differs from its bottom
// one, exports it and looks where that row lies. The guest's rendering follows the same order
// as its transfers (virglrenderer keeps them consistent), so this tells how scanouts are stored.
// Runs before any guest resource exists: the probe's ids are free.
void VirglRenderer::learn_row_order() {
    for (uint32_t y_0_top : {0u, 1u}) {
        const uint32_t id = 1 + y_0_top;
        virgl_renderer_resource_create_args args{.handle = id,
                                                 .target = 2, // PIPE_TEXTURE_2D
                                                 .format =
                                                     static_cast<uint32_t>(proto::Format::b8g8r8x8),
                                                 .bind = (1u << 1) | (1u << 18),
                                                 .width = 1,
                                                 .height = 2,
                                                 .depth = 1,
                                                 .array_size = 1,
                                                 .last_level = 0,
                                                 .nr_samples = 0,
                                                 .flags = y_0_top};
        if (virgl_renderer_resource_create(&args, nullptr, 0) != 0) {
            cannot_export_ = "the renderer cannot make a texture";
            return;
        }
        std::array<uint32_t, 2> rows{0xffffffff, 0xff000000}; // top white, bottom black
        iovec iov{rows.data(), sizeof(rows)};
        virgl_box box{0, 0, 0, 1, 2, 1};
        bool uploaded = virgl_renderer_transfer_write_iov(id, 0, 0, 4, 0, &box, 0, &iov, 1) == 0;
        auto exported = uploaded ? export_image(id)
                                 : std::unexpected(std::string("the probe texture took no upload"));
        if (!exported) {
            cannot_export_ = exported.error();
        } else if (exported->modifier == proto::modifier_linear) {
            void* view =
                mmap(nullptr, exported->size, PROT_READ, MAP_SHARED, exported->dmabuf.get(), 0);
            if (view != MAP_FAILED) {
                const auto* first_row = static_cast<const uint8_t*>(view) + exported->offset;
                bottom_up_[y_0_top] = first_row[1] == 0; // green: 0 in black, 255 in white
                munmap(view, exported->size);
            }
        }
        virgl_renderer_resource_unref(id);
        if (!cannot_export_.empty()) {
            return;
        }
    }
}

} // namespace tessera::gpu
