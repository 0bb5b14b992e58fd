#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend.hpp"
#include "gpu-backend/backend/guest_backend.hpp"
#include "gpu-backend/vhost_user/connection.hpp"
#include "gpu-backend/virtio_gpu/config_space.hpp"
#include "gpu-backend/virtqueue/descriptor_chain.hpp"

// A Connection and a Frontend on one TestEventLoop, with a stand-in device that echoes each
// chain's readable bytes into its writable part. Records every callback for the tests.
namespace tessera::gpu::test {

inline uint32_t echo_chain(const DescriptorChain& chain) {
    ChainReader reader(chain);
    ChainWriter writer(chain);
    std::vector<std::byte> bytes(
        static_cast<size_t>(std::min(reader.remaining(), writer.remaining())));
    reader.read(bytes);
    writer.write(bytes);
    return static_cast<uint32_t>(writer.written());
}

// The transport's view of a virtio-gpu, as GuestBackend describes it.
inline DeviceModel gpu_model(uint32_t num_scanouts = 1, uint64_t features = gpu_feature::edid) {
    return gpu_device_model(num_scanouts, /*num_capsets=*/0, features);
}

struct Harness {
    TestEventLoop loop;
    Frontend frontend;
    std::unique_ptr<Connection> connection;

    std::vector<unsigned> ready;
    std::vector<unsigned> kicks;
    int rings_stopped = 0;
    std::optional<std::string> closed;
    std::vector<std::string> ring_errors;
    // The device: what it does with one chain; returns the bytes written.
    std::function<uint32_t(const DescriptorChain&)> handle_chain = echo_chain;
    // Whether kicks are processed at once (tests that pop themselves turn it off).
    bool process_on_kick = true;

    explicit Harness(FrontendOptions options = {}, DeviceModel model = gpu_model())
        : frontend(loop, std::move(options)) {
        ConnectionCallbacks callbacks;
        callbacks.add_fd = loop.add_fd_callback();
        callbacks.remove_fd = loop.remove_fd_callback();
        callbacks.on_queue_ready = [this](unsigned q) { ready.push_back(q); };
        callbacks.on_kick = [this](unsigned q) {
            kicks.push_back(q);
            if (process_on_kick) {
                process(q);
            }
        };
        callbacks.on_rings_stopped = [this] { ++rings_stopped; };
        callbacks.on_closed = [this](std::string_view reason) { closed = std::string(reason); };
        connection = std::make_unique<Connection>(frontend.take_backend_socket(),
                                                  std::move(callbacks), std::move(model));
    }

    // What a device does on a kick: pop everything, answer, push, notify once.
    void process(unsigned q) {
        SplitQueue* queue = connection->queue(q);
        if (!queue) {
            return;
        }
        for (;;) {
            auto chain = queue->pop();
            if (!chain) {
                ring_errors.push_back(chain.error().reason);
                connection->fail_device(chain.error().reason);
                return;
            }
            if (!*chain) {
                break;
            }
            uint32_t written = handle_chain(**chain);
            if (auto pushed = queue->push(**chain, written); !pushed) {
                ring_errors.push_back(pushed.error().reason);
                connection->fail_device(pushed.error().reason);
                return;
            }
        }
        if (queue->needs_notification()) {
            connection->notify(q);
        }
    }
};

inline std::vector<std::byte> bytes_of(std::string_view text) {
    auto span = std::as_bytes(std::span(text.data(), text.size()));
    return {span.begin(), span.end()};
}

} // namespace tessera::gpu::test
