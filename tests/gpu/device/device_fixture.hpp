#pragma once

#include "commands.hpp"
#include "fake_guest_ram.hpp"

#include "gpu-backend/virtio_gpu/device.hpp"

#include <catch2/catch_test_macros.hpp>

#include <memory>
#include <vector>

// A device with two 640x480 scanouts over 4 MiB of fake guest memory (two adjacent 2 MiB
// regions at 1 MiB, so ranges crossing 3 MiB come back in two pieces), recording callbacks.
namespace tessera::gpu::test {

inline constexpr uint64_t ram_base = 1 << 20;
inline constexpr uint64_t ram_size = 4 << 20;
inline constexpr uint64_t page = 4096;
inline constexpr uint32_t xrgb = static_cast<uint32_t>(proto::Format::b8g8r8x8);
inline constexpr uint32_t argb = static_cast<uint32_t>(proto::Format::b8g8r8a8);

inline DeviceConfig two_scanouts(Quota quota = {}) {
    return {{{640, 480, 60'000}, {1280, 720, 75'000}}, quota};
}

// `pages` single pages, every other page from `below_top` bytes below the top of memory
// downwards, as a Linux guest's shmem pages come.
inline std::vector<proto::MemEntry> scattered_pages(uint64_t pages, uint64_t below_top = 0) {
    std::vector<proto::MemEntry> entries;
    for (uint64_t i = 0; i < pages; ++i) {
        entries.push_back(
            {ram_base + ram_size - below_top - (2 * i + 2) * page, static_cast<uint32_t>(page)});
    }
    return entries;
}

// Fills entry i with byte i + 1, so a host view of the pages can be checked byte by byte.
inline void fill_pages(FakeGuestRam& ram, const std::vector<proto::MemEntry>& entries) {
    for (size_t i = 0; i < entries.size(); ++i) {
        ram.fill(entries[i].addr, entries[i].length, static_cast<std::byte>(i + 1));
    }
}

struct GuestFixture {
    struct ScanoutEvent {
        uint32_t scanout;
        const Resource* resource;
        proto::Rect rect;
        ScanoutImage image;
    };
    struct FlushEvent {
        uint32_t scanout;
        uint32_t resource_id;
        proto::Rect damage;
        std::vector<std::byte> pixels; // the 2D image the display reads, when flushed
    };
    struct CursorEvent {
        uint32_t scanout;
        Cursor cursor;
        bool image_changed;
    };
    struct ReadyEvent {
        ResponseToken token;
        Bytes response;
    };

    explicit GuestFixture(DeviceConfig config = two_scanouts()) : device(std::move(config)) {
        ram->add_region(ram_base, ram_size / 2).add_region(ram_base + ram_size / 2, ram_size / 2);
        device.set_guest_ram(ram);
        device.set_callbacks(recording_callbacks());
    }

    // Callbacks that record what the device tells the compositor.
    DeviceCallbacks recording_callbacks() {
        return {
            .on_scanout =
                [this](uint32_t s, const Resource* r, const ScanoutImage& image) {
                    scanouts.push_back({s, r, image.rect, image});
                },
            .on_flush =
                [this](uint32_t s, const Resource& r, proto::Rect damage) {
                    flushes.push_back({s, r.id(), damage, displayed(r)});
                },
            .on_cursor = [this](uint32_t s, const Cursor& c,
                                bool changed) { cursors.push_back({s, c, changed}); },
            .on_response_ready = [this](ResponseToken t,
                                        Bytes bytes) { ready.push_back({t, std::move(bytes)}); },
        };
    }

    // A 2D image as the display reads it now: its backing in place (mapped), or the host's
    // pixels. Empty when its memory cannot be read.
    [[nodiscard]] std::vector<std::byte> displayed(const Resource& r) const {
        if (r.mapped_memory) {
            auto bytes = r.mapped_memory->bytes().first(r.size_bytes());
            return {bytes.begin(), bytes.end()};
        }
        if (r.image_in_backing()) {
            return {}; // in the backing but not mapped: nothing reads it
        }
        return {r.pixels().begin(), r.pixels().end()};
    }
    [[nodiscard]] std::vector<std::byte> displayed(uint32_t id) const {
        const Resource* r = device.find_resource(id);
        REQUIRE(r != nullptr);
        return displayed(*r);
    }

    // A transfer that reads the backing unlike the image's layout (a 1x1 rect from the wrong
    // offset): from then on the resource's transfers copy into host pixels, as QEMU's do.
    void stop_reading_in_place(uint32_t id) {
        REQUIRE(control(transfer(id, {0, 0, 1, 1}, 4)) == code(proto::Response::ok_nodata));
        REQUIRE_FALSE(device.find_resource(id)->image_in_backing());
    }

    // Sends a control request that must be answered at once; returns the response type.
    uint32_t control(const Bytes& request) {
        auto response = device.process_control(request);
        REQUIRE(response.has_value());
        REQUIRE(response->size() >= proto::header_size);
        return response_type(*response);
    }
    uint32_t cursor_queue(const Bytes& request) {
        auto response = device.process_cursor(request);
        REQUIRE(response.size() == proto::header_size);
        return response_type(response);
    }

    // A resource of w x h with its backing in scattered_pages() starting `first` bytes below
    // the top of memory. Returns the page addresses in order.
    std::vector<uint64_t> create_with_pages(uint32_t id, uint32_t w, uint32_t h,
                                            uint32_t format = xrgb, uint64_t first = 0) {
        REQUIRE(control(create_2d(id, format, w, h)) == code(proto::Response::ok_nodata));
        uint64_t bytes = uint64_t{w} * 4 * h;
        auto entries = scattered_pages((bytes + page - 1) / page, first);
        std::vector<uint64_t> addrs;
        for (const auto& entry : entries) {
            addrs.push_back(entry.addr);
        }
        REQUIRE(control(attach(id, entries)) == code(proto::Response::ok_nodata));
        return addrs;
    }

    // Writes the guest-side framebuffer byte `offset` (spread over the scattered pages).
    void write_fb(const std::vector<uint64_t>& pages, uint64_t offset, std::byte value) const {
        uint64_t addr = pages.at(offset / page) + offset % page;
        ram->write(addr, std::span(&value, 1));
    }

    std::shared_ptr<FakeGuestRam> ram = std::make_shared<FakeGuestRam>();
    GpuDevice device;
    std::vector<ScanoutEvent> scanouts;
    std::vector<FlushEvent> flushes;
    std::vector<CursorEvent> cursors;
    std::vector<ReadyEvent> ready;
};

} // namespace tessera::gpu::test
