#include "buffer_readback.hpp"

#include <format>
#include <span>
#include <vector>

namespace tessera::compositor {
namespace {

std::expected<Image, std::string> read_texture(wlr_texture* texture, const wlr_box& region) {
    uint32_t format = wlr_texture_preferred_read_format(texture);
    if (format == DRM_FORMAT_INVALID) {
        format = DRM_FORMAT_XRGB8888;
    }
    auto stride = static_cast<size_t>(region.width) * 4;
    std::vector<std::byte> data(stride * static_cast<size_t>(region.height));
    // src_box is const: set at initialisation.
    wlr_texture_read_pixels_options options{.data = data.data(),
                                            .format = format,
                                            .stride = static_cast<uint32_t>(stride),
                                            .dst_x = 0,
                                            .dst_y = 0,
                                            .src_box = region};
    if (!wlr_texture_read_pixels(texture, &options)) {
        return std::unexpected("cannot read the buffer back");
    }
    return Image::from_drm_buffer(format, data, stride, region.width, region.height);
}

} // namespace

std::expected<Image, std::string> read_buffer(wlr_renderer* renderer, wlr_buffer* buffer,
                                              std::optional<wlr_box> region) {
    wlr_box whole{0, 0, buffer->width, buffer->height};
    wlr_box box = region.value_or(whole);
    wlr_box inside{};
    if (!wlr_box_intersection(&inside, &box, &whole) || !wlr_box_equal(&inside, &box)) {
        return std::unexpected("the region lies outside the buffer");
    }
    void* data = nullptr;
    uint32_t format = 0;
    size_t stride = 0;
    if (wlr_buffer_begin_data_ptr_access(buffer, WLR_BUFFER_DATA_PTR_ACCESS_READ, &data, &format,
                                         &stride)) {
        if (stride < static_cast<size_t>(buffer->width) * 4) { // not 4 bytes a pixel
            wlr_buffer_end_data_ptr_access(buffer);
            return std::unexpected(std::format("unsupported pixel format 0x{:08x}", format));
        }
        auto offset = static_cast<size_t>(box.y) * stride + static_cast<size_t>(box.x) * 4;
        auto length =
            static_cast<size_t>(box.height - 1) * stride + static_cast<size_t>(box.width) * 4;
        auto bytes = std::span(static_cast<const std::byte*>(data) + offset, length);
        auto image = Image::from_drm_buffer(format, bytes, stride, box.width, box.height);
        wlr_buffer_end_data_ptr_access(buffer);
        return image;
    }
    // A wlr_client_buffer keeps only its texture once the client's data was uploaded.
    if (auto* client_buffer = wlr_client_buffer_get(buffer);
        client_buffer && client_buffer->texture) {
        return read_texture(client_buffer->texture, box);
    }
    auto* texture = wlr_texture_from_buffer(renderer, buffer);
    if (!texture) {
        return std::unexpected("the buffer can be neither mapped nor imported");
    }
    auto image = read_texture(texture, box);
    wlr_texture_destroy(texture);
    return image;
}

} // namespace tessera::compositor
