#include "gpu-backend/virtqueue/descriptor_chain.hpp"

#include <algorithm>
#include <cstring>

namespace tessera::gpu {

ChainReader::ChainReader(const DescriptorChain& chain)
    : segments_(chain.readable()), remaining_(chain.readable_size()) {}

bool ChainReader::read(std::span<std::byte> out) {
    if (out.size() > remaining_) {
        return false;
    }
    advance(out.data(), out.size());
    return true;
}

bool ChainReader::skip(uint64_t count) {
    if (count > remaining_) {
        return false;
    }
    advance(nullptr, count);
    return true;
}

void ChainReader::advance(std::byte* out, uint64_t count) {
    remaining_ -= count;
    consumed_ += count;
    while (count > 0) {
        auto segment = segments_[segment_];
        size_t take = static_cast<size_t>(std::min<uint64_t>(count, segment.size() - offset_));
        if (out) {
            // Guest memory: the guest may change it under us, which is why commands are copied
            // out once and then only the copy is looked at.
            std::memcpy(out, segment.data() + offset_, take);
            out += take;
        }
        offset_ += take;
        count -= take;
        if (offset_ == segment.size()) {
            ++segment_;
            offset_ = 0;
        }
    }
}

ChainWriter::ChainWriter(const DescriptorChain& chain)
    : segments_(chain.writable()), remaining_(chain.writable_size()) {}

bool ChainWriter::write(std::span<const std::byte> data) {
    if (data.size() > remaining_) {
        return false;
    }
    remaining_ -= data.size();
    written_ += data.size();
    const std::byte* in = data.data();
    size_t count = data.size();
    while (count > 0) {
        auto segment = segments_[segment_];
        size_t take = std::min(count, segment.size() - offset_);
        std::memcpy(segment.data() + offset_, in, take);
        in += take;
        offset_ += take;
        count -= take;
        if (offset_ == segment.size()) {
            ++segment_;
            offset_ = 0;
        }
    }
    return true;
}

} // namespace tessera::gpu
