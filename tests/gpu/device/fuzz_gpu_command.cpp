// libFuzzer target: a sequence of requests fed to a fresh device over a small fake guest
// memory, so the fuzzer can build state (resources, backing, scanouts) and then attack it.
//
// Input: records of `u8 flags; le16 length; length bytes of request`; flags bit 0: the cursor
// queue, bit 1: the renderer finishes all work before this request. A short last record takes
// what is left. The device has 3D, over a recording renderer: what is fuzzed is the device's own
// decoding and checks of 3D commands, before a real renderer would see them. Seeds:
// corpus/gpu_command/ (make_corpus.py).

#include "fake_guest_ram.hpp"
#include "fake_renderer.hpp"

#include "gpu-backend/virtio_gpu/device.hpp"
#include "gpu-backend/base/log.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

using namespace tessera::gpu;

namespace {

constexpr uint64_t ram_base = 0x10000;
constexpr uint64_t region_size = 128 * 1024; // two adjacent regions

void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

void check_response(std::span<const std::byte> response) {
    check(response.size() >= proto::header_size);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool quiet = (tessera::log::configure("gpu.cmd=silent"), true);
    (void)quiet;

    // One guest RAM for every input, zeroed again for each: under ASan, allocating two 128 KiB
    // regions per input (mmap and munmap) costs more than running most inputs.
    static const auto ram = [] {
        auto r = std::make_shared<test::FakeGuestRam>();
        r->add_region(ram_base, region_size).add_region(ram_base + region_size, region_size);
        return r;
    }();
    ram->fill(ram_base, 2 * region_size, std::byte{0});
    DeviceConfig config{{{640, 480, 60'000}, {320, 200, 75'000}},
                        {.max_resources = 32,
                         .max_resource_bytes = 4 << 20,
                         .max_resource_dimension = 1024,
                         .max_backing_ranges = 4096,
                         .max_contexts = 8}};
    test::FakeRenderer renderer;
    config.renderer = &renderer;
    GpuDevice device(config);
    device.set_guest_ram(ram);
    size_t ready = 0;
    DeviceCallbacks callbacks;
    callbacks.on_flush = [](uint32_t, const Resource& r, proto::Rect damage) {
        // What the compositor will do: read the damaged pixels.
        check(uint64_t{damage.x} + damage.width <= r.width());
        check(uint64_t{damage.y} + damage.height <= r.height());
        volatile std::byte sink = r.pixels()[(uint64_t{damage.y} * r.width() + damage.x) * 4];
        (void)sink;
    };
    callbacks.on_response_ready = [&ready](ResponseToken, std::vector<std::byte> response) {
        check_response(response);
        ++ready;
    };
    device.set_callbacks(callbacks);

    auto input = std::span(reinterpret_cast<const std::byte*>(data), size);
    uint64_t token = 0;
    while (input.size() >= 3) {
        bool cursor_queue = (static_cast<uint8_t>(input[0]) & 1) != 0;
        if ((static_cast<uint8_t>(input[0]) & 2) != 0 && !renderer.fences.empty()) {
            renderer.complete(renderer.fences.back());
        }
        size_t length = static_cast<uint8_t>(input[1]) | static_cast<uint8_t>(input[2]) << 8;
        input = input.subspan(3);
        auto request = input.first(std::min(length, input.size()));
        input = input.subspan(request.size());
        if (cursor_queue) {
            check_response(device.process_cursor(request));
        } else if (auto response = device.process_control(request, ++token)) {
            check_response(*response);
        }
    }
    auto dropped = device.reset();
    check(device.resource_count() == 0);
    check(device.pending_responses() == 0);
    check(device.context_count() == 0);
    check(renderer.resources.empty() && renderer.contexts.empty() && renderer.backing.empty());
    (void)dropped;
    return 0;
}
