#include "gpu-backend/virtio_gpu/device.hpp"

#include "gpu-backend/virtio_gpu/edid.hpp"
#include "gpu-backend/virtio_gpu/udmabuf.hpp"
#include "gpu-backend/base/log.hpp"

#include <algorithm>
#include <exception>
#include <format>
#include <new>

namespace tessera::gpu {
namespace {

using proto::Response;

log::Scope& cmd_log() {
    static log::Scope scope("gpu.cmd");
    return scope;
}

constexpr uint32_t max_cursor_size = 64;
// A blob has no size of its own: a blob cursor is the 64x64 ARGB image the Linux driver uses.
constexpr uint64_t blob_cursor_bytes = uint64_t{max_cursor_size} * max_cursor_size * 4;
constexpr uint32_t max_dimension_cap = 65536; // keeps width * 4 inside 32 bits

// A cursor image's fourth byte is its alpha whatever its format says, as in QEMU: Linux makes
// every dumb buffer B8G8R8X8, cursors included.
proto::Format cursor_format(proto::Format format) {
    switch (format) {
    case proto::Format::b8g8r8x8:
        return proto::Format::b8g8r8a8;
    case proto::Format::x8r8g8b8:
        return proto::Format::a8r8g8b8;
    case proto::Format::x8b8g8r8:
        return proto::Format::a8b8g8r8;
    case proto::Format::r8g8b8x8:
        return proto::Format::r8g8b8a8;
    default:
        return format;
    }
}

// x + width and y + height computed in 64 bits, so they cannot wrap.
bool inside(const proto::Rect& r, uint32_t width, uint32_t height) {
    return uint64_t{r.x} + r.width <= width && uint64_t{r.y} + r.height <= height;
}

proto::Rect intersect(const proto::Rect& a, const proto::Rect& b) {
    uint64_t x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
    uint64_t x1 = std::min(uint64_t{a.x} + a.width, uint64_t{b.x} + b.width);
    uint64_t y1 = std::min(uint64_t{a.y} + a.height, uint64_t{b.y} + b.height);
    if (x1 <= x0 || y1 <= y0) {
        return {};
    }
    return {static_cast<uint32_t>(x0), static_cast<uint32_t>(y0), static_cast<uint32_t>(x1 - x0),
            static_cast<uint32_t>(y1 - y0)};
}

ScanoutConfig sanitized(ScanoutConfig c) {
    c.width = std::clamp<uint32_t>(c.width, 1, max_dimension_cap);
    c.height = std::clamp<uint32_t>(c.height, 1, max_dimension_cap);
    if (c.refresh_mhz == 0) {
        c.refresh_mhz = 60'000;
    }
    return c;
}

std::array<uint8_t, 16> random_uuid(std::mt19937_64& random) {
    std::array<uint8_t, 16> uuid{};
    uint64_t a = random(), b = random();
    for (size_t i = 0; i < 8; ++i) {
        uuid[i] = static_cast<uint8_t>(a >> (8 * i));
        uuid[8 + i] = static_cast<uint8_t>(b >> (8 * i));
    }
    uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x40); // version 4
    uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80); // RFC 4122 variant
    return uuid;
}

} // namespace

std::unexpected<GpuDevice::Failure> GpuDevice::fail(Response code, std::string_view reason) {
    return std::unexpected(Failure{code, reason});
}

GpuDevice::GpuDevice(DeviceConfig config)
    : quota_(config.quota), udmabuf_(config.udmabuf), renderer_(config.renderer),
      uuid_random_(std::random_device{}()) {
    if (renderer_ != nullptr) {
        capsets_ = renderer_->capsets();
        renderer_->on_fence_done = [this](uint64_t fence_id) { renderer_fence_done(fence_id); };
    }
    if (config.scanouts.size() > proto::max_scanouts) {
        log::warn(cmd_log(), "{} scanouts configured, using the first {}", config.scanouts.size(),
                  proto::max_scanouts);
        config.scanouts.resize(proto::max_scanouts);
    }
    quota_.max_resource_dimension =
        std::clamp<uint32_t>(quota_.max_resource_dimension, 1, max_dimension_cap);
    for (const auto& c : config.scanouts) {
        configs_.push_back(sanitized(c));
    }
    scanouts_.resize(configs_.size());
    cursors_.resize(configs_.size());
}

GpuDevice::~GpuDevice() {
    if (renderer_ != nullptr) {
        renderer_->on_fence_done = nullptr;
    }
}

bool GpuDevice::set_scanout_config(uint32_t index, ScanoutConfig config) {
    if (index >= configs_.size()) {
        return false;
    }
    configs_[index] = sanitized(config);
    return true;
}

const Resource* GpuDevice::find_resource(uint32_t id) const {
    auto it = resources_.find(id);
    return it == resources_.end() ? nullptr : it->second.get();
}

std::optional<std::vector<std::byte>> GpuDevice::process_control(std::span<const std::byte> request,
                                                                 ResponseToken token) {
    return process(request, Queue::control, token);
}

std::vector<std::byte> GpuDevice::process_cursor(std::span<const std::byte> request) {
    auto response = process(request, Queue::cursor, 0);
    return response ? std::move(*response) : std::vector<std::byte>{};
}

// The one place requests are decoded and answered.
std::optional<std::vector<std::byte>> GpuDevice::process(std::span<const std::byte> request,
                                                         Queue queue, ResponseToken token) {
    ++stats_.commands;
    proto::CtrlHeader header;
    try {
        auto command = proto::decode(request);
        if (!command) {
            header = command.error().header;
            return respond(header, fail(command.error().response, command.error().reason));
        }
        header = command->header;
        return respond(header, dispatch(*command, queue, token));
    } catch (const std::bad_alloc&) {
        return respond(header, fail(Response::err_out_of_memory, "host out of memory"));
    } catch (const std::exception&) {
        return respond(header, fail(Response::err_unspec, "internal error"));
    }
}

GpuDevice::Result GpuDevice::dispatch(const proto::Command& command, Queue queue,
                                      ResponseToken token) {
    const auto& h = command.header;
    if (const auto* cursor = std::get_if<proto::CursorCommand>(&command.payload)) {
        if (queue != Queue::cursor) {
            return fail(Response::err_unspec, "cursor command on the control queue");
        }
        return handle(*cursor);
    }
    if (queue != Queue::control) {
        return fail(Response::err_unspec, "control command on the cursor queue");
    }
    return std::visit(
        [&](const auto& c) -> Result {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, proto::ResourceUnref> ||
                          std::is_same_v<T, proto::ResourceDetachBacking> ||
                          std::is_same_v<T, proto::ResourceFlush> ||
                          std::is_same_v<T, proto::SetScanoutBlob>) {
                return handle(h, c, token);
            } else if constexpr (std::is_same_v<T, proto::CtxCreate> ||
                                 std::is_same_v<T, proto::CtxDestroy> ||
                                 std::is_same_v<T, proto::CtxResource> ||
                                 std::is_same_v<T, proto::ResourceCreate3d> ||
                                 std::is_same_v<T, proto::Transfer3d> ||
                                 std::is_same_v<T, proto::Submit3d>) {
                if (renderer_ == nullptr) {
                    return fail(Response::err_unspec, "3D is off for this guest");
                }
                return fence_3d(h, token, handle(h, c));
            } else if constexpr (std::is_same_v<T, proto::Unsupported>) {
                return fail(Response::err_unspec, "command not supported");
            } else if constexpr (std::is_same_v<T, proto::CursorCommand>) {
                return fail(Response::err_unspec, "unreachable");
            } else {
                return handle(h, c);
            }
        },
        command.payload);
}

std::optional<std::vector<std::byte>> GpuDevice::respond(const proto::CtrlHeader& header,
                                                         Result result) {
    if (!result) {
        ++stats_.errors;
        uint64_t dropped = 0;
        if (cmd_log().enabled(log::Level::warn) && log_limiter_.allow(dropped)) {
            log::warn(cmd_log(), "command 0x{:x}: {}: answered 0x{:x}{}", header.type,
                      result.error().reason, static_cast<uint32_t>(result.error().code),
                      dropped != 0 ? std::format(" ({} earlier lines dropped)", dropped) : "");
        }
        return proto::encode_nodata(header, result.error().code);
    }
    if (std::holds_alternative<Deferred>(*result)) {
        return std::nullopt;
    }
    if (auto* bytes = std::get_if<std::vector<std::byte>>(&*result)) {
        return std::move(*bytes);
    }
    return proto::encode_nodata(header, Response::ok_nodata);
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::GetDisplayInfo&) {
    std::vector<proto::DisplayMode> modes;
    for (const auto& c : configs_) {
        modes.push_back({{0, 0, c.width, c.height}, true, 0});
    }
    return proto::encode_display_info(h, modes);
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::GetEdid& c) {
    if (c.scanout >= configs_.size()) {
        return fail(Response::err_invalid_scanout_id, "no such scanout");
    }
    const auto& config = configs_[c.scanout];
    auto edid = make_edid({config.width, config.height, config.refresh_mhz}, c.scanout + 1);
    if (!edid) {
        // The host's configuration, not the guest: it falls back to GET_DISPLAY_INFO.
        return fail(Response::err_unspec, describe(edid.error()));
    }
    return proto::encode_edid(h, *edid);
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader&, const proto::ResourceCreate2d& c) {
    if (resource_id_taken(c.resource_id)) {
        return fail(Response::err_invalid_resource_id, "resource id 0 or in use");
    }
    if (!proto::is_known_format(c.format)) {
        return fail(Response::err_invalid_parameter, "unknown format");
    }
    const auto max = quota_.max_resource_dimension;
    if (c.width == 0 || c.height == 0 || c.width > max || c.height > max) {
        return fail(Response::err_invalid_parameter, "size out of range");
    }
    // Both factors are at most 65536 * 4 and 65536: no overflow in 64 bits.
    uint64_t bytes = uint64_t{c.width} * proto::bytes_per_pixel * c.height;
    if (auto admitted = check_resource_quota(bytes); !admitted) {
        return std::unexpected(admitted.error());
    }
    auto resource =
        Resource::create(c.resource_id, static_cast<proto::Format>(c.format), c.width, c.height);
    if (!resource) {
        return fail(Response::err_out_of_memory, "pixel buffer allocation failed");
    }
    resources_.emplace(c.resource_id, std::move(resource));
    used_bytes_ += bytes;
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::ResourceUnref& c,
                                    ResponseToken token) {
    if (resources_3d_.contains(c.resource_id)) {
        drop_3d(c.resource_id);
        if (!resources_.contains(c.resource_id)) {
            if (callbacks_.on_resource_destroyed) {
                callbacks_.on_resource_destroyed(c.resource_id);
            }
            return NoData{};
        }
        // Its display copy goes as a 2D resource does: once the display let go of it.
    }
    Resource* resource = live_resource(c.resource_id);
    if (resource == nullptr) {
        return fail(Response::err_invalid_resource_id, "no such resource");
    }
    if (in_use(c.resource_id)) {
        pending_.push_back({token, c.resource_id, h, Wait::unref});
        resource->unref_pending = true;
        ++stats_.deferred_unrefs;
        return Deferred{};
    }
    destroy(c.resource_id);
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader&, const proto::SetScanout& c) {
    if (c.scanout_id >= scanouts_.size()) {
        return fail(Response::err_invalid_scanout_id, "no such scanout");
    }
    if (c.resource_id == 0) {
        show(c.scanout_id, 0, {});
        return NoData{};
    }
    const auto rendered_it = resources_3d_.find(c.resource_id);
    const bool rendered = rendered_it != resources_3d_.end();
    if (rendered) {
        const auto& args = rendered_it->second.args;
        if (c.rect.width == 0 || c.rect.height == 0 || !inside(c.rect, args.width, args.height)) {
            return fail(Response::err_invalid_parameter, "scanout rect outside the resource");
        }
        if (auto made = make_display_view(c.resource_id); !made) {
            return std::unexpected(made.error());
        }
    }
    Resource* resource = live_resource(c.resource_id);
    if (resource == nullptr) {
        return fail(Response::err_invalid_resource_id, "no such resource");
    }
    if (resource->is_blob()) {
        return fail(Response::err_invalid_parameter, "a blob is shown with SET_SCANOUT_BLOB");
    }
    if (c.rect.width == 0 || c.rect.height == 0 ||
        !inside(c.rect, resource->width(), resource->height())) {
        return fail(Response::err_invalid_parameter, "scanout rect outside the resource");
    }
    if (resource->image_in_backing() && !map_in_place(*resource, resource->size_bytes())) {
        // Unmappable pages are no error: the image is copied at each transfer then, as in QEMU.
        stop_reading_in_place(*resource);
    }
    if (resource->read_back) {
        read_back(c.resource_id, {0, 0, resource->width(), resource->height()});
    }
    if (const auto* exported = resource->exported()) {
        show(c.scanout_id, c.resource_id,
             {resource->format(), resource->width(), resource->height(), exported->stride,
              exported->offset, c.rect, exported->modifier, exported->bottom_up});
        return NoData{};
    }
    show(
        c.scanout_id, c.resource_id,
        {resource->format(), resource->width(), resource->height(), resource->stride(), 0, c.rect});
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::ResourceFlush& c,
                                    ResponseToken token) {
    if (resources_3d_.contains(c.resource_id) && !resources_.contains(c.resource_id)) {
        return NoData{}; // a 3D resource no scanout ever showed: nothing to present
    }
    const Resource* resource = live_resource(c.resource_id);
    if (resource == nullptr) {
        return fail(Response::err_invalid_resource_id, "no such resource");
    }
    // A blob has no size of its own: its rect is clipped to each scanout's image below.
    uint32_t width = resource->is_blob() ? max_dimension_cap : resource->width();
    uint32_t height = resource->is_blob() ? max_dimension_cap : resource->height();
    if (!inside(c.rect, width, height)) {
        return fail(Response::err_invalid_parameter, "flush rect outside the resource");
    }
    ++stats_.flushes;
    if (resource->read_back && on_any_scanout(c.resource_id)) {
        read_back(c.resource_id, c.rect);
    }
    for (uint32_t i = 0; i < scanouts_.size(); ++i) {
        if (scanouts_[i].resource_id != c.resource_id) {
            continue;
        }
        auto damage = intersect(c.rect, scanouts_[i].image.rect);
        if (damage.width != 0 && callbacks_.on_flush) {
            callbacks_.on_flush(i, *resource, damage);
        }
    }
    return hold_fence(h, c.resource_id, token,
                      resource->read_back || resource->exported() != nullptr);
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader&, const proto::TransferToHost2d& c) {
    Resource* resource = live_resource(c.resource_id);
    if (resource == nullptr) {
        return fail(Response::err_invalid_resource_id, "no such resource");
    }
    if (resource->is_blob()) {
        return NoData{}; // the host reads a blob's pages in place: nothing to transfer
    }
    if (!inside(c.rect, resource->width(), resource->height())) {
        return fail(Response::err_invalid_parameter, "transfer rect outside the resource");
    }
    if (!resource->backing || !ram_) {
        return fail(Response::err_unspec, "resource has no backing");
    }
    if (c.rect.width == 0 || c.rect.height == 0) {
        return NoData{};
    }
    // As QEMU: row r of the rect comes from offset + r * stride of the backing.
    const uint64_t stride = resource->stride();
    const uint64_t row = uint64_t{c.rect.width} * proto::bytes_per_pixel;
    const uint64_t span = (c.rect.height - 1) * stride + row; // at most 2^34: no overflow
    if (c.offset > resource->backing->size() || span > resource->backing->size() - c.offset) {
        return fail(Response::err_invalid_parameter, "transfer beyond the backing");
    }
    if (resource->image_in_backing()) {
        if (c.offset == c.rect.y * stride + uint64_t{c.rect.x} * proto::bytes_per_pixel) {
            ++stats_.transfers; // the rect is where the display reads it already
            return NoData{};
        }
        stop_reading_in_place(*resource);
    }
    auto pixels = resource->mutable_pixels();
    const auto& backing = *resource->backing;
    bool ok = true;
    if (c.rect.x == 0 && c.rect.width == resource->width()) {
        // Whole rows: one contiguous copy on both sides.
        ok = backing.read(*ram_, c.offset,
                          pixels.subspan(c.rect.y * stride, c.rect.height * stride));
    } else {
        for (uint64_t r = 0; r < c.rect.height && ok; ++r) {
            auto dst = pixels.subspan(
                (c.rect.y + r) * stride + uint64_t{c.rect.x} * proto::bytes_per_pixel, row);
            ok = backing.read(*ram_, c.offset + r * stride, dst);
        }
    }
    if (!ok) {
        return fail(Response::err_unspec, "backing no longer in guest memory");
    }
    ++stats_.transfers;
    stats_.transfer_bytes += row * c.rect.height;
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader&,
                                    const proto::ResourceAttachBacking& c) {
    if (resources_3d_.contains(c.resource_id)) {
        return attach_backing_3d(c.resource_id, c.entries);
    }
    Resource* resource = live_resource(c.resource_id);
    if (resource == nullptr) {
        return fail(Response::err_invalid_resource_id, "no such resource");
    }
    if (resource->is_blob()) {
        return fail(Response::err_unspec, "a blob has its memory from creation");
    }
    if (resource->backing) {
        return fail(Response::err_unspec, "backing already attached");
    }
    auto backing = new_backing(c.entries);
    if (!backing) {
        return std::unexpected(backing.error());
    }
    resource->backing = std::move(*backing);
    return NoData{};
}

std::expected<Backing, GpuDevice::Failure>
GpuDevice::new_backing(std::span<const proto::MemEntry> entries) {
    if (!ram_) {
        return fail(Response::err_unspec, "no guest memory");
    }
    auto backing = Backing::create(entries, *ram_, quota_.max_resource_bytes);
    if (!backing) {
        return backing.error() == Backing::Error::too_large
                   ? fail(Response::err_invalid_parameter, "backing too large")
                   : fail(Response::err_unspec, "backing outside guest memory");
    }
    if (!take_ranges(*backing)) {
        return fail(Response::err_out_of_memory, "backing range quota");
    }
    return std::move(*backing);
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h,
                                    const proto::ResourceDetachBacking& c, ResponseToken token) {
    if (resources_3d_.contains(c.resource_id)) {
        return detach_backing_3d(c.resource_id);
    }
    Resource* resource = live_resource(c.resource_id);
    if (resource == nullptr) {
        return fail(Response::err_invalid_resource_id, "no such resource");
    }
    if (resource->is_blob()) {
        return fail(Response::err_unspec, "a blob keeps its memory until unreferenced");
    }
    if (!resource->backing) {
        return fail(Response::err_unspec, "no backing attached");
    }
    // A scanout showing the image in place goes on showing it from the host's pixels.
    bool shown_in_place = resource->image_in_backing() && on_any_scanout(c.resource_id);
    if (shown_in_place) {
        copy_backing_to_pixels(*resource);
    }
    drop_backing(*resource);
    if (shown_in_place) {
        reshow(*resource);
    }
    // The guest may reuse the pages once answered: not before the display let go of them.
    if (displayed(c.resource_id)) {
        pending_.push_back({token, c.resource_id, h, Wait::detach});
        return Deferred{};
    }
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h,
                                    const proto::ResourceAssignUuid& c) {
    Resource* resource = live_resource(c.resource_id);
    if (resource == nullptr) {
        return fail(Response::err_invalid_resource_id, "no such resource");
    }
    if (!resource->uuid) {
        resource->uuid = random_uuid(uuid_random_);
    }
    return proto::encode_resource_uuid(h, *resource->uuid);
}

GpuDevice::Result GpuDevice::handle(const proto::CursorCommand& c) {
    ++stats_.cursor_commands;
    if (c.scanout_id >= cursors_.size()) {
        return fail(Response::err_invalid_scanout_id, "no such scanout");
    }
    Cursor& cursor = cursors_[c.scanout_id];
    if (!c.update) {
        cursor.x = c.x;
        cursor.y = c.y;
        if (callbacks_.on_cursor) {
            callbacks_.on_cursor(c.scanout_id, cursor, false);
        }
        return NoData{};
    }
    Cursor next;
    next.x = c.x;
    next.y = c.y;
    if (c.resource_id != 0) {
        const Resource* resource = live_resource(c.resource_id);
        if (resource == nullptr) {
            return fail(Response::err_invalid_resource_id, "no such resource");
        }
        if (resource->is_blob()) {
            // As QEMU: the first 64x64 ARGB pixels of the blob.
            next.width = next.height = max_cursor_size;
            next.format = proto::Format::b8g8r8a8;
            next.pixels.resize(blob_cursor_bytes);
            if (resource->blob_size() < blob_cursor_bytes || !ram_ ||
                !resource->backing->read(*ram_, 0, next.pixels)) {
                return fail(Response::err_invalid_parameter, "blob too small for a cursor");
            }
        } else if (resource->exported()) {
            return fail(Response::err_invalid_parameter, "the renderer's texture is no cursor");
        } else {
            if (resource->width() > max_cursor_size || resource->height() > max_cursor_size) {
                return fail(Response::err_invalid_parameter, "cursor larger than 64x64");
            }
            next.width = resource->width();
            next.height = resource->height();
            next.format = cursor_format(resource->format());
            if (resource->image_in_backing()) {
                next.pixels.resize(resource->size_bytes());
                if (!read_image_in_backing(*resource, 0, next.pixels)) {
                    return fail(Response::err_unspec, "backing no longer in guest memory");
                }
            } else {
                next.pixels.assign(resource->pixels().begin(), resource->pixels().end());
            }
        }
        next.visible = true;
        next.hot_x = std::min(c.hot_x, next.width - 1);
        next.hot_y = std::min(c.hot_y, next.height - 1);
    }
    cursor = std::move(next);
    if (callbacks_.on_cursor) {
        callbacks_.on_cursor(c.scanout_id, cursor, true);
    }
    return NoData{};
}

Resource* GpuDevice::live_resource(uint32_t id) {
    auto it = resources_.find(id);
    if (it == resources_.end() || it->second->unref_pending) {
        return nullptr;
    }
    return it->second.get();
}

bool GpuDevice::on_any_scanout(uint32_t id) const {
    return std::ranges::any_of(scanouts_, [id](const Scanout& s) { return s.resource_id == id; });
}

bool GpuDevice::displayed(uint32_t id) const {
    return callbacks_.is_displayed && callbacks_.is_displayed(id);
}

bool GpuDevice::in_use(uint32_t id) const {
    return on_any_scanout(id) || displayed(id);
}

// Tells the compositor first, so that it has let go of the old resource before a pending
// UNREF frees it.
void GpuDevice::show(uint32_t scanout, uint32_t resource_id, const ScanoutImage& image) {
    uint32_t previous = scanouts_[scanout].resource_id;
    scanouts_[scanout] = {resource_id, image};
    if (callbacks_.on_scanout) {
        callbacks_.on_scanout(scanout, resource_id == 0 ? nullptr : find_resource(resource_id),
                              image);
    }
    if (previous != 0 && previous != resource_id) {
        release_if_hidden(previous);
    }
}

// A detach waits for the display only; an UNREF also for the scanouts.
void GpuDevice::release_if_hidden(uint32_t id) {
    if (!displayed(id)) {
        answer_pending(id, Wait::detach);
    }
    const Resource* resource = find_resource(id);
    if (resource == nullptr || !resource->unref_pending || in_use(id)) {
        return;
    }
    destroy(id);
    answer_pending(id, Wait::unref);
}

void GpuDevice::answer_pending(uint32_t id, Wait wait) {
    std::vector<Pending> done;
    std::erase_if(pending_, [&](const Pending& p) {
        if (p.resource_id != id || p.wait != wait) {
            return false;
        }
        done.push_back(p);
        return true;
    });
    for (const auto& p : done) {
        answer_later(p.token, p.header);
    }
}

void GpuDevice::destroy(uint32_t id) {
    auto it = resources_.find(id);
    if (it == resources_.end()) {
        return;
    }
    drop_backing(*it->second); // and its mapping
    used_bytes_ -= it->second->is_blob() ? it->second->blob_size() : it->second->size_bytes();
    resources_.erase(it);
    if (callbacks_.on_resource_destroyed) {
        callbacks_.on_resource_destroyed(id);
    }
}

void GpuDevice::drop_backing(Resource& resource) {
    if (resource.backing) {
        used_ranges_ -= resource.backing->ranges().size();
        resource.backing.reset();
    }
    unmap(resource);
    resource.layout_broken = false; // a new backing is judged afresh
}

void GpuDevice::unmap(Resource& resource) {
    if (resource.mapped_memory) {
        used_mappings_ -= resource.mapped_memory->mappings();
        resource.mapped_memory.reset(); // the compositor keeps its reference while it shows it
    }
}

bool GpuDevice::read_image_in_backing(const Resource& resource, uint64_t offset,
                                      std::span<std::byte> out) const {
    return resource.image_in_backing() && ram_ && resource.backing->read(*ram_, offset, out);
}

void GpuDevice::copy_backing_to_pixels(Resource& resource) {
    if (read_image_in_backing(resource, 0, resource.mutable_pixels())) {
        stats_.transfer_bytes += resource.size_bytes();
    }
}

// A transfer read the backing unlike the image: from now on the image is the host's pixels, as
// in QEMU. They start as the image the backing holds, which is what the display showed.
void GpuDevice::stop_reading_in_place(Resource& resource) {
    copy_backing_to_pixels(resource);
    resource.layout_broken = true;
    unmap(resource);
    reshow(resource);
}

// Tells the compositor again what the scanouts showing `resource` show: it reads it another way.
void GpuDevice::reshow(const Resource& resource) {
    for (uint32_t i = 0; i < scanouts_.size(); ++i) {
        if (scanouts_[i].resource_id == resource.id() && callbacks_.on_scanout) {
            callbacks_.on_scanout(i, &resource, scanouts_[i].image);
        }
    }
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader&, const proto::ResourceCreateBlob& c) {
    if (resource_id_taken(c.resource_id)) {
        return fail(Response::err_invalid_resource_id, "resource id 0 or in use");
    }
    if (c.blob_mem != proto::blob_mem_guest) {
        return fail(Response::err_invalid_parameter, "only guest-memory blobs without 3D");
    }
    constexpr uint32_t known_flags =
        proto::blob_flag_mappable | proto::blob_flag_shareable | proto::blob_flag_cross_device;
    if ((c.blob_flags & ~known_flags) != 0) {
        return fail(Response::err_invalid_parameter, "unknown blob flags");
    }
    if (c.size == 0 || c.entries.empty()) {
        return fail(Response::err_invalid_parameter, "empty blob");
    }
    if (auto admitted = check_resource_quota(c.size); !admitted) {
        return std::unexpected(admitted.error());
    }
    if (!ram_) {
        return fail(Response::err_unspec, "no guest memory");
    }
    auto backing = Backing::create(c.entries, *ram_, quota_.max_resource_bytes);
    if (!backing) {
        return backing.error() == Backing::Error::too_large
                   ? fail(Response::err_invalid_parameter, "blob memory too large")
                   : fail(Response::err_invalid_parameter, "blob memory outside guest memory");
    }
    if (backing->size() < c.size) {
        return fail(Response::err_invalid_parameter, "blob larger than its memory");
    }
    if (!take_ranges(*backing)) {
        return fail(Response::err_out_of_memory, "backing range quota");
    }
    used_bytes_ += c.size;
    resources_.emplace(c.resource_id,
                       Resource::create_blob(c.resource_id, c.size, std::move(*backing)));
    ++stats_.blobs;
    return NoData{};
}

GpuDevice::Result GpuDevice::handle(const proto::CtrlHeader& h, const proto::SetScanoutBlob& c,
                                    ResponseToken token) {
    if (c.scanout_id >= scanouts_.size()) {
        return fail(Response::err_invalid_scanout_id, "no such scanout");
    }
    if (c.resource_id == 0) {
        show(c.scanout_id, 0, {});
        return NoData{};
    }
    Resource* resource = live_resource(c.resource_id);
    if (resource == nullptr) {
        return fail(Response::err_invalid_resource_id, "no such resource");
    }
    if (!resource->is_blob()) {
        return fail(Response::err_invalid_parameter, "SET_SCANOUT_BLOB of a 2D resource");
    }
    if (!proto::is_known_format(c.format)) {
        return fail(Response::err_invalid_parameter, "unknown format");
    }
    const auto max = quota_.max_resource_dimension;
    if (c.width == 0 || c.height == 0 || c.width > max || c.height > max) {
        return fail(Response::err_invalid_parameter, "size out of range");
    }
    if (c.rect.width == 0 || c.rect.height == 0 || !inside(c.rect, c.width, c.height)) {
        return fail(Response::err_invalid_parameter, "scanout rect outside the framebuffer");
    }
    const uint64_t row = uint64_t{c.width} * proto::bytes_per_pixel;
    if (c.strides[0] < row) {
        return fail(Response::err_invalid_parameter, "stride shorter than a row");
    }
    // At most 2^32 + 2^32 * 2^16 + 2^18: no overflow in 64 bits.
    const uint64_t end = c.offsets[0] + uint64_t{c.strides[0]} * (c.height - 1) + row;
    if (end > resource->blob_size()) {
        return fail(Response::err_invalid_parameter, "framebuffer beyond the blob");
    }
    if (auto mapped = map_in_place(*resource, resource->blob_size()); !mapped) {
        return std::unexpected(mapped.error());
    }
    show(c.scanout_id, c.resource_id,
         {static_cast<proto::Format>(c.format), c.width, c.height, c.strides[0], c.offsets[0],
          c.rect});
    return hold_fence(h, c.resource_id, token);
}

// One more resource of `bytes` within the guest's quota (checked, not yet counted).
std::expected<void, GpuDevice::Failure> GpuDevice::check_resource_quota(uint64_t bytes) const {
    if (resources_.size() >= quota_.max_resources) {
        return fail(Response::err_out_of_memory, "resource count quota");
    }
    if (bytes > quota_.max_resource_bytes - used_bytes_) {
        return fail(Response::err_out_of_memory, "resource memory quota");
    }
    return {};
}

// Counts a backing's ranges against the quota; false (nothing counted) when over it.
bool GpuDevice::take_ranges(const Backing& backing) {
    if (backing.ranges().size() > quota_.max_backing_ranges - used_ranges_) {
        return false;
    }
    used_ranges_ += backing.ranges().size();
    return true;
}

// The first `size` bytes of a resource's backing are mapped once, when it is first shown, and
// kept until it is destroyed or its backing detached.
std::expected<void, GpuDevice::Failure> GpuDevice::map_in_place(Resource& resource, uint64_t size) {
    if (resource.mapped_memory) {
        return {};
    }
    if (!ram_) {
        return fail(Response::err_unspec, "no guest memory");
    }
    auto memory = BlobMemory::map(*resource.backing, size, ram_, udmabuf_,
                                  quota_.max_blob_mappings - used_mappings_);
    if (!memory) {
        uint64_t dropped = 0;
        if (log_limiter_.allow(dropped)) {
            log::warn(cmd_log(), "resource {}: {}{}", resource.id(), memory.error(),
                      resource.is_blob() ? "" : ": its frames are copied");
        }
        return fail(Response::err_unspec, "blob memory cannot be mapped");
    }
    used_mappings_ += (*memory)->mappings();
    resource.mapped_memory = std::move(*memory);
    return {};
}

GpuDevice::Result GpuDevice::hold_fence(const proto::CtrlHeader& h, uint32_t resource_id,
                                        ResponseToken token, bool paces_3d) {
    const bool fenced = (h.flags & proto::flag_fence) != 0;
    if ((!fenced && !paces_3d) || !callbacks_.on_fence) {
        return NoData{};
    }
    auto showing =
        static_cast<uint32_t>(std::ranges::count(scanouts_, resource_id, &Scanout::resource_id));
    if (showing == 0) {
        return NoData{}; // nothing to present: the frame is as done as it gets
    }
    // An unfenced 3D frame is presented all the same, under a token of the device's own.
    PendingFence frame{fenced ? token : next_internal_token_++, h, showing, paces_3d, !fenced};
    // Registered before the compositor hears of it, so that it may signal at once.
    fences_.push_back(frame);
    if (paces_3d) {
        ++rendered_frames_sent_;
    }
    ++stats_.fenced_frames;
    for (uint32_t i = 0; i < scanouts_.size(); ++i) {
        if (scanouts_[i].resource_id == resource_id) {
            callbacks_.on_fence(i, frame.token);
        }
    }
    return fenced ? Result(Deferred{}) : Result(NoData{});
}

void GpuDevice::signal_fence(ResponseToken token) {
    auto it = std::ranges::find(fences_, token, &PendingFence::token);
    if (it == fences_.end() || --it->waiting != 0) {
        return;
    }
    PendingFence done = *it;
    fences_.erase(it);
    if (!done.internal) {
        answer_later(done.token, done.header);
    }
    if (done.paces_3d) {
        ++rendered_frames_presented_;
        answer_finished_3d();
    }
}

void GpuDevice::answer_later(ResponseToken token, const proto::CtrlHeader& header) {
    if (callbacks_.on_response_ready) {
        callbacks_.on_response_ready(token, proto::encode_nodata(header, Response::ok_nodata));
    }
}

void GpuDevice::display_released(uint32_t resource_id) {
    release_if_hidden(resource_id);
}

std::vector<ResponseToken> GpuDevice::reset() {
    for (uint32_t i = 0; i < scanouts_.size(); ++i) {
        if (scanouts_[i].resource_id != 0) {
            scanouts_[i] = {};
            if (callbacks_.on_scanout) {
                callbacks_.on_scanout(i, nullptr, {});
            }
        }
        bool was_visible = cursors_[i].visible;
        cursors_[i] = {};
        if (was_visible && callbacks_.on_cursor) {
            callbacks_.on_cursor(i, cursors_[i], true);
        }
    }
    std::vector<ResponseToken> dropped;
    for (const auto& p : pending_) {
        dropped.push_back(p.token);
    }
    for (const auto& f : fences_) {
        if (!f.internal) {
            dropped.push_back(f.token);
        }
    }
    for (const auto& f : fences_3d_) {
        dropped.push_back(f.token);
    }
    pending_.clear();
    fences_.clear();
    fences_3d_.clear();
    rendered_frames_sent_ = rendered_frames_presented_ = 0;
    destroy_all_3d();
    std::vector<uint32_t> ids;
    for (const auto& [id, resource] : resources_) {
        ids.push_back(id);
    }
    resources_.clear();
    if (callbacks_.on_resource_destroyed) {
        for (uint32_t id : ids) {
            callbacks_.on_resource_destroyed(id);
        }
    }
    used_bytes_ = 0;
    used_ranges_ = 0;
    used_mappings_ = 0;
    return dropped;
}

} // namespace tessera::gpu
