#pragma once

#include "gpu-backend/guest_ram.hpp"
#include "gpu-backend/virtio_gpu/backing.hpp"
#include "gpu-backend/virtio_gpu/udmabuf.hpp"
#include "gpu-backend/base/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

// The host's view of a blob's guest pages, made once per blob and never copied: one contiguous
// read-only mapping, and a dma-buf of the same pages when udmabuf takes them. With a dma-buf the
// mapping is the dma-buf's own; without, the guest pages are mapped from the memfds behind guest
// RAM piece by piece into one reserved range (or, for a blob in one piece, guest RAM's own
// mapping is used). Shared by the device's resource and the compositor's buffer, so it outlives
// whichever lets go first.
namespace tessera::gpu {

class BlobMemory {
public:
    // Maps the first `size` bytes of `backing`. `udmabuf` may be null (no dma-buf wanted). The
    // error says why the pages cannot be mapped at all, also when that would take more than
    // `max_mappings` mappings; a dma-buf that cannot be made is not an error (dmabuf_error()
    // says why).
    [[nodiscard]] static std::expected<std::shared_ptr<const BlobMemory>, std::string>
    map(const Backing& backing, uint64_t size, std::shared_ptr<const GuestRam> ram,
        Udmabuf* udmabuf, uint64_t max_mappings);

    // The compositor's view of memory a device process lent it: a dma-buf, mapped read-only
    // (the fd is kept), or pieces of files mapped into one range (see map()). `size` bytes.
    [[nodiscard]] static std::expected<std::shared_ptr<const BlobMemory>, std::string>
    from_dmabuf(UniqueFd dmabuf, uint64_t size);
    [[nodiscard]] static std::expected<std::shared_ptr<const BlobMemory>, std::string>
    from_file_pieces(std::span<const FilePiece> pieces, uint64_t size);

    ~BlobMemory();
    BlobMemory(const BlobMemory&) = delete;
    BlobMemory& operator=(const BlobMemory&) = delete;

    [[nodiscard]] std::span<const std::byte> bytes() const { return {data_, size_}; }
    [[nodiscard]] int dmabuf() const { return dmabuf_.get(); } // -1: none
    [[nodiscard]] const std::string& dmabuf_error() const { return dmabuf_error_; }
    // bytes() is the dma-buf's mapping.
    [[nodiscard]] bool mapped_from_dmabuf() const { return mapped_from_dmabuf_; }
    // Pieces of guest memory the blob was assembled from (after merging).
    [[nodiscard]] size_t pieces() const { return pieces_; }
    // Mappings made for it piece by piece (none for a dma-buf's or guest RAM's own mapping).
    [[nodiscard]] size_t mappings() const { return mappings_; }
    // Where its bytes lie in the files behind guest RAM, merged and in order (empty for
    // memory that came as a dma-buf); what a device process lends the compositor.
    [[nodiscard]] std::span<const FilePiece> file_pieces() const { return file_pieces_; }

private:
    BlobMemory() = default;
    std::expected<void, std::string> map_pieces(std::span<const FilePiece> pieces);

    const std::byte* data_ = nullptr;
    size_t size_ = 0;
    void* mapping_ = nullptr; // ours to unmap, when not null
    size_t mapping_length_ = 0;
    std::shared_ptr<const GuestRam> ram_; // kept when data_ points into guest RAM's mapping
    UniqueFd dmabuf_;
    std::string dmabuf_error_;
    bool mapped_from_dmabuf_ = false;
    size_t pieces_ = 0;
    size_t mappings_ = 0;
    std::vector<FilePiece> file_pieces_;
};

} // namespace tessera::gpu
