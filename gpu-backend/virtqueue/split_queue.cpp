#include "gpu-backend/virtqueue/split_queue.hpp"

#include <atomic>
#include <bit>
#include <cstring>
#include <format>
#include <vector>

#include "gpu-backend/base/bytes.hpp"

namespace tessera::gpu {
namespace {

// The ring indices are shared with the guest and read/written with atomics on the host's own
// u16; virtio rings are little-endian, and so must the host be.
static_assert(std::endian::native == std::endian::little);

// Offsets within the avail and used rings.
constexpr size_t ring_flags = 0;
constexpr size_t ring_idx = 2;
constexpr size_t ring_entries = 4;
constexpr size_t used_elem_size = 8;

std::atomic_ref<uint16_t> ring_u16(std::span<std::byte> ring, size_t offset) {
    return std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(ring.data() + offset));
}

bool aligned(const std::byte* p, size_t alignment) {
    return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

// Each queue gets its own serial so a chain can only be pushed back where it came from.
uint64_t next_serial() {
    static uint64_t serial = 0;
    return ++serial;
}

RingError violation(std::string reason) {
    return RingError{std::move(reason)};
}

} // namespace

std::expected<SplitQueue, RingError> SplitQueue::create(std::shared_ptr<const GuestRam> memory,
                                                        RingAreas rings,
                                                        const QueueConfig& config) {
    if (config.size == 0 || config.size > vring::max_size || !std::has_single_bit(config.size)) {
        return std::unexpected(violation(std::format("queue size {}", config.size)));
    }
    if (!memory) {
        return std::unexpected(violation("no guest memory"));
    }
    SplitQueue queue;
    queue.memory_ = std::move(memory);
    queue.config_ = config;
    if (auto error = queue.take_rings(rings)) {
        return std::unexpected(std::move(*error));
    }
    queue.serial_ = next_serial();
    queue.next_avail_ = config.next_avail;
    // A ring resumed after SET_VRING_BASE continues from the used index the guest sees.
    queue.next_used_ = ring_u16(queue.used_, ring_idx).load(std::memory_order_acquire);
    return queue;
}

std::expected<void, RingError> SplitQueue::rebind(std::shared_ptr<const GuestRam> memory,
                                                  RingAreas rings) {
    if (!memory) {
        return std::unexpected(violation("no guest memory"));
    }
    if (auto error = take_rings(rings)) {
        return std::unexpected(std::move(*error));
    }
    memory_ = std::move(memory);
    return {};
}

std::optional<RingError> SplitQueue::take_rings(const RingAreas& rings) {
    const uint64_t n = config_.size;
    if (rings.desc.size() < RingAreas::desc_bytes(n) ||
        rings.avail.size() < RingAreas::avail_bytes(n) ||
        rings.used.size() < RingAreas::used_bytes(n)) {
        return violation(std::format("ring areas too small for {} entries", n));
    }
    // Alignments from the virtio spec (2.7 "Virtqueue Alignment"); the index atomics need them.
    if (!aligned(rings.desc.data(), 16) || !aligned(rings.avail.data(), 2) ||
        !aligned(rings.used.data(), 4)) {
        return violation("misaligned ring");
    }
    desc_ = rings.desc;
    avail_ = rings.avail;
    used_ = rings.used;
    return std::nullopt;
}

uint16_t SplitQueue::avail_idx_acquire() const {
    // Acquire: the ring entries and descriptors the driver wrote before publishing the index
    // are visible after it.
    return ring_u16(avail_, ring_idx).load(std::memory_order_acquire);
}

uint16_t SplitQueue::avail_ring(uint16_t slot) const {
    return load_le<uint16_t>(avail_.data() + ring_entries + 2 * size_t{slot});
}

void SplitQueue::set_avail_event(uint16_t value) {
    ring_u16(used_, ring_entries + used_elem_size * config_.size)
        .store(value, std::memory_order_relaxed);
}

SplitQueue::Desc SplitQueue::parse_desc(const std::byte* p) {
    return Desc{load_le<uint64_t>(p), load_le<uint32_t>(p + 8), load_le<uint16_t>(p + 12),
                load_le<uint16_t>(p + 14)};
}

std::expected<std::optional<DescriptorChain>, RingError> SplitQueue::pop() {
    uint16_t avail_idx = avail_idx_acquire();
    if (avail_idx == next_avail_ && config_.event_idx) {
        // Ask for a kick when the next entry arrives, then look again: the driver may have
        // added one before it could see the new avail_event.
        set_avail_event(next_avail_);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        avail_idx = avail_idx_acquire();
    }
    uint16_t pending = static_cast<uint16_t>(avail_idx - next_avail_);
    if (pending == 0) {
        return std::nullopt;
    }
    if (pending > config_.size) {
        return std::unexpected(
            violation(std::format("avail index {} is {} ahead of {} (queue size {})", avail_idx,
                                  pending, next_avail_, config_.size)));
    }
    // Each chain holds at least one descriptor until it is used: a driver that makes more
    // available than the ring has descriptors reuses ones still in flight.
    if (in_flight_ >= config_.size) {
        return std::unexpected(
            violation(std::format("more than {} chains in flight", config_.size)));
    }
    uint16_t head = avail_ring(static_cast<uint16_t>(next_avail_ & (config_.size - 1)));
    auto chain = walk(head);
    if (!chain) {
        return std::unexpected(std::move(chain.error()));
    }
    ++next_avail_;
    ++in_flight_;
    return std::optional(std::move(*chain));
}

std::expected<DescriptorChain, RingError> SplitQueue::walk(uint16_t head) const {
    if (head >= config_.size) {
        return std::unexpected(
            violation(std::format("head index {} out of range (size {})", head, config_.size)));
    }
    DescriptorChain chain;
    chain.head_ = head;
    chain.queue_serial_ = serial_;
    chain.memory_ = memory_;

    // The table being walked: the ring's own, or an indirect table copied out of guest memory
    // (copied so the guest cannot change it while we walk it).
    std::span<const std::byte> table = desc_;
    std::vector<std::byte> indirect;
    uint32_t table_size = config_.size;
    uint32_t seen = 0;
    bool seen_writable = false;
    uint16_t index = head;
    for (;;) {
        // A chain visits each descriptor at most once: more steps than entries is a loop.
        if (++seen > table_size) {
            return std::unexpected(violation(std::format("descriptor chain from {} loops", head)));
        }
        Desc desc = parse_desc(table.data() + vring::desc_size * index);
        if (desc.flags & vring::desc_f_indirect) {
            if (!indirect.empty() || seen != 1) {
                return std::unexpected(violation("indirect descriptor inside a chain"));
            }
            if (desc.flags & vring::desc_f_next) {
                return std::unexpected(violation("indirect descriptor with NEXT"));
            }
            // The spec bounds a chain by the queue size, indirect or not.
            if (desc.len == 0 || desc.len % vring::desc_size != 0 ||
                desc.len / vring::desc_size > config_.size) {
                return std::unexpected(
                    violation(std::format("indirect table of {} bytes", desc.len)));
            }
            auto pieces = memory_->translate(desc.addr, desc.len);
            if (!pieces) {
                return std::unexpected(violation(std::format(
                    "indirect table {:#x}+{:#x} outside guest memory", desc.addr, desc.len)));
            }
            indirect.reserve(desc.len);
            for (auto piece : *pieces) {
                indirect.insert(indirect.end(), piece.begin(), piece.end());
            }
            table = indirect;
            table_size = desc.len / vring::desc_size;
            seen = 0;
            index = 0;
            continue;
        }
        if (auto error = add_buffer(chain, desc, seen_writable)) {
            return std::unexpected(std::move(*error));
        }
        if (!(desc.flags & vring::desc_f_next)) {
            return chain;
        }
        if (desc.next >= table_size) {
            return std::unexpected(violation(
                std::format("next index {} out of range ({} entries)", desc.next, table_size)));
        }
        index = desc.next;
    }
}

std::optional<RingError> SplitQueue::add_buffer(DescriptorChain& chain, const Desc& desc,
                                                bool& seen_writable) const {
    bool writable = (desc.flags & vring::desc_f_write) != 0;
    if (!writable && seen_writable) {
        return violation("readable descriptor after a writable one");
    }
    seen_writable = seen_writable || writable;
    auto pieces = memory_->translate(desc.addr, desc.len);
    if (!pieces) {
        return violation(
            std::format("buffer {:#x}+{:#x} outside guest memory", desc.addr, desc.len));
    }
    auto& segments = writable ? chain.writable_ : chain.readable_;
    segments.insert(segments.end(), pieces->begin(), pieces->end());
    (writable ? chain.writable_size_ : chain.readable_size_) += desc.len;
    return std::nullopt;
}

std::expected<void, RingError> SplitQueue::push(const DescriptorChain& chain, uint32_t written) {
    if (!owns(chain) || in_flight_ == 0) {
        return std::unexpected(violation("pushed a chain this queue did not pop"));
    }
    if (written > chain.writable_size()) {
        return std::unexpected(violation(std::format("pushed {} bytes written into {} writable",
                                                     written, chain.writable_size())));
    }
    std::byte* elem =
        used_.data() + ring_entries + used_elem_size * (next_used_ & (config_.size - 1));
    store_le<uint32_t>(elem, chain.head());
    store_le<uint32_t>(elem + 4, written);
    ++next_used_;
    --in_flight_;
    // Release: the response and the used element are visible before the new index.
    ring_u16(used_, ring_idx).store(next_used_, std::memory_order_release);
    return {};
}

std::optional<uint16_t> SplitQueue::used_event() const {
    if (!config_.event_idx) {
        return std::nullopt;
    }
    return ring_u16(avail_, ring_entries + 2 * size_t{config_.size})
        .load(std::memory_order_relaxed);
}

bool SplitQueue::needs_notification() {
    // The used index store must be visible before the driver's event fields are read.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    uint16_t old_used = signalled_used_;
    bool valid = signalled_valid_;
    signalled_used_ = next_used_;
    signalled_valid_ = true;
    if (valid && old_used == next_used_) {
        return false; // nothing pushed since the last call
    }
    if (config_.event_idx) {
        return !valid || vring::need_event(*used_event(), next_used_, old_used);
    }
    uint16_t flags = ring_u16(avail_, ring_flags).load(std::memory_order_relaxed);
    return (flags & vring::avail_f_no_interrupt) == 0;
}

} // namespace tessera::gpu
