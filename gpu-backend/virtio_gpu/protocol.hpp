#pragma once

#include "gpu-backend/virtio_gpu/protocol_3d.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

// The virtio-gpu wire protocol (virtio spec, GPU device; Linux include/uapi/linux/virtio_gpu.h):
// constants, typed commands, the decoder from guest bytes and the response encoders.
// Everything here is little-endian on the wire and read field by field (wire.hpp).
namespace tessera::gpu::proto {

namespace cmd_type {
inline constexpr uint32_t get_display_info = 0x100;
inline constexpr uint32_t resource_create_2d = 0x101;
inline constexpr uint32_t resource_unref = 0x102;
inline constexpr uint32_t set_scanout = 0x103;
inline constexpr uint32_t resource_flush = 0x104;
inline constexpr uint32_t transfer_to_host_2d = 0x105;
inline constexpr uint32_t resource_attach_backing = 0x106;
inline constexpr uint32_t resource_detach_backing = 0x107;
inline constexpr uint32_t get_capset_info = 0x108;
inline constexpr uint32_t get_capset = 0x109;
inline constexpr uint32_t get_edid = 0x10a;
inline constexpr uint32_t resource_assign_uuid = 0x10b;
inline constexpr uint32_t resource_create_blob = 0x10c;
inline constexpr uint32_t set_scanout_blob = 0x10d;
// 3D commands: protocol_3d.hpp. Those not decoded (map/unmap blob) reach 0x209.
inline constexpr uint32_t first_3d = 0x200;
inline constexpr uint32_t last_3d = 0x209;
inline constexpr uint32_t update_cursor = 0x300;
inline constexpr uint32_t move_cursor = 0x301;
} // namespace cmd_type

enum class Response : uint32_t {
    ok_nodata = 0x1100,
    ok_display_info = 0x1101,
    ok_capset_info = 0x1102,
    ok_capset = 0x1103,
    ok_edid = 0x1104,
    ok_resource_uuid = 0x1105,
    err_unspec = 0x1200,
    err_out_of_memory = 0x1201,
    err_invalid_scanout_id = 0x1202,
    err_invalid_resource_id = 0x1203,
    err_invalid_context_id = 0x1204,
    err_invalid_parameter = 0x1205,
};

inline constexpr uint32_t flag_fence = 1;
inline constexpr uint32_t flag_info_ring_idx = 2;

// RESOURCE_CREATE_BLOB: where the memory is and what may be done with it. Only guest memory
// blobs exist without 3D.
inline constexpr uint32_t blob_mem_guest = 1;
inline constexpr uint32_t blob_flag_mappable = 1;
inline constexpr uint32_t blob_flag_shareable = 2;
inline constexpr uint32_t blob_flag_cross_device = 4;

inline constexpr size_t max_scanouts = 16;
// QEMU's limit; bounds an ATTACH_BACKING / CREATE_BLOB command to 256 KiB of entries.
inline constexpr uint32_t max_backing_entries = 16384;
inline constexpr size_t edid_max_size = 1024;

// Wire sizes of requests (header included) and responses.
inline constexpr size_t header_size = 24;
inline constexpr size_t mem_entry_size = 16;
inline constexpr size_t display_info_size = header_size + max_scanouts * 24;  // 408
inline constexpr size_t edid_response_size = header_size + 8 + edid_max_size; // 1056
inline constexpr size_t uuid_response_size = header_size + 16;
inline constexpr size_t capset_info_response_size = header_size + 16;

// Pixel formats: names give the byte order in memory. All are 4 bytes per pixel.
enum class Format : uint32_t {
    b8g8r8a8 = 1,
    b8g8r8x8 = 2,
    a8r8g8b8 = 3,
    x8r8g8b8 = 4,
    r8g8b8a8 = 67,
    x8b8g8r8 = 68,
    a8b8g8r8 = 121,
    r8g8b8x8 = 134,
};
inline constexpr uint32_t bytes_per_pixel = 4;

[[nodiscard]] bool is_known_format(uint32_t format);
[[nodiscard]] bool format_has_alpha(Format format);
// The DRM fourcc describing the same memory layout (DRM codes are little-endian packed words:
// virtio B8G8R8X8 is DRM_FORMAT_XRGB8888).
[[nodiscard]] uint32_t drm_fourcc(Format format);
// The guest format laid out as the DRM fourcc `fourcc` is, if there is one.
[[nodiscard]] std::optional<Format> format_of_drm_fourcc(uint32_t fourcc);
// DRM_FORMAT_MOD_LINEAR: rows of pixels one after the other, readable where they lie.
inline constexpr uint64_t modifier_linear = 0;

struct CtrlHeader {
    uint32_t type = 0;
    uint32_t flags = 0;
    uint64_t fence_id = 0;
    uint32_t ctx_id = 0;
    uint8_t ring_idx = 0;
};

struct Rect {
    uint32_t x = 0;
    uint32_t y = 0;
    uint32_t width = 0;
    uint32_t height = 0;
    bool operator==(const Rect&) const = default;
};

struct MemEntry {
    uint64_t addr = 0;
    uint32_t length = 0;
};

// Typed requests. Sizes are the exact minimum byte counts, header included.
struct GetDisplayInfo {
    static constexpr size_t wire_size = header_size;
};
struct ResourceCreate2d {
    static constexpr size_t wire_size = 40;
    uint32_t resource_id, format, width, height;
};
struct ResourceUnref {
    static constexpr size_t wire_size = 32;
    uint32_t resource_id;
};
struct SetScanout {
    static constexpr size_t wire_size = 48;
    Rect rect;
    uint32_t scanout_id, resource_id;
};
struct ResourceFlush {
    static constexpr size_t wire_size = 48;
    Rect rect;
    uint32_t resource_id;
};
struct TransferToHost2d {
    static constexpr size_t wire_size = 56;
    Rect rect;
    uint64_t offset;
    uint32_t resource_id;
};
struct ResourceAttachBacking {
    static constexpr size_t wire_size = 32; // + nr_entries * mem_entry_size
    uint32_t resource_id;
    std::vector<MemEntry> entries;
};
struct ResourceDetachBacking {
    static constexpr size_t wire_size = 32;
    uint32_t resource_id;
};
struct GetEdid {
    static constexpr size_t wire_size = 32;
    uint32_t scanout;
};
struct ResourceAssignUuid {
    static constexpr size_t wire_size = 32;
    uint32_t resource_id;
};
struct ResourceCreateBlob {
    static constexpr size_t wire_size = 56; // + nr_entries * mem_entry_size
    uint32_t resource_id, blob_mem, blob_flags;
    uint64_t blob_id, size;
    std::vector<MemEntry> entries;
};
struct SetScanoutBlob {
    static constexpr size_t wire_size = 96;
    Rect rect;
    uint32_t scanout_id, resource_id, width, height, format;
    std::array<uint32_t, 4> strides, offsets;
};
// UPDATE_CURSOR and MOVE_CURSOR share one layout; `update` tells them apart.
struct CursorCommand {
    static constexpr size_t wire_size = 56;
    bool update;
    uint32_t scanout_id;
    int32_t x, y; // Linux sends the plane's signed CRTC position
    uint32_t resource_id, hot_x, hot_y;
};
// A command this device knows but does not implement (3D blob mapping).
struct Unsupported {
    uint32_t type;
};

// The longest request worth reading (the largest SUBMIT_3D; CREATE_BLOB with the most entries
// is shorter): the transport may cap the bytes it copies out of a chain at this.
inline constexpr size_t max_request_size =
    std::max(ResourceCreateBlob::wire_size + max_backing_entries * mem_entry_size,
             Submit3d::wire_size + max_submit_bytes);

using Payload =
    std::variant<GetDisplayInfo, ResourceCreate2d, ResourceUnref, SetScanout, ResourceFlush,
                 TransferToHost2d, ResourceAttachBacking, ResourceDetachBacking, GetEdid,
                 ResourceAssignUuid, ResourceCreateBlob, SetScanoutBlob, CursorCommand, CtxCreate,
                 CtxDestroy, CtxResource, ResourceCreate3d, Transfer3d, Submit3d, GetCapsetInfo,
                 GetCapset, Unsupported>;

struct Command {
    CtrlHeader header;
    Payload payload;
};

struct DecodeError {
    CtrlHeader header; // what could be read, so the error reply still echoes the fence
    Response response;
    std::string_view reason; // static text, for logs
};

// Decodes one request. Bytes beyond a command's size are ignored, as by QEMU.
[[nodiscard]] std::expected<Command, DecodeError> decode(std::span<const std::byte> request);

// Response encoders. Each copies the fence (flag and id), ctx_id and, when the request asked
// with INFO_RING_IDX, ring_idx from the request header, as the spec requires.
[[nodiscard]] std::vector<std::byte> encode_nodata(const CtrlHeader& request, Response type);

struct DisplayMode {
    Rect rect;
    bool enabled = false;
    uint32_t flags = 0;
};
// At most max_scanouts modes are written; the rest of the 16 slots are zero (disabled).
[[nodiscard]] std::vector<std::byte> encode_display_info(const CtrlHeader& request,
                                                         std::span<const DisplayMode> modes);
// `edid` longer than edid_max_size is cut.
[[nodiscard]] std::vector<std::byte> encode_edid(const CtrlHeader& request,
                                                 std::span<const uint8_t> edid);
[[nodiscard]] std::vector<std::byte> encode_resource_uuid(const CtrlHeader& request,
                                                          const std::array<uint8_t, 16>& uuid);
[[nodiscard]] std::vector<std::byte> encode_capset_info(const CtrlHeader& request, uint32_t id,
                                                        uint32_t max_version, uint32_t max_size);
// `data` longer than max_capset_bytes is cut.
[[nodiscard]] std::vector<std::byte> encode_capset(const CtrlHeader& request,
                                                   std::span<const std::byte> data);

} // namespace tessera::gpu::proto
