#include "gpu-backend/virtio_gpu/protocol.hpp"

#include "gpu-backend/virtio_gpu/wire.hpp"

#include <algorithm>

namespace tessera::gpu::proto {
namespace {

constexpr uint32_t fourcc(char a, char b, char c, char d) {
    return static_cast<uint32_t>(a) | static_cast<uint32_t>(b) << 8 |
           static_cast<uint32_t>(c) << 16 | static_cast<uint32_t>(d) << 24;
}

std::unexpected<DecodeError> fail(const CtrlHeader& header, Response response,
                                  std::string_view reason) {
    return std::unexpected(DecodeError{header, response, reason});
}

CtrlHeader read_header(WireReader& r) {
    CtrlHeader h;
    h.type = r.u32();
    h.flags = r.u32();
    h.fence_id = r.u64();
    h.ctx_id = r.u32();
    h.ring_idx = r.u8();
    r.skip(3);
    return h;
}

Rect read_rect(WireReader& r) {
    Rect rect;
    rect.x = r.u32();
    rect.y = r.u32();
    rect.width = r.u32();
    rect.height = r.u32();
    return rect;
}

// Reads `count` memory entries after checking the cap and that the bytes are all there, so a
// guest cannot make us reserve memory for entries it did not send.
std::expected<std::vector<MemEntry>, std::string_view> read_entries(WireReader& r, uint32_t count) {
    if (count > max_backing_entries) {
        return std::unexpected("too many backing entries");
    }
    if (r.remaining() / mem_entry_size < count) {
        return std::unexpected("backing entries truncated");
    }
    std::vector<MemEntry> entries(count);
    for (auto& e : entries) {
        e.addr = r.u64();
        e.length = r.u32();
        r.skip(4);
    }
    return entries;
}

using Decoded = std::expected<Payload, std::string_view>;

Decoded read_payload(uint32_t type, WireReader& r) {
    switch (type) {
    case cmd_type::get_display_info:
        return GetDisplayInfo{};
    case cmd_type::resource_create_2d: {
        ResourceCreate2d c{};
        c.resource_id = r.u32();
        c.format = r.u32();
        c.width = r.u32();
        c.height = r.u32();
        return c;
    }
    case cmd_type::resource_unref:
        return ResourceUnref{r.u32()};
    case cmd_type::set_scanout: {
        SetScanout c{};
        c.rect = read_rect(r);
        c.scanout_id = r.u32();
        c.resource_id = r.u32();
        return c;
    }
    case cmd_type::resource_flush: {
        ResourceFlush c{};
        c.rect = read_rect(r);
        c.resource_id = r.u32();
        return c;
    }
    case cmd_type::transfer_to_host_2d: {
        TransferToHost2d c{};
        c.rect = read_rect(r);
        c.offset = r.u64();
        c.resource_id = r.u32();
        return c;
    }
    case cmd_type::resource_attach_backing: {
        ResourceAttachBacking c{};
        c.resource_id = r.u32();
        auto entries = read_entries(r, r.u32());
        if (!entries) {
            return std::unexpected(entries.error());
        }
        c.entries = std::move(*entries);
        return c;
    }
    case cmd_type::resource_detach_backing:
        return ResourceDetachBacking{r.u32()};
    case cmd_type::get_edid:
        return GetEdid{r.u32()};
    case cmd_type::resource_assign_uuid:
        return ResourceAssignUuid{r.u32()};
    case cmd_type::resource_create_blob: {
        ResourceCreateBlob c{};
        c.resource_id = r.u32();
        c.blob_mem = r.u32();
        c.blob_flags = r.u32();
        uint32_t count = r.u32();
        c.blob_id = r.u64();
        c.size = r.u64();
        auto entries = read_entries(r, count);
        if (!entries) {
            return std::unexpected(entries.error());
        }
        c.entries = std::move(*entries);
        return c;
    }
    case cmd_type::set_scanout_blob: {
        SetScanoutBlob c{};
        c.rect = read_rect(r);
        c.scanout_id = r.u32();
        c.resource_id = r.u32();
        c.width = r.u32();
        c.height = r.u32();
        c.format = r.u32();
        r.skip(4);
        for (auto& s : c.strides) {
            s = r.u32();
        }
        for (auto& o : c.offsets) {
            o = r.u32();
        }
        return c;
    }
    case cmd_type::update_cursor:
    case cmd_type::move_cursor: {
        CursorCommand c{};
        c.update = type == cmd_type::update_cursor;
        c.scanout_id = r.u32();
        c.x = static_cast<int32_t>(r.u32());
        c.y = static_cast<int32_t>(r.u32());
        r.skip(4);
        c.resource_id = r.u32();
        c.hot_x = r.u32();
        c.hot_y = r.u32();
        return c;
    }
    case cmd_type::ctx_create: {
        CtxCreate c{};
        uint32_t name_length = r.u32();
        c.context_init = r.u32();
        auto name = r.bytes(context_name_max);
        c.debug_name = std::string_view(reinterpret_cast<const char*>(name.data()),
                                        std::min<size_t>(name_length, name.size()));
        return c;
    }
    case cmd_type::ctx_destroy:
        return CtxDestroy{};
    case cmd_type::ctx_attach_resource:
    case cmd_type::ctx_detach_resource:
        return CtxResource{type == cmd_type::ctx_attach_resource, r.u32()};
    case cmd_type::resource_create_3d: {
        ResourceCreate3d c{};
        for (uint32_t* field : {&c.resource_id, &c.target, &c.format, &c.bind, &c.width, &c.height,
                                &c.depth, &c.array_size, &c.last_level, &c.nr_samples, &c.flags}) {
            *field = r.u32();
        }
        return c;
    }
    case cmd_type::transfer_to_host_3d:
    case cmd_type::transfer_from_host_3d: {
        Transfer3d c{};
        c.to_host = type == cmd_type::transfer_to_host_3d;
        c.box = {r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32()};
        c.offset = r.u64();
        c.resource_id = r.u32();
        c.level = r.u32();
        c.stride = r.u32();
        c.layer_stride = r.u32();
        return c;
    }
    case cmd_type::submit_3d: {
        uint32_t size = r.u32();
        r.skip(4);
        if (size > max_submit_bytes) {
            return std::unexpected("command buffer too large");
        }
        if (size % 4 != 0) {
            return std::unexpected("command buffer not whole dwords");
        }
        if (r.remaining() < size) {
            return std::unexpected("command buffer truncated");
        }
        return Submit3d{r.bytes(size)};
    }
    case cmd_type::get_capset_info:
        return GetCapsetInfo{r.u32()};
    case cmd_type::get_capset: {
        GetCapset c{};
        c.capset_id = r.u32();
        c.capset_version = r.u32();
        return c;
    }
    default:
        return Unsupported{type};
    }
}

// Exact minimum size per command type; 0 for unknown types.
size_t min_size(uint32_t type) {
    switch (type) {
    case cmd_type::get_display_info:
        return GetDisplayInfo::wire_size;
    case cmd_type::resource_create_2d:
        return ResourceCreate2d::wire_size;
    case cmd_type::resource_unref:
        return ResourceUnref::wire_size;
    case cmd_type::set_scanout:
        return SetScanout::wire_size;
    case cmd_type::resource_flush:
        return ResourceFlush::wire_size;
    case cmd_type::transfer_to_host_2d:
        return TransferToHost2d::wire_size;
    case cmd_type::resource_attach_backing:
        return ResourceAttachBacking::wire_size;
    case cmd_type::resource_detach_backing:
        return ResourceDetachBacking::wire_size;
    case cmd_type::get_edid:
        return GetEdid::wire_size;
    case cmd_type::resource_assign_uuid:
        return ResourceAssignUuid::wire_size;
    case cmd_type::resource_create_blob:
        return ResourceCreateBlob::wire_size;
    case cmd_type::set_scanout_blob:
        return SetScanoutBlob::wire_size;
    case cmd_type::update_cursor:
    case cmd_type::move_cursor:
        return CursorCommand::wire_size;
    case cmd_type::ctx_create:
        return CtxCreate::wire_size;
    case cmd_type::ctx_destroy:
        return CtxDestroy::wire_size;
    case cmd_type::ctx_attach_resource:
    case cmd_type::ctx_detach_resource:
        return CtxResource::wire_size;
    case cmd_type::resource_create_3d:
        return ResourceCreate3d::wire_size;
    case cmd_type::transfer_to_host_3d:
    case cmd_type::transfer_from_host_3d:
        return Transfer3d::wire_size;
    case cmd_type::submit_3d:
        return Submit3d::wire_size;
    case cmd_type::get_capset_info:
        return GetCapsetInfo::wire_size;
    case cmd_type::get_capset:
        return GetCapset::wire_size;
    default:
        return type >= cmd_type::first_3d && type <= cmd_type::last_3d ? header_size : 0;
    }
}

void write_header(WireWriter& w, const CtrlHeader& request, Response type) {
    // Only FENCE and INFO_RING_IDX are echoed; the fence id and ring only with their flag.
    uint32_t flags = request.flags & (flag_fence | flag_info_ring_idx);
    w.u32(static_cast<uint32_t>(type));
    w.u32(flags);
    w.u64((flags & flag_fence) != 0 ? request.fence_id : 0);
    w.u32(request.ctx_id);
    w.u8((flags & flag_info_ring_idx) != 0 ? request.ring_idx : 0);
    w.zeros(3);
}

} // namespace

bool is_known_format(uint32_t format) {
    switch (static_cast<Format>(format)) {
    case Format::b8g8r8a8:
    case Format::b8g8r8x8:
    case Format::a8r8g8b8:
    case Format::x8r8g8b8:
    case Format::r8g8b8a8:
    case Format::x8b8g8r8:
    case Format::a8b8g8r8:
    case Format::r8g8b8x8:
        return true;
    }
    return false;
}

bool format_has_alpha(Format format) {
    return format == Format::b8g8r8a8 || format == Format::a8r8g8b8 || format == Format::r8g8b8a8 ||
           format == Format::a8b8g8r8;
}

uint32_t drm_fourcc(Format format) {
    switch (format) {
    case Format::b8g8r8a8:
        return fourcc('A', 'R', '2', '4'); // ARGB8888
    case Format::b8g8r8x8:
        return fourcc('X', 'R', '2', '4'); // XRGB8888
    case Format::a8r8g8b8:
        return fourcc('B', 'A', '2', '4'); // BGRA8888
    case Format::x8r8g8b8:
        return fourcc('B', 'X', '2', '4'); // BGRX8888
    case Format::r8g8b8a8:
        return fourcc('A', 'B', '2', '4'); // ABGR8888
    case Format::x8b8g8r8:
        return fourcc('R', 'X', '2', '4'); // RGBX8888
    case Format::a8b8g8r8:
        return fourcc('R', 'A', '2', '4'); // RGBA8888
    case Format::r8g8b8x8:
        return fourcc('X', 'B', '2', '4'); // XBGR8888
    }
    return 0;
}

std::optional<Format> format_of_drm_fourcc(uint32_t code) {
    for (Format format : {Format::b8g8r8a8, Format::b8g8r8x8, Format::a8r8g8b8, Format::x8r8g8b8,
                          Format::r8g8b8a8, Format::x8b8g8r8, Format::a8b8g8r8, Format::r8g8b8x8}) {
        if (drm_fourcc(format) == code) {
            return format;
        }
    }
    return std::nullopt;
}

std::expected<Command, DecodeError> decode(std::span<const std::byte> request) {
    if (request.size() < header_size) {
        return fail({}, Response::err_unspec, "truncated header");
    }
    WireReader r(request);
    CtrlHeader header = read_header(r);
    size_t need = min_size(header.type);
    if (need == 0) {
        return fail(header, Response::err_unspec, "unknown command");
    }
    if (request.size() < need) {
        return fail(header, Response::err_unspec, "truncated command");
    }
    auto payload = read_payload(header.type, r);
    if (!payload) {
        return fail(header, Response::err_invalid_parameter, payload.error());
    }
    if (r.failed()) { // cannot happen after the size checks; kept as the reader's contract
        return fail(header, Response::err_unspec, "truncated command");
    }
    return Command{header, std::move(*payload)};
}

std::vector<std::byte> encode_nodata(const CtrlHeader& request, Response type) {
    std::vector<std::byte> out;
    out.reserve(header_size);
    WireWriter w(out);
    write_header(w, request, type);
    return out;
}

std::vector<std::byte> encode_display_info(const CtrlHeader& request,
                                           std::span<const DisplayMode> modes) {
    std::vector<std::byte> out;
    out.reserve(display_info_size);
    WireWriter w(out);
    write_header(w, request, Response::ok_display_info);
    size_t count = std::min(modes.size(), max_scanouts);
    for (size_t i = 0; i < count; ++i) {
        const auto& m = modes[i];
        w.u32(m.rect.x);
        w.u32(m.rect.y);
        w.u32(m.rect.width);
        w.u32(m.rect.height);
        w.u32(m.enabled ? 1 : 0);
        w.u32(m.flags);
    }
    w.zeros(display_info_size - out.size());
    return out;
}

std::vector<std::byte> encode_edid(const CtrlHeader& request, std::span<const uint8_t> edid) {
    std::vector<std::byte> out;
    out.reserve(edid_response_size);
    WireWriter w(out);
    write_header(w, request, Response::ok_edid);
    auto size = std::min(edid.size(), edid_max_size);
    w.u32(static_cast<uint32_t>(size));
    w.u32(0);
    for (size_t i = 0; i < size; ++i) {
        w.u8(edid[i]);
    }
    w.zeros(edid_response_size - out.size());
    return out;
}

std::vector<std::byte> encode_resource_uuid(const CtrlHeader& request,
                                            const std::array<uint8_t, 16>& uuid) {
    std::vector<std::byte> out;
    out.reserve(uuid_response_size);
    WireWriter w(out);
    write_header(w, request, Response::ok_resource_uuid);
    for (auto b : uuid) {
        w.u8(b);
    }
    return out;
}

std::vector<std::byte> encode_capset_info(const CtrlHeader& request, uint32_t id,
                                          uint32_t max_version, uint32_t max_size) {
    std::vector<std::byte> out;
    out.reserve(capset_info_response_size);
    WireWriter w(out);
    write_header(w, request, Response::ok_capset_info);
    w.u32(id);
    w.u32(max_version);
    w.u32(max_size);
    w.u32(0);
    return out;
}

std::vector<std::byte> encode_capset(const CtrlHeader& request, std::span<const std::byte> data) {
    data = data.first(std::min<size_t>(data.size(), max_capset_bytes));
    std::vector<std::byte> out;
    out.reserve(header_size + data.size());
    WireWriter w(out);
    write_header(w, request, Response::ok_capset);
    w.bytes(data);
    return out;
}

} // namespace tessera::gpu::proto
