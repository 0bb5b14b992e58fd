#include "gpu-backend/backend/input_backend.hpp"

#include <linux/input-event-codes.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "gpu-backend/base/log.hpp"
#include "gpu-backend/virtqueue/descriptor_chain.hpp"

namespace tessera::gpu {

namespace {

log::Scope& input_log() {
    static log::Scope scope("input.device");
    return scope;
}

constexpr input::InputEvent syn_report{EV_SYN, SYN_REPORT, 0};

} // namespace

InputBackend::InputBackend(UniqueFd socket, input::InputProfile profile,
                           InputBackendCallbacks callbacks, size_t fifo_capacity)
    : config_(std::move(profile)), fifo_(fifo_capacity), callbacks_(std::move(callbacks)) {
    DeviceModel model;
    model.name = "virtio-input";
    model.queue_count = 2; // events, status
    model.read_config = [this] { return config_.read(); };
    model.write_config = [this](uint32_t offset, std::span<const std::byte> data) {
        return config_.write(offset, data);
    };

    ConnectionCallbacks connection_callbacks;
    connection_callbacks.add_fd = callbacks_.add_fd;
    connection_callbacks.remove_fd = callbacks_.remove_fd;
    // A queue that starts may already hold buffers: it is served as on a kick.
    connection_callbacks.on_queue_ready = [this](unsigned queue) { serve(queue); };
    connection_callbacks.on_kick = [this](unsigned queue) { serve(queue); };
    connection_callbacks.on_rings_stopped = [this] {
        // The driver starts again from a device with everything up: so does the FIFO.
        ++stats_.resets;
        fifo_.reset();
        leds_ = 0;
    };
    connection_callbacks.on_closed = [this](std::string_view reason) {
        fifo_.reset();
        if (callbacks_.on_disconnected) {
            callbacks_.on_disconnected(reason);
        }
    };
    connection_ = std::make_unique<Connection>(std::move(socket), std::move(connection_callbacks),
                                               std::move(model));
}

InputBackend::~InputBackend() {
    *alive_ = false;
    connection_.reset();
}

bool InputBackend::running() const {
    return connected() && !connection_->device_broken() &&
           connection_->vring(event_queue).queue.has_value();
}

std::optional<input::InputEvent> InputBackend::admit(const input::InputEvent& event) const {
    const auto& profile = config_.profile();
    if (event.type == EV_SYN) {
        return event.code == SYN_REPORT ? std::optional(event) : std::nullopt;
    }
    if (!profile.has_code(event.type, event.code)) {
        return std::nullopt;
    }
    input::InputEvent admitted = event;
    if (event.type == EV_ABS) {
        if (auto axis = profile.abs.find(event.code); axis != profile.abs.end()) {
            // A lifted contact's -1 is the one value outside the tracking id's range.
            bool lift = event.code == ABS_MT_TRACKING_ID && event.value == -1;
            if (!lift) {
                admitted.value = std::clamp(event.value, axis->second.min, axis->second.max);
            }
        }
    }
    return admitted;
}

bool InputBackend::send_frame(std::span<const input::InputEvent> frame) {
    std::vector<input::InputEvent> admitted;
    admitted.reserve(frame.size() + 1);
    for (const auto& event : frame) {
        if (auto ok = admit(event)) {
            admitted.push_back(*ok);
        } else {
            ++stats_.refused_events;
        }
    }
    // Repeated SYN_REPORTs inside a frame would split it; one at the end closes it.
    std::erase(admitted, syn_report);
    if (admitted.empty()) {
        return false;
    }
    admitted.push_back(syn_report);
    bool queued = fifo_.push_frame(admitted);
    if (running()) {
        deliver();
    }
    return queued;
}

void InputBackend::serve(unsigned queue) {
    queue == event_queue ? deliver() : read_status();
}

void InputBackend::deliver() {
    bool pushed_any = false;
    while (!fifo_.empty()) {
        auto popped = connection_->pop(event_queue);
        if (!popped) {
            stop_device(popped.error().reason);
            return;
        }
        if (!*popped) {
            break; // no buffer: the rest waits for the guest to return some
        }
        const DescriptorChain& chain = **popped;
        ChainWriter writer(chain);
        std::array<std::byte, input::event_size> bytes{};
        input::encode_event(fifo_.front(), bytes);
        if (!writer.write(bytes)) {
            stop_device("event buffer smaller than an event");
            return;
        }
        if (!push(event_queue, chain, input::event_size)) {
            return;
        }
        fifo_.pop();
        pushed_any = true;
    }
    if (pushed_any) {
        connection_->notify_if_needed(event_queue);
    }
}

void InputBackend::read_status() {
    std::weak_ptr<bool> alive = alive_;
    bool pushed_any = false;
    for (;;) {
        auto popped = connection_->pop(status_queue);
        if (!popped) {
            stop_device(popped.error().reason);
            return;
        }
        if (!*popped) {
            break;
        }
        const DescriptorChain& chain = **popped;
        ChainReader reader(chain);
        std::array<std::byte, input::event_size> bytes{};
        bool leds_changed = false;
        if (!reader.read(bytes)) {
            ++stats_.status_garbage;
        } else {
            // Linux sends one event per buffer; anything after it is not looked at.
            leds_changed = take_status(input::decode_event(bytes));
        }
        if (!push(status_queue, chain, 0)) {
            return;
        }
        pushed_any = true;
        if (leds_changed && callbacks_.on_leds) {
            callbacks_.on_leds(leds_);
            if (alive.expired() || !connected()) {
                return;
            }
        }
    }
    if (pushed_any) {
        connection_->notify_if_needed(status_queue);
    }
}

bool InputBackend::push(unsigned queue_index, const DescriptorChain& chain, uint32_t written) {
    SplitQueue* queue = connection_->queue(queue_index);
    if (!queue) {
        return false; // stopped meanwhile: the chain went with it
    }
    if (auto pushed = queue->push(chain, written); !pushed) {
        stop_device(pushed.error().reason);
        return false;
    }
    return true;
}

bool InputBackend::take_status(const input::InputEvent& event) {
    ++stats_.status_events;
    if (event.type != EV_LED || event.code >= 32 ||
        !config_.profile().has_code(EV_LED, event.code)) {
        return false; // EV_SYN, and what the device has no use for
    }
    uint32_t bit = 1u << event.code;
    uint32_t leds = event.value ? (leds_ | bit) : (leds_ & ~bit);
    return std::exchange(leds_, leds) != leds;
}

// Failure level 2: the ring is broken, so the device stops until the frontend restarts it.
void InputBackend::stop_device(std::string_view reason) {
    ++stats_.device_failures;
    log::warn(input_log(), "virtqueue violation, device stopped: {}", reason);
    fifo_.reset();
    connection_->fail_device(reason);
}

} // namespace tessera::gpu
