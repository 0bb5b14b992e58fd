#include "guest/blob_buffer.hpp"

#include <catch2/catch_test_macros.hpp>

#include <vector>

using tessera::compositor::BlobBuffer;
using tessera::compositor::BlobBuffers;
namespace gpu = tessera::gpu;

namespace {

gpu::ScanoutImage image_at(uint64_t offset) {
    return {.width = 64, .height = 32, .stride = 256, .offset = offset};
}

} // namespace

TEST_CASE("a blob keeps one buffer per image, and the crop shares it", "[blob-buffers]") {
    BlobBuffers buffers([](uint32_t) {});
    auto blob = gpu::Resource::create(5, gpu::proto::Format::b8g8r8x8, 64, 64);
    BlobBuffer* front = buffers.get(blob->id(), blob->mapped_memory, image_at(0));
    BlobBuffer* back = buffers.get(blob->id(), blob->mapped_memory, image_at(256 * 32));
    CHECK(front != back);
    auto cropped = image_at(0);
    cropped.rect = {.x = 0, .y = 0, .width = 16, .height = 16};
    CHECK(buffers.get(blob->id(), blob->mapped_memory, cropped) == front);
    CHECK(buffers.get(blob->id(), blob->mapped_memory, image_at(256 * 32)) == back);
    CHECK(buffers.images(5) == 2);
}

TEST_CASE("a guest pointing a scanout at a blob in ever new ways does not grow the buffers",
          "[blob-buffers]") {
    BlobBuffers buffers([](uint32_t) {});
    auto blob = gpu::Resource::create(5, gpu::proto::Format::b8g8r8x8, 64, 64);
    // The one on screen: locked as the scene locks it.
    BlobBuffer* shown = buffers.get(blob->id(), blob->mapped_memory, image_at(0));
    wlr_buffer_lock(shown->wlr());
    for (uint64_t offset = 4; offset <= 4 * 10000; offset += 4) {
        buffers.get(blob->id(), blob->mapped_memory, image_at(offset));
        REQUIRE(buffers.images(5) <= BlobBuffers::max_images_per_blob);
    }
    CHECK(buffers.get(blob->id(), blob->mapped_memory, image_at(0)) == shown);
    CHECK(buffers.in_use(5));
    wlr_buffer_unlock(shown->wlr());
    CHECK_FALSE(buffers.in_use(5));
}
