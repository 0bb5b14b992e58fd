#pragma once

#include "commands.hpp"
#include "frontend.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

// What the Linux virtio-gpu driver does with a running device, on top of a Frontend: one
// request at a time on the control queue (waiting for each answer), framebuffers as 2D
// resources whose backing is guest RAM in page-sized entries, page flips as TRANSFER_TO_HOST_2D,
// SET_SCANOUT (when the framebuffer changes) and RESOURCE_FLUSH. Requests reuse one buffer in
// guest RAM, so a driver can flip forever.
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
    uint64_t gpa = 0; // contiguous in guest RAM, rows of width * 4 bytes
};

class GuestDriver {
public:
    static constexpr uint32_t request_capacity = 64 << 10;
    static constexpr uint32_t response_capacity = 4 << 10;

    explicit GuestDriver(Frontend& frontend);

    // Sends one control request and waits for its answer; nullopt when none came in time.
    std::optional<Bytes> command(const Bytes& request, int timeout_ms = 2000);
    // The same, true when the answer is OK_NODATA.
    bool ok(const Bytes& request, int timeout_ms = 2000);
    // A cursor-queue request (no response room, as Linux sends them); true once it is used.
    bool cursor_command(const Bytes& request, int timeout_ms = 2000);

    std::optional<std::vector<ScanoutMode>> display_info();
    // Creates a resource of this size and format with fresh backing; nullopt when refused.
    std::optional<Framebuffer> create_framebuffer(uint32_t width, uint32_t height,
                                                  uint32_t format = xrgb8888);
    // Writes every pixel of the framebuffer in guest RAM (not yet transferred).
    void draw(const Framebuffer& fb, const std::function<uint32_t(uint32_t x, uint32_t y)>& pixel);
    // Transfers the whole framebuffer, shows it on the scanout and flushes it.
    bool flip(uint32_t scanout, const Framebuffer& fb);
    bool disable(uint32_t scanout);
    bool destroy(const Framebuffer& fb);

    static constexpr uint32_t xrgb8888 = static_cast<uint32_t>(proto::Format::b8g8r8x8);

private:
    Frontend& frontend_;
    uint64_t request_gpa_ = 0;
    uint64_t response_gpa_ = 0;
    uint64_t cursor_gpa_ = 0;
    uint32_t next_resource_ = 1;
    std::vector<uint32_t> shown_; // resource per scanout
};

} // namespace tessera::gpu::test
