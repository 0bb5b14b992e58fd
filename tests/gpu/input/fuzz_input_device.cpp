// libFuzzer target: the virtio-input model under a stream of config writes from the guest and
// frames from the host, delivered in pieces as a guest returning buffers would take them.
// Checks the config space stays well-formed, the FIFO stays bounded, and whenever it is empty
// the guest's device is exactly where the host's frames put it (drops or not).
//
// Input: records of `u8 op` and its operands:
//   0 config write: u8 offset, u8 length, length bytes (offset and length as sent, so writes
//     past the struct are tried too);
//   1 frame: u8 count, count events of le16 type, le16 code, le32 value;
//   2 deliver: u8 count of events the guest takes;
//   3 the driver restarts.
// Seeds: corpus/input_device/ (make_corpus.py).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gpu-backend/base/bytes.hpp"
#include "gpu-backend/virtio_input/config_space.hpp"
#include "gpu-backend/virtio_input/event_fifo.hpp"

#include <linux/input-event-codes.h>

using namespace tessera::gpu;
using namespace tessera::gpu::input;

namespace {

void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

class Input {
public:
    explicit Input(std::span<const uint8_t> bytes) : bytes_(bytes) {}
    bool done() const { return pos_ >= bytes_.size(); }
    uint8_t u8() { return pos_ < bytes_.size() ? bytes_[pos_++] : 0; }
    std::span<const std::byte> take(size_t n) {
        n = std::min(n, bytes_.size() - pos_);
        auto out = std::as_bytes(bytes_.subspan(pos_, n));
        pos_ += n;
        return out;
    }

private:
    std::span<const uint8_t> bytes_;
    size_t pos_ = 0;
};

bool well_formed(const std::vector<InputEvent>& frame) {
    return !frame.empty() && frame.size() <= EventFifo::max_frame_events &&
           frame.back() == InputEvent{EV_SYN, SYN_REPORT, 0};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in(std::span(data, size));
    InputConfigSpace space(in.u8() % 2 ? keyboard_profile() : touchscreen_profile(0, 800, 480));
    EventFifo fifo(64);
    EvdevState host;  // where every well-formed frame puts the device
    EvdevState guest; // what the guest made of the events it took

    while (!in.done()) {
        switch (in.u8() % 4) {
        case 0: {
            uint32_t offset = in.u8();
            auto bytes = in.take(in.u8());
            bool inside = offset + bytes.size() <= config_size;
            check(space.write(offset, bytes).has_value() == !inside);
            auto config = space.read();
            check(config.size() == config_size);
            check(static_cast<size_t>(config[2]) <= config_payload_size);
            break;
        }
        case 1: {
            std::vector<InputEvent> frame(in.u8());
            for (auto& event : frame) {
                auto raw = in.take(event_size);
                std::array<std::byte, event_size> bytes{};
                std::copy(raw.begin(), raw.end(), bytes.begin());
                event = decode_event(bytes);
            }
            if (well_formed(frame)) {
                host.apply(frame);
            }
            fifo.push_frame(frame);
            break;
        }
        case 2:
            for (unsigned n = in.u8(); n > 0 && !fifo.empty(); --n) {
                guest.apply(std::span(&fifo.front(), 1));
                fifo.pop();
            }
            break;
        case 3:
            fifo.reset();
            host.clear();
            guest.clear();
            break;
        }
        // Bounded: the FIFO holds its capacity, or one catch-up frame (bounded by the state).
        check(fifo.size() <= std::max<size_t>(fifo.capacity(), 4096));
        if (fifo.empty()) {
            check(guest == host);
        }
    }
    return 0;
}
