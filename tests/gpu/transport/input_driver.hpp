#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "frontend.hpp"
#include "gpu-backend/virtio_input/protocol.hpp"

// Plays QEMU's vhost-user-input-pci and Linux's virtio_input driver (virtio-input.md) against
// a backend: config queries as SET_CONFIG of the whole struct then GET_CONFIG, four 8-byte
// event buffers re-posted as soon as each is read, status events one per buffer.
namespace tessera::gpu::test {

// What QEMU 10's vhost-user-input-pci looks like to a backend.
FrontendOptions input_frontend_options();

class InputDriver {
public:
    static constexpr unsigned event_queue = 0;
    static constexpr unsigned status_queue = 1;

    explicit InputDriver(Frontend& frontend) : frontend_(frontend) {}

    // The answer to (select, subsel): its `size` bytes of the union; nullopt on a transport
    // failure.
    std::optional<std::vector<std::byte>> query(uint8_t select, uint8_t subsel);

    // Posts `count` event buffers of `size` bytes and kicks.
    bool post_event_buffers(unsigned count = 4, uint32_t size = input::event_size);
    // The next event the device wrote, in order; the buffer is posted again (as Linux does)
    // unless `repost` is false. nullopt when none came within the timeout.
    std::optional<input::InputEvent> next_event(bool repost = true, int timeout_ms = 2000);
    // Reads events until `count` have come (or one did not come in time).
    std::vector<input::InputEvent> events(size_t count, int timeout_ms = 2000);
    // One event on the status queue (an LED), waiting until the device returned it.
    bool send_status(const input::InputEvent& event);

private:
    Frontend& frontend_;
};

} // namespace tessera::gpu::test
