#include "input_driver.hpp"

#include <array>

#include "gpu-backend/base/bytes.hpp"

namespace tessera::gpu::test {

FrontendOptions input_frontend_options() {
    FrontendOptions options;
    options.queue_size = 4;
    options.features = feature::version_1 | feature::ring_indirect_desc | feature::ring_event_idx |
                       feature::protocol_features;
    options.gpu_socket = false;
    options.config_size = input::config_size;
    return options;
}

std::optional<std::vector<std::byte>> InputDriver::query(uint8_t select, uint8_t subsel) {
    // QEMU keeps a copy of the struct, changes one byte and writes it all back.
    auto config = frontend_.get_config(0, input::config_size);
    if (!config) {
        return std::nullopt;
    }
    (*config)[0] = std::byte{select};
    (*config)[1] = std::byte{subsel};
    if (!frontend_.set_config(0, *config)) {
        return std::nullopt;
    }
    config = frontend_.get_config(0, input::config_size);
    if (!config) {
        return std::nullopt;
    }
    auto size = static_cast<size_t>((*config)[2]);
    if (size > input::config_payload_size) {
        return std::nullopt;
    }
    auto begin = config->begin() + input::config_payload_offset;
    return std::vector<std::byte>(begin, begin + static_cast<ptrdiff_t>(size));
}

bool InputDriver::post_event_buffers(unsigned count, uint32_t size) {
    for (unsigned i = 0; i < count; ++i) {
        if (!frontend_.submit(event_queue, {}, {size})) {
            return false;
        }
    }
    frontend_.kick(event_queue);
    return true;
}

std::optional<input::InputEvent> InputDriver::next_event(bool repost, int timeout_ms) {
    auto used = frontend_.wait_used(event_queue, timeout_ms);
    if (!used || used->data.size() != input::event_size) {
        return std::nullopt;
    }
    auto event = input::decode_event(
        std::span<const std::byte, input::event_size>(used->data.data(), input::event_size));
    if (repost && !post_event_buffers(1)) {
        return std::nullopt;
    }
    return event;
}

std::vector<input::InputEvent> InputDriver::events(size_t count, int timeout_ms) {
    std::vector<input::InputEvent> out;
    while (out.size() < count) {
        auto event = next_event(true, timeout_ms);
        if (!event) {
            break;
        }
        out.push_back(*event);
    }
    return out;
}

bool InputDriver::send_status(const input::InputEvent& event) {
    std::array<std::byte, input::event_size> bytes{};
    input::encode_event(event, bytes);
    if (!frontend_.submit(status_queue, {std::vector<std::byte>(bytes.begin(), bytes.end())}, {})) {
        return false;
    }
    frontend_.kick(status_queue);
    return frontend_.wait_used(status_queue).has_value();
}

} // namespace tessera::gpu::test
