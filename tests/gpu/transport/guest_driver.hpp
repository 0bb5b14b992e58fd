#pragma once

#include "commands.hpp"
#include "frontend.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

// What the Linux virtio-gpu driver does with a running device, on top of a Frontend: one
// request at a time on the control queue (waiting for each answer, or giving up on a fence
// after a while as Linux does), framebuffers as 2D resources whose backing is guest RAM in
// page-sized entries or as guest-memory blobs in scattered pages, page flips as
// TRANSFER_TO_HOST_2D, SET_SCANOUT / SET_SCANOUT_BLOB (when the framebuffer changes) and
// RESOURCE_FLUSH (fenced for blobs and 3D framebuffers). With virgl, framebuffers may also be 3D
// resources rendered by command buffers (as Mesa's virgl driver makes a GBM buffer). Requests use a
// few buffers in guest RAM, each reused once its answer came, so a driver can flip forever.
namespace tessera::gpu::test {

struct ScanoutMode {
    bool enabled = false;
    uint32_t width = 0;
    uint32_t height = 0;
};

struct Framebuffer {
    uint32_t id = 0;
    uint32_t width = 0;
    uint32_t height = 0;
    uint64_t gpa = 0;            // 2D: contiguous in guest RAM, rows of width * 4 bytes
    std::vector<uint64_t> pages; // blob: its pages in order (rows packed across them)
    uint32_t format = static_cast<uint32_t>(proto::Format::b8g8r8x8); // blob: shown as
    bool rendered = false; // a 3D resource (virgl): its image is the host renderer's

    [[nodiscard]] bool blob() const { return !pages.empty(); }
};

// How a fenced page flip went.
struct BlobFlip {
    bool ok = false; // every command was answered OK (the fence maybe late)
    bool fence_timed_out = false;
};

class GuestDriver {
public:
    static constexpr uint32_t request_capacity = 64 << 10;
    static constexpr uint32_t response_capacity = 4 << 10;
    static constexpr size_t request_slots = 8; // requests in flight at most
    // How long Linux waits for a display fence before it flips anyway.
    static constexpr int fence_timeout_ms = 50;

    explicit GuestDriver(Frontend& frontend);

    // Sends one control request and waits for its answer; nullopt when none came in time (the
    // request stays in flight; its late answer is retired when it comes).
    std::optional<Bytes> command(const Bytes& request, int timeout_ms = 2000);
    // The same, true when the answer is OK_NODATA.
    bool ok(const Bytes& request, int timeout_ms = 2000);
    // A cursor-queue request (no response room, as Linux sends them); true once it is used.
    bool cursor_command(const Bytes& request, int timeout_ms = 2000);

    std::optional<std::vector<ScanoutMode>> display_info();
    // Creates a resource of this size and format with fresh backing (the image, then `extra`
    // bytes more); nullopt when refused.
    std::optional<Framebuffer> create_framebuffer(uint32_t width, uint32_t height,
                                                  uint32_t format = xrgb8888, uint64_t extra = 0);
    // A blob of this size in XRGB (rows packed) over scattered pages of guest RAM (every
    // other page, as a Linux guest's shmem pages come); nullopt when refused.
    std::optional<Framebuffer>
    create_blob_framebuffer(uint32_t width, uint32_t height,
                            uint32_t format = static_cast<uint32_t>(proto::Format::b8g8r8x8));
    // A 3D render target of this size (B8G8R8X8) that the display can show, with guest pages
    // as its backing, attached to context `ctx`; nullopt when refused.
    std::optional<Framebuffer> create_3d_framebuffer(uint32_t ctx, uint32_t width, uint32_t height);
    // Submits a command buffer to `ctx` with a fence and waits for it, as a GL client's buffer
    // swap waits before its page flip: true when the host renderer finished it without error.
    bool render(uint32_t ctx, std::span<const uint32_t> stream, int timeout_ms = 5000);
    // Writes every pixel of the framebuffer in guest RAM (not yet transferred).
    void draw(const Framebuffer& fb, const std::function<uint32_t(uint32_t x, uint32_t y)>& pixel);
    // Writes bytes at `offset` into the framebuffer's memory, across its pages.
    void write(const Framebuffer& fb, uint64_t offset, std::span<const std::byte> bytes);
    // Transfers the whole framebuffer, shows it on the scanout and flushes it.
    bool flip(uint32_t scanout, const Framebuffer& fb);
    // The Linux blob page flip: TRANSFER_TO_HOST_2D, SET_SCANOUT_BLOB when the framebuffer
    // changes, RESOURCE_FLUSH with a fence, then up to fence_wait_ms for the fence. For a 3D
    // framebuffer: SET_SCANOUT when it changes, then the same fenced flush.
    BlobFlip flip_blob(uint32_t scanout, const Framebuffer& fb,
                       int fence_wait_ms = fence_timeout_ms);
    // Shows the framebuffer and sends its fenced flush without waiting for the answer, which
    // stays in the used ring untaken (a guest kernel hanging with a frame in flight).
    bool flip_blob_and_hang(uint32_t scanout, const Framebuffer& fb);
    bool disable(uint32_t scanout);
    bool destroy(const Framebuffer& fb);

    static constexpr uint32_t xrgb8888 = static_cast<uint32_t>(proto::Format::b8g8r8x8);

private:
    struct Slot {
        uint64_t request_gpa = 0;
        uint64_t response_gpa = 0;
        bool busy = false;
    };
    std::optional<uint16_t> submit(const Bytes& request);
    std::optional<Bytes> wait_for(uint16_t head, int timeout_ms);
    void retire(const UsedEntry& used);
    bool show(uint32_t scanout, const Framebuffer& fb);

    Frontend& frontend_;
    std::vector<Slot> slots_;
    std::map<uint16_t, size_t> in_flight_; // chain head -> slot
    uint64_t next_fence_ = 1;
    uint64_t cursor_gpa_ = 0;
    uint32_t next_resource_ = 1;
    std::vector<uint32_t> shown_; // resource per scanout
};

} // namespace tessera::gpu::test
