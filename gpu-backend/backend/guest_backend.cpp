#include "gpu-backend/backend/guest_backend.hpp"

#include "gpu-backend/virtio_gpu/config_space.hpp"
#include "gpu-backend/virtio_gpu/protocol.hpp"
#include "gpu-backend/virtqueue/descriptor_chain.hpp"
#include "gpu-backend/base/log.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace tessera::gpu {

namespace {

log::Scope& backend_log() {
    static log::Scope scope("gpu.cmd");
    return scope;
}

// Copies a chain's request bytes, at most max_request_size: longer requests carry nothing the
// decoder reads, and the cap keeps a guest from making the host copy a ring's worth of memory.
std::vector<std::byte> read_request(const DescriptorChain& chain) {
    ChainReader reader(chain);
    std::vector<std::byte> bytes(
        static_cast<size_t>(std::min<uint64_t>(reader.remaining(), proto::max_request_size)));
    reader.read(bytes);
    return bytes;
}

} // namespace

DeviceModel gpu_device_model(uint32_t num_scanouts, uint32_t num_capsets, uint64_t features) {
    DeviceModel model;
    model.name = "virtio-gpu";
    model.queue_count = 2; // control and cursor
    model.features = features;
    model.takes_gpu_socket = true;
    model.read_config = [num_scanouts, num_capsets] {
        return gpu_config(num_scanouts, num_capsets);
    };
    model.write_config = write_gpu_config;
    return model;
}

GuestBackend::GuestBackend(UniqueFd socket, DeviceConfig device_config, BackendCallbacks callbacks)
    : device_(std::move(device_config)), callbacks_(std::move(callbacks)) {
    DeviceCallbacks device_callbacks = callbacks_.device;
    device_callbacks.on_response_ready = [this](ResponseToken token,
                                                std::vector<std::byte> response) {
        answer_deferred(token, std::move(response));
    };
    device_.set_callbacks(std::move(device_callbacks));

    // EDID: the guest takes the zone's size and refresh; blobs: its framebuffers stay in its own
    // memory and are shown from there; VIRGL: with a renderer, its GL goes to the host's GPU.
    DeviceModel model = gpu_device_model(
        std::max(device_.num_scanouts(), 1u), device_.num_capsets(),
        gpu_feature::edid | gpu_feature::resource_uuid | gpu_feature::resource_blob |
            (device_.has_3d() ? gpu_feature::virgl : 0));
    ConnectionCallbacks connection_callbacks;
    connection_callbacks.add_fd = callbacks_.add_fd;
    connection_callbacks.remove_fd = callbacks_.remove_fd;
    connection_callbacks.on_queue_ready = [this](unsigned queue) {
        if (queue == control_queue) {
            // A reconfigured ring cannot take back chains popped from its old self.
            const SplitQueue* ring = connection_->queue(control_queue);
            std::erase_if(held_, [&](const auto& held) { return !ring->owns(held.second); });
        }
        device_.set_guest_ram(connection_->memory());
        process_queue(queue);
    };
    connection_callbacks.on_kick = [this](unsigned queue) { on_kick(queue); };
    connection_callbacks.on_rings_stopped = [this] {
        ++stats_.resets;
        held_.clear();
        device_.reset();
    };
    connection_callbacks.on_closed = [this](std::string_view reason) {
        held_.clear();
        device_.reset();
        if (callbacks_.on_disconnected) {
            callbacks_.on_disconnected(reason);
        }
    };
    connection_ = std::make_unique<Connection>(std::move(socket), std::move(connection_callbacks),
                                               std::move(model));
}

GuestBackend::~GuestBackend() {
    *alive_ = false;
    // The device's callbacks point at the compositor's scanout state, which may already be
    // gone: nothing is reported from here on.
    device_.set_callbacks({});
    connection_.reset();
}

bool GuestBackend::running() const {
    return connected() && !connection_->device_broken() &&
           connection_->vring(control_queue).queue.has_value();
}

std::optional<GuestBackend::UnreadAnswers> GuestBackend::unread_answers() const {
    const SplitQueue* ring = running() ? connection_->queue(control_queue) : nullptr;
    auto used_event = ring ? ring->used_event() : std::nullopt;
    if (!used_event) {
        return std::nullopt;
    }
    return UnreadAnswers{static_cast<uint16_t>(ring->next_used() - *used_event), *used_event};
}

void GuestBackend::on_kick(unsigned queue) {
    device_.set_guest_ram(connection_->memory());
    process_queue(queue);
}

// Answers everything the driver made available, then notifies it once.
void GuestBackend::process_queue(unsigned queue_index) {
    std::weak_ptr<bool> alive = alive_;
    for (;;) {
        auto popped = connection_->pop(queue_index);
        if (!popped) {
            stop_device(popped.error().reason);
            return;
        }
        if (!*popped) {
            break;
        }
        const DescriptorChain& chain = **popped;
        std::vector<std::byte> request = read_request(chain);
        ++stats_.requests;
        if (queue_index == cursor_queue) {
            answer(queue_index, chain, device_.process_cursor(request));
        } else {
            ResponseToken token = next_token_++;
            auto response = device_.process_control(request, token);
            if (alive.expired() || !connected()) {
                return;
            }
            if (response) {
                answer(queue_index, chain, *response);
            } else {
                held_.emplace(token, chain);
            }
        }
        if (alive.expired() || !connected() || connection_->device_broken()) {
            return;
        }
    }
    connection_->notify_if_needed(queue_index);
}

// Writes what fits of the response (a Linux guest gives cursor requests no room) and returns
// the chain to the driver.
void GuestBackend::answer(unsigned queue_index, const DescriptorChain& chain,
                          std::span<const std::byte> response) {
    SplitQueue* queue = connection_->queue(queue_index);
    if (!queue || !queue->owns(chain)) {
        return; // the ring restarted meanwhile: the chain is gone with it
    }
    ChainWriter writer(chain);
    writer.write(response.first(
        static_cast<size_t>(std::min<uint64_t>(response.size(), writer.remaining()))));
    if (auto pushed = queue->push(chain, static_cast<uint32_t>(writer.written())); !pushed) {
        stop_device(pushed.error().reason);
    }
}

// A held request is answered from inside process_control() of a later one (SET_SCANOUT took
// its resource off screen): push it now and notify, as the loop of the later request may not.
void GuestBackend::answer_deferred(ResponseToken token, std::vector<std::byte> response) {
    auto it = held_.find(token);
    if (it == held_.end()) {
        return;
    }
    DescriptorChain chain = std::move(it->second);
    held_.erase(it);
    answer(control_queue, chain, response);
    if (connection_) {
        connection_->notify_if_needed(control_queue);
    }
}

// Failure level 2: the ring is broken, so the device stops until the frontend restarts it;
// what it showed is taken off screen.
void GuestBackend::stop_device(std::string_view reason) {
    ++stats_.device_failures;
    log::warn(backend_log(), "virtqueue violation, device stopped: {}", reason);
    held_.clear();
    connection_->fail_device(reason);
    device_.reset();
}

} // namespace tessera::gpu
