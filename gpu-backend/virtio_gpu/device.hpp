#pragma once

#include "gpu-backend/guest_ram.hpp"
#include "gpu-backend/base/log_limiter.hpp"
#include "gpu-backend/virtio_gpu/protocol.hpp"
#include "gpu-backend/virtio_gpu/renderer_3d.hpp"
#include "gpu-backend/virtio_gpu/resource.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

// The virtio-gpu device model of one guest: 2D and guest-memory blob resources and, with a
// Renderer3d, 3D contexts and resources (device_3d.cpp); backing, scanouts, cursor, display
// fences. It takes
// the readable bytes of one request and returns the response bytes; it knows nothing of rings
// or sockets (the transport) nor of wlroots (the compositor, told through callbacks).
//
// Guest input is untrusted: every bad command gets its VIRTIO_GPU_RESP_ERR_* response and the
// device goes on; nothing a guest sends makes it assert, abort or throw. Not thread-safe: call
// it from the one event loop.
//
// Deferred responses: process_control() returns nullopt, and `on_response_ready(token, bytes)`
// delivers the response later, for
// - RESOURCE_UNREF of a resource that a scanout shows, or whose pages the display still uses
//   (is_displayed): the guest frees or reuses the pages when the answer arrives. It is answered
//   when the last scanout stops showing it and display_released() was called for it;
// - RESOURCE_DETACH_BACKING of a 2D resource whose pages the display still uses: answered once
//   display_released() was called for it (a scanout showing it goes on from host pixels);
// - a fenced RESOURCE_FLUSH or SET_SCANOUT_BLOB of a resource that scanouts show, when the
//   compositor paces the guest (on_fence is set): answered once signal_fence() was called for
//   each scanout the device reported through on_fence, i.e. when the frame was presented. The
//   guest waits for that answer before it draws its next frame.
// - a fenced 3D command (contexts, 3D resources, transfers, submits): answered once the
//   renderer finished the work submitted before it, in the order the fences were made, and
//   once every 3D frame flushed before it was presented. Linux fences no flush of a 3D
//   scanout, so this is what paces a 3D guest to the display, as QEMU's virgl display does by
//   holding its command queue until the frame was drawn: the guest's next frame waits.
// reset() drops pending responses without answering (their rings are gone) and returns their
// tokens. Every other response is complete when returned, fenced or not.
namespace tessera::gpu {

struct ScanoutConfig {
    uint32_t width = 1024;
    uint32_t height = 768;
    uint32_t refresh_mhz = 60'000;
};

struct Quota {
    uint32_t max_resources = 1024;
    uint64_t max_resource_bytes = 256ull << 20; // host pixel memory over all resources; also
                                                // the cap on one resource's backing length
    uint32_t max_resource_dimension = 16384;    // width and height; at most 65536
    uint64_t max_backing_ranges = 131072;       // stored (merged) backing ranges, all resources
    // Pieces of guest memory mapped one by one, for blobs udmabuf does not take, all blobs:
    // each is a mapping of the compositor's, and vm.max_map_count (65530 by default) counts
    // them all, every guest's and the compositor's own.
    uint64_t max_blob_mappings = 8192;
    uint32_t max_contexts = 64; // 3D rendering contexts
};

class Udmabuf;

struct DeviceConfig {
    std::vector<ScanoutConfig> scanouts; // at most 16; more are ignored
    Quota quota;
    // Where blobs get their dma-bufs; null: blobs are mapped only.
    Udmabuf* udmabuf = nullptr;
    // What renders 3D commands; null: the device has no 3D (no capsets, 3D commands fail).
    Renderer3d* renderer = nullptr;
};

// How a scanout reads its resource: `rect` of a `width` x `height` image in `format`, rows
// `stride` bytes apart from `offset`. For a 2D resource: its own size and packed rows. Guest
// memory is linear and top row first; a 3D frame the renderer exported is laid out as its driver
// says (`modifier`, `bottom_up`).
struct ScanoutImage {
    proto::Format format = proto::Format::b8g8r8x8;
    uint32_t width = 0;
    uint32_t height = 0;
    uint32_t stride = 0;
    uint64_t offset = 0;
    proto::Rect rect;
    uint64_t modifier = proto::modifier_linear;
    bool bottom_up = false; // rows stored bottom first, as OpenGL keeps a texture's
    bool operator==(const ScanoutImage&) const = default;
};

struct Cursor {
    bool visible = false;
    int32_t x = 0; // position of the hotspot on the scanout
    int32_t y = 0;
    uint32_t hot_x = 0; // within the image, clamped to it
    uint32_t hot_y = 0;
    uint32_t width = 0;
    uint32_t height = 0;
    proto::Format format = proto::Format::b8g8r8a8;
    // Copied at UPDATE_CURSOR, as QEMU does, so the cursor outlives its resource.
    // Rows of width * 4 bytes.
    std::vector<std::byte> pixels;
};

struct DeviceStats {
    uint64_t commands = 0; // both queues
    uint64_t errors = 0;   // ERR_* responses
    uint64_t flushes = 0;
    uint64_t transfers = 0;
    uint64_t transfer_bytes = 0;
    uint64_t cursor_commands = 0;
    uint64_t deferred_unrefs = 0;
    uint64_t blobs = 0;         // blob resources created
    uint64_t fenced_frames = 0; // fenced flushes held until presented, and 3D frames (read
                                // back or exported) that later 3D fences waited for
    uint64_t submits = 0;       // 3D command buffers
    uint64_t submit_bytes = 0;
    uint64_t fenced_3d = 0; // 3D commands answered when the renderer finished them
    uint64_t readbacks = 0; // 3D frames read back from the renderer for the display
    uint64_t readback_bytes = 0;
    uint64_t exports = 0; // 3D resources shown from the renderer's own texture (a dma-buf)
};

// Chosen by the transport per request (e.g. its descriptor chain head), handed back with a
// deferred response.
using ResponseToken = uint64_t;

// All optional; called synchronously from process_*() and reset(); must not call back into the
// device and must not throw.
struct DeviceCallbacks {
    // A scanout now shows `image` of `resource`, or nothing when `resource` is null. The pointer
    // stays valid until this scanout reports another state; reset() reports null for every
    // enabled scanout before it frees anything. Reported again for the same resource when the
    // way to read it changed (its mapped_memory went: read it from pixels() or the backing).
    std::function<void(uint32_t scanout, const Resource* resource, const ScanoutImage& image)>
        on_scanout;
    // The guest flushed `damage` (resource coordinates, clipped to the scanout's rect) of the
    // resource a scanout shows: its image is ready to display. The guest may draw into it again
    // at any time (it is its memory, or the next TRANSFER overwrites pixels()): like real
    // hardware, a display reading it late can tear.
    std::function<void(uint32_t scanout, const Resource& resource, proto::Rect damage)> on_flush;
    // Cursor moved (image_changed false) or got a new image or was hidden (true).
    std::function<void(uint32_t scanout, const Cursor& cursor, bool image_changed)> on_cursor;
    // The frame a scanout shows now (just flushed or set) carries a fence: call signal_fence(token)
    // once the frame was presented (or, hidden, at the scanout's virtual vblank). Unset: fences
    // are answered at once.
    std::function<void(uint32_t scanout, ResponseToken token)> on_fence;
    // Whether the display still uses a blob's pages (its buffer is on screen or queued). When
    // true at RESOURCE_UNREF, the answer waits for display_released(). Unset: never.
    std::function<bool(uint32_t resource_id)> is_displayed;
    // A resource is gone (unreferenced, or all of them at reset()).
    std::function<void(uint32_t resource_id)> on_resource_destroyed;
    // A deferred response is ready; the transport writes it to the request of `token`.
    std::function<void(ResponseToken token, std::vector<std::byte> response)> on_response_ready;
};

class GpuDevice {
public:
    explicit GpuDevice(DeviceConfig config);
    ~GpuDevice();
    GpuDevice(const GpuDevice&) = delete;
    GpuDevice& operator=(const GpuDevice&) = delete;

    void set_callbacks(DeviceCallbacks callbacks) { callbacks_ = std::move(callbacks); }
    // The guest's memory; replaced when the memory table changes. Without it every command
    // touching backing fails with ERR_UNSPEC.
    // When it is new, 3D resources' backing is handed to the renderer anew.
    void set_guest_ram(std::shared_ptr<const GuestRam> ram);

    // One control-queue request. Returns the response, or nullopt when it is deferred (see
    // above): it then comes through on_response_ready with the same token.
    [[nodiscard]] std::optional<std::vector<std::byte>>
    process_control(std::span<const std::byte> request, ResponseToken token = 0);
    // One cursor-queue request; never deferred. A Linux guest gives cursor requests no
    // response buffer: the transport writes what fits, possibly nothing.
    [[nodiscard]] std::vector<std::byte> process_cursor(std::span<const std::byte> request);

    // Drops all resources, scanouts and cursors (rings stopped, guest rebooting); returns the
    // tokens of the deferred responses dropped unanswered.
    std::vector<ResponseToken> reset();

    // The frame of a fence reported through on_fence was presented on that scanout. Unknown or
    // already completed tokens are ignored.
    void signal_fence(ResponseToken token);
    // The display let go of a resource's pages; a pending UNREF or detach may now be answered.
    void display_released(uint32_t resource_id);

    // Changes what GET_DISPLAY_INFO and GET_EDID report for a scanout (e.g. its zone was
    // resized); the transport then raises the config's display event. False for a bad index.
    bool set_scanout_config(uint32_t index, ScanoutConfig config);

    [[nodiscard]] uint32_t num_scanouts() const { return static_cast<uint32_t>(configs_.size()); }
    [[nodiscard]] bool has_3d() const { return renderer_ != nullptr; }
    // What the config space reports: the renderer's capsets, 0 without 3D.
    [[nodiscard]] uint32_t num_capsets() const { return static_cast<uint32_t>(capsets_.size()); }
    [[nodiscard]] size_t context_count() const { return contexts_.size(); }
    [[nodiscard]] const ScanoutConfig& scanout_config(uint32_t index) const {
        return configs_.at(index);
    }
    struct Scanout {
        uint32_t resource_id = 0; // 0: disabled
        ScanoutImage image;
    };
    [[nodiscard]] const Scanout& scanout(uint32_t index) const { return scanouts_.at(index); }
    [[nodiscard]] const Cursor& cursor(uint32_t index) const { return cursors_.at(index); }
    // Includes resources whose UNREF is pending.
    [[nodiscard]] const Resource* find_resource(uint32_t id) const;
    [[nodiscard]] size_t resource_count() const { return resources_.size(); }
    [[nodiscard]] size_t pending_responses() const {
        return pending_.size() + fences_.size() + fences_3d_.size();
    }
    [[nodiscard]] const DeviceStats& stats() const { return stats_; }

private:
    struct Failure {
        proto::Response code;
        std::string_view reason;
    };
    struct NoData {};
    struct Deferred {};
    using Reply = std::variant<NoData, std::vector<std::byte>, Deferred>;
    using Result = std::expected<Reply, Failure>;
    enum class Queue { control, cursor };
    static std::unexpected<Failure> fail(proto::Response code, std::string_view reason);
    enum class Wait { unref, detach };
    struct Pending {
        ResponseToken token;
        uint32_t resource_id;
        proto::CtrlHeader header;
        Wait wait;
    };
    struct PendingFence {
        ResponseToken token;
        proto::CtrlHeader header;
        uint32_t waiting;      // scanouts yet to present the frame
        bool paces_3d = false; // a 3D frame: 3D fences made after it wait for it
        bool internal = false; // no guest request waits for it (an unfenced flush)
    };
    struct Pending3dFence {
        ResponseToken token;
        proto::CtrlHeader header;
        uint64_t after_frame = 0; // rendered_frames_sent_ when it was made
        bool done = false;        // the renderer finished it
    };
    // Tokens of the device's own present notices, apart from the transport's.
    static constexpr ResponseToken internal_token = 1ull << 63;
    // A 3D resource: the renderer holds its image; the device its accounting and backing.
    struct Resource3d {
        proto::ResourceCreate3d args;
        uint64_t bytes = 0; // counted against the quota
        std::optional<Backing> backing;
        uint64_t read_at = 0; // render_serial_ when last read back for the display
    };

    std::optional<std::vector<std::byte>> process(std::span<const std::byte> request, Queue queue,
                                                  ResponseToken token);
    Result dispatch(const proto::Command& command, Queue queue, ResponseToken token);
    std::optional<std::vector<std::byte>> respond(const proto::CtrlHeader& header, Result result);

    Result handle(const proto::CtrlHeader& h, const proto::GetDisplayInfo& c);
    Result handle(const proto::CtrlHeader& h, const proto::GetEdid& c);
    Result handle(const proto::CtrlHeader& h, const proto::ResourceCreate2d& c);
    Result handle(const proto::CtrlHeader& h, const proto::ResourceUnref& c, ResponseToken token);
    Result handle(const proto::CtrlHeader& h, const proto::SetScanout& c);
    Result handle(const proto::CtrlHeader& h, const proto::ResourceFlush& c, ResponseToken token);
    Result handle(const proto::CtrlHeader& h, const proto::TransferToHost2d& c);
    Result handle(const proto::CtrlHeader& h, const proto::ResourceAttachBacking& c);
    Result handle(const proto::CtrlHeader& h, const proto::ResourceDetachBacking& c,
                  ResponseToken token);
    Result handle(const proto::CtrlHeader& h, const proto::ResourceAssignUuid& c);
    Result handle(const proto::CtrlHeader& h, const proto::ResourceCreateBlob& c);
    Result handle(const proto::CtrlHeader& h, const proto::SetScanoutBlob& c, ResponseToken token);
    Result handle(const proto::CursorCommand& c);
    // 3D (device_3d.cpp).
    Result handle(const proto::CtrlHeader& h, const proto::GetCapsetInfo& c);
    Result handle(const proto::CtrlHeader& h, const proto::GetCapset& c);
    Result handle(const proto::CtrlHeader& h, const proto::CtxCreate& c);
    Result handle(const proto::CtrlHeader& h, const proto::CtxDestroy& c);
    Result handle(const proto::CtrlHeader& h, const proto::CtxResource& c);
    Result handle(const proto::CtrlHeader& h, const proto::ResourceCreate3d& c);
    Result handle(const proto::CtrlHeader& h, const proto::Transfer3d& c);
    Result handle(const proto::CtrlHeader& h, const proto::Submit3d& c);
    void drop_3d(uint32_t id); // the renderer's part; a display copy stays in resources_
    // The display's view of a 3D resource (a 2D resource with its id, made at its first
    // SET_SCANOUT): the renderer's texture exported as a dma-buf where it can, else a copy the
    // renderer's image is read back into.
    std::expected<void, Failure> make_display_view(uint32_t id);
    std::unique_ptr<Resource> exported_view(uint32_t id);
    void read_back(uint32_t id, proto::Rect rect);
    Result attach_backing_3d(uint32_t id, std::span<const proto::MemEntry> entries);
    Result detach_backing_3d(uint32_t id);
    // A fenced 3D command that succeeded: its answer waits for the renderer's fence.
    Result fence_3d(const proto::CtrlHeader& h, ResponseToken token, Result done);
    void renderer_fence_done(uint64_t fence_id);
    void answer_finished_3d(); // the 3D fences done and after presented frames, in order
    bool give_backing_to_renderer(uint32_t id, const Backing& backing);
    void destroy_all_3d();
    [[nodiscard]] bool resource_id_taken(uint32_t id) const {
        return id == 0 || resources_.contains(id) || resources_3d_.contains(id);
    }

    Resource* live_resource(uint32_t id); // null when unknown or its UNREF is pending
    bool on_any_scanout(uint32_t id) const;
    bool displayed(uint32_t id) const; // the display still uses its pages
    bool in_use(uint32_t id) const;    // on a scanout or still used by the display
    void show(uint32_t scanout, uint32_t resource_id, const ScanoutImage& image);
    void reshow(const Resource& resource);
    void release_if_hidden(uint32_t id); // completes a pending UNREF or detach
    void answer_pending(uint32_t id, Wait wait);
    void answer_later(ResponseToken token, const proto::CtrlHeader& header); // a held OK
    // Holds a fenced command's answer until the scanouts showing `resource_id` presented it.
    // `paces_3d`: a 3D frame (read back or exported), fenced or not; presented, it lets the 3D
    // fences made after it go.
    Result hold_fence(const proto::CtrlHeader& h, uint32_t resource_id, ResponseToken token,
                      bool paces_3d = false);
    std::expected<void, Failure> map_in_place(Resource& resource, uint64_t size);
    void unmap(Resource& resource);
    bool read_image_in_backing(const Resource& resource, uint64_t offset,
                               std::span<std::byte> out) const;
    void copy_backing_to_pixels(Resource& resource);
    void stop_reading_in_place(Resource& resource);
    std::expected<void, Failure> check_resource_quota(uint64_t bytes) const;
    bool take_ranges(const Backing& backing);
    // Validates a guest's backing entries and counts their ranges against the quota.
    std::expected<Backing, Failure> new_backing(std::span<const proto::MemEntry> entries);
    void destroy(uint32_t id);
    void drop_backing(Resource& resource);

    std::vector<ScanoutConfig> configs_;
    Quota quota_;
    DeviceCallbacks callbacks_;
    std::shared_ptr<const GuestRam> ram_;
    std::unordered_map<uint32_t, std::unique_ptr<Resource>> resources_;
    std::vector<Scanout> scanouts_;
    std::vector<Cursor> cursors_;
    std::vector<Pending> pending_;
    std::vector<PendingFence> fences_;
    Udmabuf* udmabuf_;
    Renderer3d* renderer_;
    std::vector<Capset> capsets_;
    std::unordered_set<uint32_t> contexts_;
    std::unordered_map<uint32_t, Resource3d> resources_3d_;
    std::deque<Pending3dFence> fences_3d_;
    uint64_t render_serial_ = 1;        // grows with each submit and upload: 3D images may differ
    uint64_t rendered_frames_sent_ = 0; // 3D frames flushed to a shown scanout
    uint64_t rendered_frames_presented_ = 0; // of those, presented (or replaced)
    uint64_t next_internal_token_ = internal_token;
    uint64_t used_bytes_ = 0;
    uint64_t used_ranges_ = 0;
    uint64_t used_mappings_ = 0;
    DeviceStats stats_;
    std::mt19937_64 uuid_random_;
    LogLimiter log_limiter_;
    bool told_why_not_exported_ = false; // said once per guest: it is the host's nature
};

} // namespace tessera::gpu
