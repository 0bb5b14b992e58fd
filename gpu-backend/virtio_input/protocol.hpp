#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "gpu-backend/base/bytes.hpp"

// virtio-input's wire format (virtio spec 5.8): the config space the driver queries once at
// probe, and the 8-byte events on both queues. Event types and codes are Linux's own
// (<linux/input-event-codes.h>).
namespace tessera::gpu::input {

// What `select` asks for (VIRTIO_INPUT_CFG_*).
enum class ConfigSelect : uint8_t {
    unset = 0x00,
    id_name = 0x01,
    id_serial = 0x02,
    id_devids = 0x03,
    prop_bits = 0x10,
    ev_bits = 0x11,
    abs_info = 0x12,
};

// struct virtio_input_config: select, subsel, size, 5 reserved bytes, then a 128-byte union.
inline constexpr size_t config_size = 136;
inline constexpr size_t config_payload_offset = 8;
inline constexpr size_t config_payload_size = 128;

// struct virtio_input_absinfo.
struct AbsInfo {
    int32_t min = 0;
    int32_t max = 0;
    int32_t fuzz = 0;
    int32_t flat = 0;
    int32_t res = 0;

    bool operator==(const AbsInfo&) const = default;
};

// struct virtio_input_devids.
struct DevIds {
    uint16_t bustype = 0;
    uint16_t vendor = 0;
    uint16_t product = 0;
    uint16_t version = 0;
};

// struct virtio_input_event: one per buffer on either queue.
struct InputEvent {
    uint16_t type = 0;
    uint16_t code = 0;
    int32_t value = 0;

    bool operator==(const InputEvent&) const = default;
};
inline constexpr size_t event_size = 8;

inline void encode_event(const InputEvent& event, std::span<std::byte, event_size> out) {
    store_le<uint16_t>(out.data(), event.type);
    store_le<uint16_t>(out.data() + 2, event.code);
    store_le<uint32_t>(out.data() + 4, static_cast<uint32_t>(event.value));
}

inline InputEvent decode_event(std::span<const std::byte, event_size> in) {
    return InputEvent{load_le<uint16_t>(in.data()), load_le<uint16_t>(in.data() + 2),
                      static_cast<int32_t>(load_le<uint32_t>(in.data() + 4))};
}

} // namespace tessera::gpu::input
