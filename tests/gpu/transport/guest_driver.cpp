#include "guest_driver.hpp"

#include "gpu-backend/vhost_user/bytes.hpp"

#include <algorithm>

namespace tessera::gpu::test {

namespace {
constexpr uint64_t page_size = 4096;
}

GuestDriver::GuestDriver(Frontend& frontend) : frontend_(frontend) {
    request_gpa_ = frontend_.alloc(request_capacity, page_size);
    response_gpa_ = frontend_.alloc(response_capacity, page_size);
    cursor_gpa_ = frontend_.alloc(page_size, page_size);
}

std::optional<Bytes> GuestDriver::command(const Bytes& request, int timeout_ms) {
    if (request.size() > request_capacity) {
        return std::nullopt;
    }
    frontend_.write(request_gpa_, request);
    auto head =
        frontend_.submit_segments(0, {{request_gpa_, static_cast<uint32_t>(request.size()), false},
                                      {response_gpa_, response_capacity, true}});
    if (!head) {
        return std::nullopt;
    }
    frontend_.kick(0);
    auto used = frontend_.wait_used(0, timeout_ms);
    if (!used) {
        return std::nullopt;
    }
    return std::move(used->data);
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
                                                           uint32_t format) {
    Framebuffer fb{next_resource_++, width, height, 0};
    uint64_t size = uint64_t{width} * height * 4;
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

void GuestDriver::draw(const Framebuffer& fb,
                       const std::function<uint32_t(uint32_t x, uint32_t y)>& pixel) {
    std::vector<std::byte> row(size_t{fb.width} * 4);
    for (uint32_t y = 0; y < fb.height; ++y) {
        for (uint32_t x = 0; x < fb.width; ++x) {
            store_le<uint32_t>(row.data() + size_t{x} * 4, pixel(x, y));
        }
        frontend_.write(fb.gpa + uint64_t{y} * row.size(), row);
    }
}

bool GuestDriver::flip(uint32_t scanout, const Framebuffer& fb) {
    Rect whole{0, 0, fb.width, fb.height};
    if (!ok(transfer(fb.id, whole, 0))) {
        return false;
    }
    if (shown_.size() <= scanout) {
        shown_.resize(scanout + 1, 0);
    }
    if (shown_[scanout] != fb.id) {
        if (!ok(set_scanout(scanout, fb.id, whole))) {
            return false;
        }
        shown_[scanout] = fb.id;
    }
    return ok(flush(fb.id, whole));
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
