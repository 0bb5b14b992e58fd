#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

// Explicit little-endian fields and length-checked byte readers/writers: the only way guest and
// frontend data is read (style.md). Every layer of the device backends uses them, so the wire
// structs of vhost-user, the rings and the virtio devices are all spelt with le16/le32/le64.
namespace tessera::gpu {

// A little-endian integer stored as bytes: reading it is the same on any host, and a struct
// made of these can be memcpy'd from guest memory. Aligned like the plain integer so structs
// keep the C layout of the Linux uapi headers.
template <std::unsigned_integral T> struct alignas(T) Le {
    std::array<std::byte, sizeof(T)> bytes{};

    Le() = default;
    constexpr Le(T value) { set(value); } // NOLINT: implicit, like the uapi __le32

    [[nodiscard]] constexpr T get() const {
        T value = 0;
        for (size_t i = sizeof(T); i-- > 0;) {
            value = static_cast<T>((value << 8) | std::to_integer<T>(bytes[i]));
        }
        return value;
    }
    constexpr void set(T value) {
        for (size_t i = 0; i < sizeof(T); ++i) {
            bytes[i] = static_cast<std::byte>(value >> (8 * i));
        }
    }
};
using le16 = Le<uint16_t>;
using le32 = Le<uint32_t>;
using le64 = Le<uint64_t>;
static_assert(sizeof(le64) == 8 && alignof(le64) == alignof(uint64_t));
static_assert(std::is_trivially_copyable_v<le32>);

template <std::unsigned_integral T> T load_le(const std::byte* p) {
    Le<T> v;
    std::memcpy(v.bytes.data(), p, sizeof(T));
    return v.get();
}
template <std::unsigned_integral T> void store_le(std::byte* p, T value) {
    Le<T> v(value);
    std::memcpy(p, v.bytes.data(), sizeof(T));
}

// Reads fields in order from a byte span; every read checks the length and fails (nullopt)
// rather than reading past the end.
class ByteReader {
public:
    explicit ByteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

    [[nodiscard]] size_t remaining() const { return bytes_.size() - pos_; }

    template <std::unsigned_integral T> std::optional<T> le() {
        if (remaining() < sizeof(T)) {
            return std::nullopt;
        }
        T value = load_le<T>(bytes_.data() + pos_);
        pos_ += sizeof(T);
        return value;
    }
    std::optional<uint16_t> u16() { return le<uint16_t>(); }
    std::optional<uint32_t> u32() { return le<uint32_t>(); }
    std::optional<uint64_t> u64() { return le<uint64_t>(); }

    std::optional<std::span<const std::byte>> bytes(size_t count) {
        if (remaining() < count) {
            return std::nullopt;
        }
        auto out = bytes_.subspan(pos_, count);
        pos_ += count;
        return out;
    }

    // A whole struct; its fields must be le16/le32/le64 or single bytes.
    template <typename T> std::optional<T> read() {
        static_assert(std::is_trivially_copyable_v<T>);
        if (remaining() < sizeof(T)) {
            return std::nullopt;
        }
        T value;
        std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }

private:
    std::span<const std::byte> bytes_;
    size_t pos_ = 0;
};

// Appends little-endian fields to a growing buffer.
class ByteWriter {
public:
    template <std::unsigned_integral T> ByteWriter& le(T value) {
        size_t at = out_.size();
        out_.resize(at + sizeof(T));
        store_le(out_.data() + at, value);
        return *this;
    }
    ByteWriter& u16(uint16_t v) { return le(v); }
    ByteWriter& u32(uint32_t v) { return le(v); }
    ByteWriter& u64(uint64_t v) { return le(v); }
    ByteWriter& bytes(std::span<const std::byte> data) {
        out_.insert(out_.end(), data.begin(), data.end());
        return *this;
    }
    template <typename T> ByteWriter& write(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        return bytes(std::as_bytes(std::span(&value, 1)));
    }

    [[nodiscard]] const std::vector<std::byte>& data() const& { return out_; }
    [[nodiscard]] std::vector<std::byte> take() && { return std::move(out_); }

private:
    std::vector<std::byte> out_;
};

} // namespace tessera::gpu
