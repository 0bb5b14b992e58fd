#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "gpu-backend/guest_ram.hpp"
#include "gpu-backend/virtqueue/descriptor_chain.hpp"

// The split virtqueue (virtio 1.x section 2.7) as the device sees it. Every index, length and
// address comes from the guest: anything out of place is a RingError, and the caller stops the
// device (failure level 2). Nothing here trusts the ring enough to crash on it.
namespace tessera::gpu {

namespace vring {
inline constexpr uint16_t desc_f_next = 1;
inline constexpr uint16_t desc_f_write = 2;
inline constexpr uint16_t desc_f_indirect = 4;
inline constexpr uint16_t avail_f_no_interrupt = 1;
inline constexpr uint32_t max_size = 32768;
inline constexpr size_t desc_size = 16;

// Whether the driver asked to be notified when the used index moved from old_idx to new_idx
// (virtio_ring.h vring_need_event).
constexpr bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
    return static_cast<uint16_t>(new_idx - event_idx - 1) <
           static_cast<uint16_t>(new_idx - old_idx);
}
} // namespace vring

struct RingError {
    std::string reason;
};

// What the transport configured (for vhost-user: SET_VRING_NUM/BASE and SET_FEATURES).
struct QueueConfig {
    uint32_t size = 0;       // power of two, at most vring::max_size
    uint16_t next_avail = 0; // where the driver's avail ring resumes
    bool event_idx = false;  // VIRTIO_RING_F_EVENT_IDX negotiated
};

// The three ring areas in host memory, as the transport located them from its own kind of
// address (vhost-user: the frontend's user addresses). They must lie within the GuestRam the
// queue is given, which keeps them mapped.
struct RingAreas {
    std::span<std::byte> desc;  // at least desc_bytes(size)
    std::span<std::byte> avail; // at least avail_bytes(size)
    std::span<std::byte> used;  // at least used_bytes(size)

    static constexpr uint64_t desc_bytes(uint64_t size) { return vring::desc_size * size; }
    static constexpr uint64_t avail_bytes(uint64_t size) { return 6 + 2 * size; }
    static constexpr uint64_t used_bytes(uint64_t size) { return 6 + 8 * size; }
};

class SplitQueue {
public:
    // A queue on `rings`, whose descriptors' guest-physical addresses `memory` translates.
    // Fails on a bad size, a missing memory, or areas too small or misaligned.
    static std::expected<SplitQueue, RingError> create(std::shared_ptr<const GuestRam> memory,
                                                       RingAreas rings, const QueueConfig& config);

    // Moves to a new memory (and the rings' place in it), keeping the ring indices: a new
    // memory table while running. On failure the queue keeps what it had.
    std::expected<void, RingError> rebind(std::shared_ptr<const GuestRam> memory, RingAreas rings);

    // The next available chain, or nullopt when the driver has made none available. With
    // event-idx, finding the ring empty also asks the driver to kick for the next one.
    std::expected<std::optional<DescriptorChain>, RingError> pop();

    // Returns a chain popped from this queue to the driver with the number of bytes written.
    // Refuses a chain popped from another queue object (one that stopped since: drop those).
    std::expected<void, RingError> push(const DescriptorChain& chain, uint32_t written);
    [[nodiscard]] bool owns(const DescriptorChain& chain) const {
        return chain.queue_serial_ == serial_;
    }

    // Whether the driver wants an interrupt for what was pushed since the last call (event-idx
    // used_event, or VRING_AVAIL_F_NO_INTERRUPT without it). Call once after a batch of pushes.
    bool needs_notification();

    // The driver's used_event: a driver with event-idx moves it to the used entries it has
    // taken whenever it wants interrupts (Linux: after each round of taking answers), so the
    // entries past it are answers not taken back yet. nullopt without event-idx.
    [[nodiscard]] std::optional<uint16_t> used_event() const;

    [[nodiscard]] uint32_t size() const { return config_.size; }
    [[nodiscard]] uint16_t next_avail() const { return next_avail_; }
    [[nodiscard]] uint16_t next_used() const { return next_used_; }
    [[nodiscard]] uint32_t in_flight() const { return in_flight_; }
    [[nodiscard]] const QueueConfig& config() const { return config_; }
    [[nodiscard]] const std::shared_ptr<const GuestRam>& memory() const { return memory_; }

private:
    struct Desc {
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        uint16_t next;
    };

    SplitQueue() = default;
    std::optional<RingError> take_rings(const RingAreas& rings);
    uint16_t avail_idx_acquire() const;
    uint16_t avail_ring(uint16_t slot) const;
    void set_avail_event(uint16_t value);
    std::expected<DescriptorChain, RingError> walk(uint16_t head) const;
    std::optional<RingError> add_buffer(DescriptorChain& chain, const Desc& desc,
                                        bool& seen_writable) const;
    static Desc parse_desc(const std::byte* p);

    std::shared_ptr<const GuestRam> memory_;
    QueueConfig config_;
    std::span<std::byte> desc_;  // 16 * size
    std::span<std::byte> avail_; // 6 + 2 * size: flags, idx, ring[size], used_event
    std::span<std::byte> used_;  // 6 + 8 * size: flags, idx, ring[size], avail_event
    uint64_t serial_ = 0;
    uint16_t next_avail_ = 0;
    uint16_t next_used_ = 0;
    uint32_t in_flight_ = 0;
    uint16_t signalled_used_ = 0;
    bool signalled_valid_ = false;
};

} // namespace tessera::gpu
