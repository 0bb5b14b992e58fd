#include "gpu-backend/virtio_gpu/udmabuf.hpp"

#include <fcntl.h>
#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <format>
#include <fstream>

namespace tessera::gpu {

namespace {

constexpr uint64_t page_size = 4096;

uint64_t read_parameter(const char* name, uint64_t fallback) {
    std::ifstream file(std::string("/sys/module/udmabuf/parameters/") + name);
    uint64_t value = 0;
    return file >> value && value > 0 ? value : fallback;
}

} // namespace

std::vector<FilePiece> merge_pieces(std::span<const FilePiece> pieces) {
    std::vector<FilePiece> merged;
    for (const auto& piece : pieces) {
        if (piece.length == 0) {
            continue;
        }
        if (!merged.empty()) {
            auto& last = merged.back();
            if (last.fd == piece.fd && last.offset + last.length == piece.offset) {
                last.length += piece.length;
                continue;
            }
        }
        merged.push_back(piece);
    }
    return merged;
}

Udmabuf::Udmabuf(const std::string& device) : device_(open(device.c_str(), O_RDWR | O_CLOEXEC)) {
    if (!device_) {
        error_ = std::format("cannot open {}: {}", device, std::strerror(errno));
        return;
    }
    if (device == "/dev/udmabuf") {
        limits_.max_pieces =
            static_cast<uint32_t>(read_parameter("list_limit", limits_.max_pieces));
        limits_.max_bytes = read_parameter("size_limit_mb", limits_.max_bytes >> 20) << 20;
    }
}

Udmabuf::Udmabuf(UniqueFd device, Limits limits, std::string error)
    : device_(std::move(device)), error_(std::move(error)), limits_(limits) {}

Udmabuf& Udmabuf::system() {
    static Udmabuf instance;
    return instance;
}

std::expected<UniqueFd, std::string> Udmabuf::create(std::span<const FilePiece> pieces) {
    if (!device_) {
        return std::unexpected(error_);
    }
    auto merged = merge_pieces(pieces);
    if (merged.empty()) {
        return std::unexpected("no memory");
    }
    if (merged.size() > limits_.max_pieces) {
        return std::unexpected(
            std::format("{} separate pieces of memory, the kernel takes at most {}", merged.size(),
                        limits_.max_pieces));
    }
    uint64_t total = 0;
    for (const auto& piece : merged) {
        if (piece.offset % page_size != 0 || piece.length % page_size != 0) {
            return std::unexpected("memory not in whole pages");
        }
        total += piece.length;
    }
    if (total > limits_.max_bytes) {
        return std::unexpected(std::format("{} MiB, the kernel takes at most {} MiB", total >> 20,
                                           limits_.max_bytes >> 20));
    }
    // The request is a header followed by the pieces.
    std::vector<std::byte> request(sizeof(udmabuf_create_list) +
                                   merged.size() * sizeof(udmabuf_create_item));
    auto* list = reinterpret_cast<udmabuf_create_list*>(request.data());
    list->flags = UDMABUF_FLAGS_CLOEXEC;
    list->count = static_cast<uint32_t>(merged.size());
    for (size_t i = 0; i < merged.size(); ++i) {
        list->list[i] = {static_cast<uint32_t>(merged[i].fd), 0, merged[i].offset,
                         merged[i].length};
    }
    UniqueFd dmabuf(ioctl(device_.get(), UDMABUF_CREATE_LIST, list));
    if (!dmabuf) {
        return std::unexpected(std::format("the kernel refused: {}", std::strerror(errno)));
    }
    return dmabuf;
}

} // namespace tessera::gpu
