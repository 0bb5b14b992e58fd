// The 3D commands of GpuDevice: capsets, contexts, 3D resources, their backing and transfers,
// command buffers and the fences after them. Every id, size and count is checked here, against
// the same quota as 2D resources, before the renderer sees it; what a command buffer says is
// the renderer's to check.
#include "gpu-backend/virtio_gpu/device.hpp"

#include "gpu-backend/base/log.hpp"

#include <algorithm>

namespace tessera::gpu {
namespace {

using proto::Response;

log::Scope& cmd_log() {
    static log::Scope scope("gpu.3d");
    return scope;
}

// Gallium's texture targets (PIPE_BUFFER 0, PIPE_TEXTURE_2D 2, PIPE_TEXTURE_RECT 5 ..
// PIPE_TEXTURE_CUBE_ARRAY 8).
constexpr uint32_t pipe_buffer = 0;
constexpr uint32_t pipe_texture_2d = 2;
constexpr uint32_t pipe_texture_rect = 5;
constexpr uint32_t max_pipe_target = 8;
constexpr uint32_t max_depth_or_layers = 2048;
constexpr uint32_t max_mip_level = 14; // 16384 = 2^14
constexpr uint32_t max_samples = 16;
// Accounting only: the renderer's own layout is its business. Four bytes a texel covers the
// formats a guest scans out and most it renders to; mip chains add a third at most.
constexpr uint64_t accounted_bytes_per_texel = 4;

// What a 3D resource is counted as against the quota; 0 for an impossible shape.
uint64_t accounted_bytes(const proto::ResourceCreate3d& c) {
    if (c.target == pipe_buffer) {
        return c.width;
    }
    uint64_t texels = uint64_t{c.width} * c.height * std::max(c.depth, 1u) *
                      std::max(c.array_size, 1u) * std::max(c.nr_samples, 1u);
    uint64_t bytes = texels * accounted_bytes_per_texel;
    return c.last_level > 0 ? bytes + bytes / 3 : bytes;
}

} // namespace

void GpuDevice::set_guest_ram(std::shared_ptr<const GuestRam> ram) {
    if (ram == ram_) {
        return; // the transport hands it in at every kick
    }
    ram_ = std::move(ram);
    // The renderer holds pointers into the old mappings: hand it the new ones, or none.
    for (auto& [id, resource] : resources_3d_) {
        if (resource.backing) {
            renderer_->detach_backing(id);
            if (!ram_ || !give_backing_to_renderer(id, *resource.backing)) {
                log::warn(cmd_log(), "3D resource {}: its backing left guest memory", id);
            }
        }
    }
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::GetCapsetInfo& c) {
    if (c.capset_index >= capsets_.size()) {
        return fail(Response::err_invalid_parameter, "no such capset index");
    }
    const auto& capset = capsets_[c.capset_index];
    return proto::encode_capset_info(h, capset.id, capset.max_version, capset.max_size);
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::GetCapset& c) {
    auto it = std::ranges::find(capsets_, c.capset_id, &Capset::id);
    if (it == capsets_.end() || c.capset_version > it->max_version) {
        return fail(Response::err_invalid_parameter, "no such capset or version");
    }
    auto data = renderer_->capset(c.capset_id, c.capset_version);
    if (data.empty()) {
        return fail(Response::err_unspec, "renderer has no such capset");
    }
    data.resize(std::min<size_t>(data.size(), it->max_size));
    return proto::encode_capset(h, data);
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::CtxCreate& c) {
    if (h.ctx_id == 0 || contexts_.contains(h.ctx_id)) {
        return fail(Response::err_invalid_context_id, "context id 0 or in use");
    }
    if (contexts_.size() >= quota_.max_contexts) {
        return fail(Response::err_out_of_memory, "context count quota");
    }
    uint32_t kind = c.context_init & proto::context_init_capset_id_mask;
    if (kind == 0) {
        kind = proto::capset_virgl2; // a guest without CONTEXT_INIT speaks virgl
    }
    if (!std::ranges::contains(capsets_, kind, &Capset::id)) {
        return fail(Response::err_invalid_parameter, "context kind not offered");
    }
    if (!renderer_->create_context(h.ctx_id, kind, c.debug_name)) {
        return fail(Response::err_unspec, "renderer refused the context");
    }
    contexts_.insert(h.ctx_id);
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::CtxDestroy&) {
    if (!contexts_.erase(h.ctx_id)) {
        return fail(Response::err_invalid_context_id, "no such context");
    }
    renderer_->destroy_context(h.ctx_id);
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::CtxResource& c) {
    if (!contexts_.contains(h.ctx_id)) {
        return fail(Response::err_invalid_context_id, "no such context");
    }
    if (!resources_3d_.contains(c.resource_id)) {
        // Linux attaches every buffer a 3D client opens, its dumb (2D) buffers too: the
        // renderer never sees those, so there is nothing to attach.
        if (live_resource(c.resource_id) != nullptr) {
            return NoData{};
        }
        return fail(Response::err_invalid_resource_id, "no such resource");
    }
    if (c.attach) {
        renderer_->attach_resource(h.ctx_id, c.resource_id);
    } else {
        renderer_->detach_resource(h.ctx_id, c.resource_id);
    }
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader&, const proto::ResourceCreate3d& c) {
    if (resource_id_taken(c.resource_id)) {
        return fail(Response::err_invalid_resource_id, "resource id 0 or in use");
    }
    const uint32_t max_dimension = quota_.max_resource_dimension;
    bool buffer = c.target == pipe_buffer;
    if (c.target > max_pipe_target || c.width == 0 || c.height == 0 ||
        (!buffer && (c.width > max_dimension || c.height > max_dimension)) ||
        (buffer && c.height != 1) || c.depth > max_depth_or_layers ||
        c.array_size > max_depth_or_layers || c.last_level > max_mip_level ||
        c.nr_samples > max_samples) {
        return fail(Response::err_invalid_parameter, "3D resource shape out of range");
    }
    uint64_t bytes = accounted_bytes(c);
    if (bytes == 0 || bytes > quota_.max_resource_bytes) {
        return fail(Response::err_out_of_memory, "3D resource too large");
    }
    if (auto quota = check_resource_quota(bytes); !quota) {
        return std::unexpected(quota.error());
    }
    if (!renderer_->create_resource(c)) {
        return fail(Response::err_invalid_parameter, "renderer refused the resource");
    }
    resources_3d_.emplace(c.resource_id, Resource3d{c, bytes, std::nullopt});
    used_bytes_ += bytes;
    return NoData{};
}

void GpuDevice::drop_3d(uint32_t id) {
    auto it = resources_3d_.find(id);
    if (it->second.backing) {
        renderer_->detach_backing(id);
        used_ranges_ -= it->second.backing->ranges().size();
    }
    renderer_->destroy_resource(id);
    used_bytes_ -= it->second.bytes;
    resources_3d_.erase(it);
}

std::expected<void, GpuDevice::Failure> GpuDevice::make_display_view(uint32_t id) {
    if (resources_.contains(id)) {
        return {};
    }
    const auto& args = resources_3d_.at(id).args;
    bool flat = (args.target == pipe_texture_2d || args.target == pipe_texture_rect) &&
                args.depth <= 1 && args.array_size <= 1 && args.nr_samples <= 1;
    if (!flat || !proto::is_known_format(args.format)) {
        return fail(Response::err_invalid_parameter, "3D resource cannot be scanned out");
    }
    if (auto view = exported_view(id)) {
        resources_.emplace(id, std::move(view));
        ++stats_.exports;
        return {};
    }
    uint64_t bytes = uint64_t{args.width} * proto::bytes_per_pixel * args.height;
    if (auto admitted = check_resource_quota(bytes); !admitted) {
        return std::unexpected(admitted.error());
    }
    auto copy =
        Resource::create(id, static_cast<proto::Format>(args.format), args.width, args.height);
    if (!copy) {
        return fail(Response::err_out_of_memory, "display copy allocation failed");
    }
    copy->read_back = true;
    resources_.emplace(id, std::move(copy));
    used_bytes_ += bytes;
    return {};
}

// The renderer's texture as the display will show it, or null (said once) when the host's
// driver cannot export it in a layout the display takes: then frames are read back. Its memory
// is the renderer's, already counted in the quota as the 3D resource.
std::unique_ptr<Resource> GpuDevice::exported_view(uint32_t id) {
    const auto& args = resources_3d_.at(id).args;
    auto image = renderer_->export_image(id);
    std::string why_not;
    if (!image) {
        why_not = image.error();
    } else if (auto format = proto::format_of_drm_fourcc(image->drm_format); !format) {
        why_not = std::format("the driver lays it out as DRM format {:#x}", image->drm_format);
    } else if (image->stride < args.width * proto::bytes_per_pixel ||
               image->offset + uint64_t{image->stride} * (args.height - 1) +
                       uint64_t{args.width} * proto::bytes_per_pixel >
                   image->size) {
        why_not = "its dma-buf is smaller than its image";
    } else {
        return Resource::create_exported(id, *format, args.width, args.height, std::move(*image));
    }
    if (!told_why_not_exported_) {
        told_why_not_exported_ = true;
        log::info(cmd_log(), "3D frames are read back for the display: {}", why_not);
    }
    return nullptr;
}

// Once per new frame: a SET_SCANOUT right after a flush, or flushes with no rendering between
// them, read nothing again.
void GpuDevice::read_back(uint32_t id, proto::Rect rect) {
    auto& rendered = resources_3d_.at(id);
    Resource& copy = *resources_.at(id);
    if (rendered.read_at == render_serial_ || rect.width == 0 || rect.height == 0) {
        return;
    }
    auto out = copy.mutable_pixels().subspan(size_t{rect.y} * copy.stride() +
                                             size_t{rect.x} * proto::bytes_per_pixel);
    if (!renderer_->read_pixels(id, rect.x, rect.y, rect.width, rect.height, copy.stride(), out)) {
        uint64_t dropped = 0;
        if (log_limiter_.allow(dropped)) {
            log::warn(cmd_log(), "3D resource {}: the renderer cannot read it back", id);
        }
        return;
    }
    rendered.read_at = render_serial_;
    ++stats_.readbacks;
    stats_.readback_bytes += uint64_t{rect.width} * proto::bytes_per_pixel * rect.height;
}

bool GpuDevice::give_backing_to_renderer(uint32_t id, const Backing& backing) {
    std::vector<std::span<std::byte>> pieces;
    for (const auto& range : backing.ranges()) {
        auto translated = ram_->translate(range.addr, range.length);
        if (!translated) {
            return false;
        }
        pieces.insert(pieces.end(), translated->begin(), translated->end());
    }
    return renderer_->attach_backing(id, pieces);
}

GpuDevice::Result GpuDevice::attach_backing_3d(uint32_t id,
                                               std::span<const proto::MemEntry> entries) {
    auto& resource = resources_3d_.at(id);
    if (resource.backing) {
        return fail(Response::err_unspec, "backing already attached");
    }
    auto backing = new_backing(entries);
    if (!backing) {
        return std::unexpected(backing.error());
    }
    if (!give_backing_to_renderer(id, *backing)) {
        used_ranges_ -= backing->ranges().size();
        return fail(Response::err_unspec, "renderer refused the backing");
    }
    resource.backing = std::move(*backing);
    return NoData{};
}

GpuDevice::Result GpuDevice::detach_backing_3d(uint32_t id) {
    auto& resource = resources_3d_.at(id);
    if (!resource.backing) {
        return fail(Response::err_unspec, "no backing attached");
    }
    renderer_->detach_backing(id);
    used_ranges_ -= resource.backing->ranges().size();
    resource.backing.reset();
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::Transfer3d& c) {
    // Context 0 is the device's own: QEMU's virgl accepts transfers outside any context too.
    if (h.ctx_id != 0 && !contexts_.contains(h.ctx_id)) {
        return fail(Response::err_invalid_context_id, "no such context");
    }
    auto it = resources_3d_.find(c.resource_id);
    if (it == resources_3d_.end()) {
        return fail(Response::err_invalid_resource_id, "no such 3D resource");
    }
    const auto& args = it->second.args;
    auto fits = [](uint32_t start, uint32_t length, uint32_t limit) {
        return start <= limit && length <= limit - start;
    };
    if (c.level > args.last_level || !fits(c.box.x, c.box.w, args.width) ||
        !fits(c.box.y, c.box.h, args.height) ||
        !fits(c.box.z, c.box.d, std::max({args.depth, args.array_size, 1u}))) {
        return fail(Response::err_invalid_parameter, "transfer box outside the resource");
    }
    if (!it->second.backing) {
        return fail(Response::err_unspec, "no backing attached");
    }
    if (c.offset > it->second.backing->size()) {
        return fail(Response::err_invalid_parameter, "transfer offset beyond the backing");
    }
    if (!renderer_->transfer(h.ctx_id, c)) {
        return fail(Response::err_invalid_parameter, "renderer refused the transfer");
    }
    if (c.to_host) {
        ++render_serial_;
    }
    ++stats_.transfers;
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::Submit3d& c) {
    if (!contexts_.contains(h.ctx_id)) {
        return fail(Response::err_invalid_context_id, "no such context");
    }
    ++stats_.submits;
    stats_.submit_bytes += c.commands.size();
    ++render_serial_;
    if (!c.commands.empty() && !renderer_->submit(h.ctx_id, c.commands)) {
        return fail(Response::err_invalid_parameter, "renderer rejected the command buffer");
    }
    return NoData{};
}

GpuDevice::Result GpuDevice::fence_3d(const proto::CtrlHeader& h, ResponseToken token,
                                      Result done) {
    if (!done || (h.flags & proto::flag_fence) == 0 || !std::holds_alternative<NoData>(*done)) {
        return done;
    }
    if (!renderer_->create_fence(h.ctx_id, h.fence_id)) {
        return done; // nothing to wait for: the work is done as far as anyone can tell
    }
    fences_3d_.push_back({token, h, rendered_frames_sent_});
    ++stats_.fenced_3d;
    return Deferred{};
}

void GpuDevice::renderer_fence_done(uint64_t fence_id) {
    // Fences complete in creation order: everything before this one is done too.
    auto is_this = [&](const Pending3dFence& f) { return f.header.fence_id == fence_id; };
    auto last = std::ranges::find_if(fences_3d_, is_this);
    if (last == fences_3d_.end()) {
        return; // dropped by a reset
    }
    for (auto it = fences_3d_.begin(); it != std::next(last); ++it) {
        it->done = true;
    }
    answer_finished_3d();
}

void GpuDevice::answer_finished_3d() {
    while (!fences_3d_.empty() && fences_3d_.front().done &&
           fences_3d_.front().after_frame <= rendered_frames_presented_) {
        auto fence = fences_3d_.front();
        fences_3d_.pop_front();
        answer_later(fence.token, fence.header);
    }
}

void GpuDevice::destroy_all_3d() {
    for (uint32_t ctx : contexts_) {
        renderer_->destroy_context(ctx);
    }
    contexts_.clear();
    std::vector<uint32_t> ids;
    for (const auto& [id, resource] : resources_3d_) {
        ids.push_back(id);
    }
    for (uint32_t id : ids) {
        drop_3d(id);
        if (!resources_.contains(id) && callbacks_.on_resource_destroyed) {
            callbacks_.on_resource_destroyed(id); // a display copy's goes with resources_
        }
    }
}

} // namespace tessera::gpu
