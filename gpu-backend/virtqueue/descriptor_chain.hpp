#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "gpu-backend/guest_ram.hpp"

namespace tessera::gpu {

// One request popped from a virtqueue: its device-readable buffers (the command) and its
// device-writable buffers (room for the response), already translated to host memory. Holds
// the guest memory it points into, so it stays valid when a new memory table arrives.
class DescriptorChain {
public:
    using Segments = std::vector<std::span<std::byte>>;

    [[nodiscard]] uint16_t head() const { return head_; }
    [[nodiscard]] std::span<const std::span<std::byte>> readable() const { return readable_; }
    [[nodiscard]] std::span<const std::span<std::byte>> writable() const { return writable_; }
    [[nodiscard]] uint64_t readable_size() const { return readable_size_; }
    [[nodiscard]] uint64_t writable_size() const { return writable_size_; }
    [[nodiscard]] const std::shared_ptr<const GuestRam>& memory() const { return memory_; }

private:
    friend class SplitQueue;

    uint16_t head_ = 0;
    uint64_t queue_serial_ = 0; // which SplitQueue popped it: pushing it elsewhere is refused
    Segments readable_;
    Segments writable_;
    uint64_t readable_size_ = 0;
    uint64_t writable_size_ = 0;
    std::shared_ptr<const GuestRam> memory_;
};

// Reads the readable part of a chain as one byte stream, whatever the descriptor boundaries.
// Every read is all or nothing. Must not outlive the chain.
class ChainReader {
public:
    explicit ChainReader(const DescriptorChain& chain);

    [[nodiscard]] uint64_t remaining() const { return remaining_; }
    [[nodiscard]] uint64_t consumed() const { return consumed_; }

    // Copies out.size() bytes; false (and nothing consumed) when fewer remain.
    bool read(std::span<std::byte> out);
    bool skip(uint64_t count);

    // A struct whose fields are le16/le32/le64 or bytes (see vhost_user/bytes.hpp).
    template <typename T> std::optional<T> read_obj() {
        static_assert(std::is_trivially_copyable_v<T>);
        T value;
        if (!read(std::as_writable_bytes(std::span(&value, 1)))) {
            return std::nullopt;
        }
        return value;
    }

private:
    // Copies (out non-empty) or skips (out empty) `count` bytes.
    void advance(std::byte* out, uint64_t count);

    std::span<const std::span<std::byte>> segments_;
    size_t segment_ = 0;
    size_t offset_ = 0;
    uint64_t remaining_ = 0;
    uint64_t consumed_ = 0;
};

// Writes the response into the writable part of a chain, as one byte stream. All or nothing.
// Must not outlive the chain.
class ChainWriter {
public:
    explicit ChainWriter(const DescriptorChain& chain);

    [[nodiscard]] uint64_t written() const { return written_; }
    [[nodiscard]] uint64_t remaining() const { return remaining_; }

    bool write(std::span<const std::byte> data);
    template <typename T> bool write_obj(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        return write(std::as_bytes(std::span(&value, 1)));
    }

private:
    std::span<const std::span<std::byte>> segments_;
    size_t segment_ = 0;
    size_t offset_ = 0;
    uint64_t remaining_ = 0;
    uint64_t written_ = 0;
};

} // namespace tessera::gpu
