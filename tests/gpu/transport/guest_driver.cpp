#include "guest_driver.hpp"

#include "gpu-backend/base/bytes.hpp"

#include <algorithm>
#include <chrono>

namespace tessera::gpu::test {

namespace {
constexpr uint64_t page_size = 4096;
}

GuestDriver::GuestDriver(Frontend& frontend) : frontend_(frontend) {
    for (size_t i = 0; i < request_slots; ++i) {
        slots_.push_back({frontend_.alloc(request_capacity, page_size),
                          frontend_.alloc(response_capacity, page_size), false});
    }
    cursor_gpa_ = frontend_.alloc(page_size, page_size);
}

std::optional<uint16_t> GuestDriver::submit(const Bytes& request) {
    if (request.size() > request_capacity) {
        return std::nullopt;
    }
    auto slot = std::ranges::find(slots_, false, &Slot::busy);
    if (slot == slots_.end()) {
        // Every buffer waits for a late answer: collect them first.
        while (auto used = frontend_.wait_used(0, 2000)) {
            retire(*used);
            if (in_flight_.size() < slots_.size()) {
                break;
            }
        }
        slot = std::ranges::find(slots_, false, &Slot::busy);
        if (slot == slots_.end()) {
            return std::nullopt;
        }
    }
    frontend_.write(slot->request_gpa, request);
    auto head = frontend_.submit_segments(
        0, {{slot->request_gpa, static_cast<uint32_t>(request.size()), false},
            {slot->response_gpa, response_capacity, true}});
    if (!head) {
        return std::nullopt;
    }
    slot->busy = true;
    in_flight_[*head] = static_cast<size_t>(slot - slots_.begin());
    frontend_.kick(0);
    return head;
}

void GuestDriver::retire(const UsedEntry& used) {
    auto it = in_flight_.find(static_cast<uint16_t>(used.id));
    if (it != in_flight_.end()) {
        slots_[it->second].busy = false;
        in_flight_.erase(it);
    }
}

// Waits for the answer to `head`; answers to earlier requests that timed out are retired on
// the way.
std::optional<Bytes> GuestDriver::wait_for(uint16_t head, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        auto used = frontend_.wait_used(0, static_cast<int>(left.count()));
        if (!used) {
            return std::nullopt;
        }
        retire(*used);
        if (used->id == head) {
            return std::move(used->data);
        }
    }
}

std::optional<Bytes> GuestDriver::command(const Bytes& request, int timeout_ms) {
    auto head = submit(request);
    if (!head) {
        return std::nullopt;
    }
    return wait_for(*head, timeout_ms);
}

bool GuestDriver::ok(const Bytes& request, int timeout_ms) {
    auto response = command(request, timeout_ms);
    return response && response_type(*response) == code(proto::Response::ok_nodata);
}

bool GuestDriver::cursor_command(const Bytes& request, int timeout_ms) {
    frontend_.write(cursor_gpa_, request);
    if (!frontend_.submit_segments(1,
                                   {{cursor_gpa_, static_cast<uint32_t>(request.size()), false}})) {
        return false;
    }
    frontend_.kick(1);
    return frontend_.wait_used(1, timeout_ms).has_value();
}

std::optional<std::vector<ScanoutMode>> GuestDriver::display_info() {
    auto response = command(get_display_info());
    if (!response || response_type(*response) != code(proto::Response::ok_display_info) ||
        response->size() < 24 + 16 * 24) {
        return std::nullopt;
    }
    std::vector<ScanoutMode> modes;
    for (size_t i = 0; i < 16; ++i) {
        const std::byte* p = response->data() + 24 + i * 24;
        modes.push_back(
            {load_le<uint32_t>(p + 16) != 0, load_le<uint32_t>(p + 8), load_le<uint32_t>(p + 12)});
    }
    return modes;
}

std::optional<Framebuffer> GuestDriver::create_framebuffer(uint32_t width, uint32_t height,
                                                           uint32_t format, uint64_t extra) {
    Framebuffer fb{next_resource_++, width, height, 0};
    uint64_t size = uint64_t{width} * height * 4 + extra;
    fb.gpa = frontend_.alloc(size, page_size);
    if (!ok(create_2d(fb.id, format, width, height))) {
        return std::nullopt;
    }
    // One entry per page, as the Linux driver's scatter list often is.
    std::vector<proto::MemEntry> entries;
    for (uint64_t offset = 0; offset < size; offset += page_size) {
        entries.push_back(
            {fb.gpa + offset, static_cast<uint32_t>(std::min(page_size, size - offset))});
    }
    if (!ok(attach(fb.id, entries))) {
        return std::nullopt;
    }
    return fb;
}

std::optional<Framebuffer> GuestDriver::create_blob_framebuffer(uint32_t width, uint32_t height,
                                                                uint32_t format) {
    Framebuffer fb{next_resource_++, width, height, 0, {}, format};
    uint64_t size = (uint64_t{width} * height * 4 + page_size - 1) / page_size * page_size;
    uint64_t base = frontend_.alloc(2 * size, page_size);
    std::vector<proto::MemEntry> entries;
    for (uint64_t i = 0; i < size / page_size; ++i) {
        fb.pages.push_back(base + 2 * i * page_size);
        entries.push_back({fb.pages.back(), static_cast<uint32_t>(page_size)});
    }
    if (!ok(create_blob(fb.id, size, entries))) {
        return std::nullopt;
    }
    return fb;
}

std::optional<Framebuffer> GuestDriver::create_3d_framebuffer(uint32_t ctx, uint32_t width,
                                                              uint32_t height) {
    Framebuffer fb{next_resource_++, width, height, 0};
    fb.rendered = true;
    uint64_t size = uint64_t{width} * height * 4;
    fb.gpa = frontend_.alloc(size, page_size);
    // PIPE_TEXTURE_2D, B8G8R8X8, a render target for the display.
    Resource3dShape shape{.target = 2,
                          .format = fb.format,
                          .bind = (1u << 1) | (1u << 18),
                          .width = width,
                          .height = height};
    std::vector<proto::MemEntry> entries;
    for (uint64_t offset = 0; offset < size; offset += page_size) {
        entries.push_back(
            {fb.gpa + offset, static_cast<uint32_t>(std::min(page_size, size - offset))});
    }
    if (!ok(create_3d(fb.id, shape)) || !ok(attach(fb.id, entries)) ||
        !ok(ctx_resource(true, ctx, fb.id))) {
        return std::nullopt;
    }
    return fb;
}

bool GuestDriver::render(uint32_t ctx, std::span<const uint32_t> stream, int timeout_ms) {
    return ok(submit_3d(ctx, stream, next_fence_++), timeout_ms);
}

void GuestDriver::write(const Framebuffer& fb, uint64_t offset, std::span<const std::byte> bytes) {
    if (!fb.blob()) {
        frontend_.write(fb.gpa + offset, bytes);
        return;
    }
    while (!bytes.empty()) {
        uint64_t within = offset % page_size;
        size_t count = std::min<size_t>(bytes.size(), page_size - within);
        frontend_.write(fb.pages.at(offset / page_size) + within, bytes.first(count));
        bytes = bytes.subspan(count);
        offset += count;
    }
}

void GuestDriver::draw(const Framebuffer& fb,
                       const std::function<uint32_t(uint32_t x, uint32_t y)>& pixel) {
    std::vector<std::byte> row(size_t{fb.width} * 4);
    for (uint32_t y = 0; y < fb.height; ++y) {
        for (uint32_t x = 0; x < fb.width; ++x) {
            store_le<uint32_t>(row.data() + size_t{x} * 4, pixel(x, y));
        }
        write(fb, uint64_t{y} * row.size(), row);
    }
}

// A page flip up to its flush: the transfer, and the scanout set when the framebuffer changes.
bool GuestDriver::show(uint32_t scanout, const Framebuffer& fb) {
    Rect whole{0, 0, fb.width, fb.height};
    if (!fb.rendered && !ok(transfer(fb.id, whole, 0))) {
        return false;
    }
    if (shown_.size() <= scanout) {
        shown_.resize(scanout + 1, 0);
    }
    if (shown_[scanout] != fb.id) {
        bool set =
            fb.blob()
                ? ok(set_scanout_blob(scanout, fb.id, {fb.width, fb.height, fb.format}, whole))
                : ok(set_scanout(scanout, fb.id, whole));
        if (!set) {
            return false;
        }
        shown_[scanout] = fb.id;
    }
    return true;
}

bool GuestDriver::flip(uint32_t scanout, const Framebuffer& fb) {
    return show(scanout, fb) && ok(flush(fb.id, {0, 0, fb.width, fb.height}));
}

BlobFlip GuestDriver::flip_blob(uint32_t scanout, const Framebuffer& fb, int fence_wait_ms) {
    BlobFlip result;
    if (!show(scanout, fb)) {
        return result;
    }
    auto head = submit(flush(fb.id, {0, 0, fb.width, fb.height}, fenced(next_fence_++)));
    if (!head) {
        return result;
    }
    auto answer = wait_for(*head, fence_wait_ms);
    result.fence_timed_out = !answer;
    result.ok = !answer || response_type(*answer) == code(proto::Response::ok_nodata);
    return result;
}

bool GuestDriver::flip_blob_and_hang(uint32_t scanout, const Framebuffer& fb) {
    return show(scanout, fb) &&
           submit(flush(fb.id, {0, 0, fb.width, fb.height}, fenced(next_fence_++))).has_value();
}

bool GuestDriver::disable(uint32_t scanout) {
    if (scanout < shown_.size()) {
        shown_[scanout] = 0;
    }
    return ok(set_scanout(scanout, 0, {}));
}

bool GuestDriver::destroy(const Framebuffer& fb) {
    return ok(unref(fb.id));
}

} // namespace tessera::gpu::test
