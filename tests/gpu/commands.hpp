#pragma once

#include "gpu-backend/virtio_gpu/protocol.hpp"
#include "gpu-backend/virtio_gpu/wire.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

// Builds guest requests byte by byte, as a driver lays them out, and reads response headers.
namespace tessera::gpu::test {

using Bytes = std::vector<std::byte>;
using proto::Rect;

struct Fence {
    uint32_t flags = 0;
    uint64_t fence_id = 0;
    uint32_t ctx_id = 0;
    uint8_t ring_idx = 0;
};
inline constexpr Fence fenced(uint64_t id) {
    return {proto::flag_fence, id, 0, 0};
}

class Request {
public:
    explicit Request(uint32_t type, Fence f = {}) : w_(bytes_) {
        w_.u32(type);
        w_.u32(f.flags);
        w_.u64(f.fence_id);
        w_.u32(f.ctx_id);
        w_.u8(f.ring_idx);
        w_.zeros(3);
    }
    Request(const Request&) = delete; // the writer points into this object
    Request& operator=(const Request&) = delete;
    Request& u32(uint32_t v) {
        w_.u32(v);
        return *this;
    }
    Request& u64(uint64_t v) {
        w_.u64(v);
        return *this;
    }
    Request& rect(Rect r) { return u32(r.x).u32(r.y).u32(r.width).u32(r.height); }
    Bytes take() { return std::move(bytes_); }
    operator Bytes() { return take(); }

private:
    Bytes bytes_;
    proto::WireWriter w_;
};

inline Bytes get_display_info(Fence f = {}) {
    return Request(proto::cmd_type::get_display_info, f);
}
inline Bytes get_edid(uint32_t scanout, Fence f = {}) {
    return Request(proto::cmd_type::get_edid, f).u32(scanout).u32(0);
}
inline Bytes create_2d(uint32_t id, uint32_t format, uint32_t w, uint32_t h, Fence f = {}) {
    return Request(proto::cmd_type::resource_create_2d, f).u32(id).u32(format).u32(w).u32(h);
}
inline Bytes unref(uint32_t id, Fence f = {}) {
    return Request(proto::cmd_type::resource_unref, f).u32(id).u32(0);
}
inline Bytes set_scanout(uint32_t scanout, uint32_t id, Rect r, Fence f = {}) {
    return Request(proto::cmd_type::set_scanout, f).rect(r).u32(scanout).u32(id);
}
inline Bytes flush(uint32_t id, Rect r, Fence f = {}) {
    return Request(proto::cmd_type::resource_flush, f).rect(r).u32(id).u32(0);
}
inline Bytes transfer(uint32_t id, Rect r, uint64_t offset, Fence f = {}) {
    return Request(proto::cmd_type::transfer_to_host_2d, f).rect(r).u64(offset).u32(id).u32(0);
}
inline Bytes attach(uint32_t id, std::span<const proto::MemEntry> entries, Fence f = {}) {
    Request r(proto::cmd_type::resource_attach_backing, f);
    r.u32(id).u32(static_cast<uint32_t>(entries.size()));
    for (const auto& e : entries) {
        r.u64(e.addr).u32(e.length).u32(0);
    }
    return r;
}
inline Bytes detach(uint32_t id, Fence f = {}) {
    return Request(proto::cmd_type::resource_detach_backing, f).u32(id).u32(0);
}
inline Bytes assign_uuid(uint32_t id, Fence f = {}) {
    return Request(proto::cmd_type::resource_assign_uuid, f).u32(id).u32(0);
}
// A guest-memory blob (SHAREABLE, as the Linux driver makes its dumb buffers).
inline Bytes create_blob(uint32_t id, uint64_t size, std::span<const proto::MemEntry> entries,
                         Fence f = {}, uint32_t blob_mem = proto::blob_mem_guest,
                         uint32_t flags = proto::blob_flag_shareable) {
    Request r(proto::cmd_type::resource_create_blob, f);
    r.u32(id).u32(blob_mem).u32(flags).u32(static_cast<uint32_t>(entries.size()));
    r.u64(0).u64(size);
    for (const auto& e : entries) {
        r.u64(e.addr).u32(e.length).u32(0);
    }
    return r;
}
struct BlobLayout {
    uint32_t width = 0, height = 0;
    uint32_t format = static_cast<uint32_t>(proto::Format::b8g8r8x8);
    uint32_t stride = 0; // 0: width * 4
    uint32_t offset = 0;
};
inline Bytes set_scanout_blob(uint32_t scanout, uint32_t id, BlobLayout l, Rect r, Fence f = {}) {
    Request q(proto::cmd_type::set_scanout_blob, f);
    q.rect(r).u32(scanout).u32(id).u32(l.width).u32(l.height).u32(l.format).u32(0);
    q.u32(l.stride != 0 ? l.stride : l.width * 4).u32(0).u32(0).u32(0);
    return q.u32(l.offset).u32(0).u32(0).u32(0);
}
inline Bytes cursor(bool update, uint32_t scanout, int32_t x, int32_t y, uint32_t id,
                    uint32_t hot_x = 0, uint32_t hot_y = 0, Fence f = {}) {
    Request r(update ? proto::cmd_type::update_cursor : proto::cmd_type::move_cursor, f);
    r.u32(scanout).u32(static_cast<uint32_t>(x)).u32(static_cast<uint32_t>(y)).u32(0);
    return r.u32(id).u32(hot_x).u32(hot_y).u32(0);
}

// 3D: the context is the header's ctx_id.
inline constexpr Fence in_context(uint32_t ctx, uint64_t fence_id = 0) {
    return {fence_id != 0 ? proto::flag_fence : 0, fence_id, ctx, 0};
}
inline Bytes ctx_create(uint32_t ctx, std::string_view name = "test", uint32_t context_init = 0) {
    Request r(proto::cmd_type::ctx_create, in_context(ctx));
    r.u32(static_cast<uint32_t>(name.size())).u32(context_init);
    Bytes bytes = r;
    for (size_t i = 0; i < proto::context_name_max; ++i) {
        bytes.push_back(i < name.size() ? static_cast<std::byte>(name[i]) : std::byte{0});
    }
    return bytes;
}
inline Bytes ctx_destroy(uint32_t ctx) {
    return Request(proto::cmd_type::ctx_destroy, in_context(ctx));
}
inline Bytes ctx_resource(bool attach, uint32_t ctx, uint32_t id) {
    return Request(attach ? proto::cmd_type::ctx_attach_resource
                          : proto::cmd_type::ctx_detach_resource,
                   in_context(ctx))
        .u32(id)
        .u32(0);
}
// A 2D texture (PIPE_TEXTURE_2D) bound as a render target, as Mesa makes a scanout buffer.
struct Resource3dShape {
    uint32_t target = 2, format = 2, bind = 2, width = 64, height = 64, depth = 1, array_size = 1,
             last_level = 0, nr_samples = 0, flags = 0;
};
inline Bytes create_3d(uint32_t id, Resource3dShape s = {}, Fence f = {}) {
    Request r(proto::cmd_type::resource_create_3d, f);
    r.u32(id).u32(s.target).u32(s.format).u32(s.bind).u32(s.width).u32(s.height).u32(s.depth);
    return r.u32(s.array_size).u32(s.last_level).u32(s.nr_samples).u32(s.flags).u32(0);
}
inline Bytes transfer_3d(bool to_host, uint32_t id, proto::Box box, Fence f = {},
                         uint64_t offset = 0, uint32_t level = 0, uint32_t stride = 0) {
    Request r(
        to_host ? proto::cmd_type::transfer_to_host_3d : proto::cmd_type::transfer_from_host_3d, f);
    r.u32(box.x).u32(box.y).u32(box.z).u32(box.w).u32(box.h).u32(box.d);
    return r.u64(offset).u32(id).u32(level).u32(stride).u32(0);
}
inline Bytes submit_3d(uint32_t ctx, std::span<const uint32_t> dwords, uint64_t fence_id = 0) {
    Request r(proto::cmd_type::submit_3d, in_context(ctx, fence_id));
    r.u32(static_cast<uint32_t>(dwords.size() * 4)).u32(0);
    for (uint32_t d : dwords) {
        r.u32(d);
    }
    return r;
}
inline Bytes get_capset_info(uint32_t index) {
    return Request(proto::cmd_type::get_capset_info).u32(index).u32(0);
}
inline Bytes get_capset(uint32_t id, uint32_t version) {
    return Request(proto::cmd_type::get_capset).u32(id).u32(version);
}

struct ResponseHeader {
    uint32_t type, flags;
    uint64_t fence_id;
    uint32_t ctx_id;
    uint8_t ring_idx;
};
inline ResponseHeader response_header(std::span<const std::byte> bytes) {
    proto::WireReader r(bytes);
    ResponseHeader h{};
    h.type = r.u32();
    h.flags = r.u32();
    h.fence_id = r.u64();
    h.ctx_id = r.u32();
    h.ring_idx = r.u8();
    return h;
}
inline uint32_t response_type(std::span<const std::byte> bytes) {
    return response_header(bytes).type;
}
inline constexpr uint32_t code(proto::Response r) {
    return static_cast<uint32_t>(r);
}

} // namespace tessera::gpu::test
