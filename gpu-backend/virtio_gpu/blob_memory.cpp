#include "gpu-backend/virtio_gpu/blob_memory.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <format>
#include <vector>

namespace tessera::gpu {

namespace {

constexpr uint64_t page_size = 4096;

uint64_t round_up_to_page(uint64_t n) {
    return (n + page_size - 1) & ~(page_size - 1);
}

// Where the first `size` bytes of the backing live: file pieces, merged, and the host pointer of
// the first one (for the one-piece case).
struct Located {
    std::vector<FilePiece> pieces;
    std::byte* first_host = nullptr;
};

std::expected<Located, std::string> locate(const Backing& backing, uint64_t size,
                                           const GuestRam& ram) {
    Located located;
    std::vector<FilePiece> pieces;
    uint64_t left = size;
    for (const auto& range : backing.ranges()) {
        if (left == 0) {
            break;
        }
        uint64_t length = std::min(range.length, left);
        auto spans = ram.translate(range.addr, length);
        if (!spans) {
            return std::unexpected("blob memory no longer in guest RAM");
        }
        uint64_t gpa = range.addr;
        for (const auto& span : *spans) {
            auto where = ram.locate(gpa, span.size());
            if (!where) {
                return std::unexpected("guest RAM has no file to map the blob from");
            }
            if (located.first_host == nullptr) {
                located.first_host = span.data();
            }
            pieces.push_back({where->fd, where->offset, span.size()});
            gpa += span.size();
        }
        left -= length;
    }
    if (left != 0) {
        return std::unexpected("blob larger than its memory");
    }
    located.pieces = merge_pieces(pieces);
    return located;
}

} // namespace

std::expected<std::shared_ptr<const BlobMemory>, std::string>
BlobMemory::map(const Backing& backing, uint64_t size, std::shared_ptr<const GuestRam> ram,
                Udmabuf* udmabuf, uint64_t max_mappings) {
    if (size == 0 || !ram) {
        return std::unexpected("empty blob");
    }
    auto located = locate(backing, size, *ram);
    if (!located) {
        return std::unexpected(located.error());
    }
    std::shared_ptr<BlobMemory> blob(new BlobMemory());
    blob->size_ = size;
    blob->pieces_ = located->pieces.size();
    blob->file_pieces_ = located->pieces;
    const uint64_t length = round_up_to_page(size);

    if (udmabuf != nullptr) {
        auto pieces = located->pieces;
        // udmabuf wants whole pages: a blob's last page is the guest's in full.
        pieces.back().length += length - size;
        if (auto dmabuf = udmabuf->create(pieces)) {
            blob->dmabuf_ = std::move(*dmabuf);
            void* view = mmap(nullptr, length, PROT_READ, MAP_SHARED, blob->dmabuf_.get(), 0);
            if (view != MAP_FAILED) {
                blob->mapping_ = view;
                blob->mapping_length_ = length;
                blob->data_ = static_cast<const std::byte*>(view);
                blob->mapped_from_dmabuf_ = true;
                return blob;
            }
        } else {
            blob->dmabuf_error_ = dmabuf.error();
        }
    }

    if (located->pieces.size() == 1) {
        // Already contiguous in guest RAM's own mapping, which the blob keeps alive.
        blob->data_ = located->first_host;
        blob->ram_ = std::move(ram);
        return blob;
    }

    if (located->pieces.size() > max_mappings) {
        return std::unexpected(std::format("blob in {} pieces: over the {} mappings left",
                                           located->pieces.size(), max_mappings));
    }
    if (auto mapped = blob->map_pieces(located->pieces); !mapped) {
        return std::unexpected(mapped.error());
    }
    return blob;
}

// Reserves one range, then maps each piece of the files into it in order.
std::expected<void, std::string> BlobMemory::map_pieces(std::span<const FilePiece> pieces) {
    const uint64_t length = round_up_to_page(size_);
    void* base =
        mmap(nullptr, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        return std::unexpected(
            std::format("cannot reserve {} bytes: {}", length, std::strerror(errno)));
    }
    mapping_ = base;
    mapping_length_ = length;
    uint64_t at = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
        const auto& piece = pieces[i];
        uint64_t piece_length = i + 1 == pieces.size() ? length - at : piece.length;
        if (piece.offset % page_size != 0 || (at % page_size) != 0 || piece_length == 0 ||
            at + piece_length > length) {
            return std::unexpected("blob memory not in whole pages");
        }
        void* placed = mmap(static_cast<std::byte*>(base) + at, piece_length, PROT_READ,
                            MAP_SHARED | MAP_FIXED, piece.fd, static_cast<off_t>(piece.offset));
        if (placed == MAP_FAILED) {
            return std::unexpected(std::format("cannot map blob memory: {}", std::strerror(errno)));
        }
        at += piece.length;
    }
    data_ = static_cast<const std::byte*>(base);
    mappings_ = pieces.size();
    return {};
}

std::expected<std::shared_ptr<const BlobMemory>, std::string>
BlobMemory::from_dmabuf(UniqueFd dmabuf, uint64_t size) {
    if (size == 0 || !dmabuf) {
        return std::unexpected("an empty dma-buf");
    }
    std::shared_ptr<BlobMemory> blob(new BlobMemory());
    const uint64_t length = round_up_to_page(size);
    void* view = mmap(nullptr, length, PROT_READ, MAP_SHARED, dmabuf.get(), 0);
    if (view == MAP_FAILED) {
        return std::unexpected(std::format("cannot map the dma-buf: {}", std::strerror(errno)));
    }
    blob->size_ = size;
    blob->dmabuf_ = std::move(dmabuf);
    blob->mapping_ = view;
    blob->mapping_length_ = length;
    blob->data_ = static_cast<const std::byte*>(view);
    blob->mapped_from_dmabuf_ = true;
    blob->pieces_ = 1;
    return blob;
}

std::expected<std::shared_ptr<const BlobMemory>, std::string>
BlobMemory::from_file_pieces(std::span<const FilePiece> pieces, uint64_t size) {
    uint64_t total = 0;
    for (const auto& piece : pieces) {
        total += piece.length;
    }
    if (size == 0 || pieces.empty() || total < size) {
        return std::unexpected(std::format("{} bytes in pieces of {} bytes", size, total));
    }
    std::shared_ptr<BlobMemory> blob(new BlobMemory());
    blob->size_ = size;
    blob->pieces_ = pieces.size();
    if (auto mapped = blob->map_pieces(pieces); !mapped) {
        return std::unexpected(mapped.error());
    }
    return blob;
}

BlobMemory::~BlobMemory() {
    if (mapping_ != nullptr) {
        munmap(mapping_, mapping_length_);
    }
}

} // namespace tessera::gpu
