#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

// Explicit little-endian field access to guest bytes, independent of host byte order and
// alignment. The reader is length-checked: a read past the end yields 0 and marks the reader
// failed, so a decoder checks sizes up front and `failed()` once at the end.
namespace tessera::gpu::proto {

class WireReader {
public:
    explicit WireReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

    [[nodiscard]] size_t remaining() const { return bytes_.size() - pos_; }
    [[nodiscard]] bool failed() const { return failed_; }

    uint8_t u8() { return static_cast<uint8_t>(read(1)); }
    uint16_t u16() { return static_cast<uint16_t>(read(2)); }
    uint32_t u32() { return static_cast<uint32_t>(read(4)); }
    uint64_t u64() { return read(8); }
    // The next `n` bytes, in place; empty (and failed) when fewer are left.
    std::span<const std::byte> bytes(size_t n) {
        if (n > remaining()) {
            failed_ = true;
            pos_ = bytes_.size();
            return {};
        }
        auto out = bytes_.subspan(pos_, n);
        pos_ += n;
        return out;
    }
    void skip(size_t n) {
        if (n > remaining()) {
            failed_ = true;
            pos_ = bytes_.size();
            return;
        }
        pos_ += n;
    }

private:
    uint64_t read(size_t n) {
        if (n > remaining()) {
            failed_ = true;
            pos_ = bytes_.size();
            return 0;
        }
        uint64_t value = 0;
        for (size_t i = 0; i < n; ++i) {
            value |= static_cast<uint64_t>(bytes_[pos_ + i]) << (8 * i);
        }
        pos_ += n;
        return value;
    }

    std::span<const std::byte> bytes_;
    size_t pos_ = 0;
    bool failed_ = false;
};

class WireWriter {
public:
    explicit WireWriter(std::vector<std::byte>& out) : out_(out) {}

    void u8(uint8_t v) { write(v, 1); }
    void u16(uint16_t v) { write(v, 2); }
    void u32(uint32_t v) { write(v, 4); }
    void u64(uint64_t v) { write(v, 8); }
    void zeros(size_t n) { out_.insert(out_.end(), n, std::byte{0}); }
    void bytes(std::span<const std::byte> data) {
        out_.insert(out_.end(), data.begin(), data.end());
    }

private:
    void write(uint64_t value, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            out_.push_back(static_cast<std::byte>(value >> (8 * i)));
        }
    }

    std::vector<std::byte>& out_;
};

} // namespace tessera::gpu::proto
