#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gpu-backend/virtio_input/protocol.hpp"

// What one virtio-input device is: its identity, properties, the event codes it sends and the
// ranges of its absolute axes. The driver reads all of it once at probe (virtio-input.md), so
// a profile is fixed for the life of a connection.
namespace tessera::gpu::input {

// Event codes go up to KEY_MAX (0x2ff); 1024 bits is the config union's whole 128 bytes.
using CodeBits = std::bitset<1024>;

enum class DeviceKind : uint8_t { touchscreen, pointer, keyboard };

struct InputProfile {
    DeviceKind kind = DeviceKind::keyboard;
    std::string name;   // ID_NAME, at most 128 bytes
    std::string serial; // ID_SERIAL
    DevIds ids;
    CodeBits props;                    // PROP_BITS (INPUT_PROP_*)
    std::map<uint8_t, CodeBits> codes; // EV_BITS by event type; a type present with no bits
                                       // still answers (EV_REP)
    std::map<uint16_t, AbsInfo> abs;   // ABS_INFO by axis
    unsigned touch_slots = 0;          // ABS_MT_SLOT's max + 1; 0 without multitouch

    [[nodiscard]] bool has_code(uint16_t type, uint16_t code) const;
};

// Multitouch slots a touchscreen offers: ten fingers.
inline constexpr unsigned touch_slot_count = 10;

// A touchscreen over one scanout of `width` x `height` pixels, named after the connector the
// guest sees for it (Linux names virtio-gpu's outputs Virtual-1, Virtual-2, ...), so a guest
// compositor can map it to its output. Direct, multitouch with single-touch axes too.
InputProfile touchscreen_profile(unsigned scanout, uint32_t width, uint32_t height);

// An absolute pointer (a tablet) over `width` x `height`: three buttons and a wheel.
InputProfile pointer_profile(uint32_t width, uint32_t height);

// A keyboard: every key code, key repeat by the guest, and the three lock LEDs.
InputProfile keyboard_profile();

} // namespace tessera::gpu::input
