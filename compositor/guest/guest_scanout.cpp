#include "guest_scanout.hpp"

#include "guest_pixels.hpp"
#include "log_scopes.hpp"
#include "output.hpp"
#include "pixel_buffer.hpp"
#include "zone_scene.hpp"

#include <algorithm>
#include <cmath>
#include <format>
#include <utility>

namespace tessera::compositor {

namespace {

constexpr auto default_freeze = std::chrono::milliseconds(1000);
constexpr auto default_period = std::chrono::nanoseconds(1'000'000'000 / 60);

FramePacer::Clock::time_point steady_time(const timespec& when) {
    return FramePacer::Clock::time_point(std::chrono::seconds(when.tv_sec) +
                                         std::chrono::nanoseconds(when.tv_nsec));
}

double to_ms(FramePacer::Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

} // namespace

std::string_view frame_path_name(FramePath path) {
    switch (path) {
    case FramePath::none:
        return "none";
    case FramePath::dmabuf:
        return "dma-buf";
    case FramePath::data_access:
        return "data access";
    case FramePath::copy:
        return "copy";
    case FramePath::readback:
        return "readback";
    }
    return "?";
}

GuestScanout::GuestScanout(ZoneScene& zones, wl_event_loop* loop, wlr_scene_tree* parent,
                           std::string guest, uint32_t index, Hooks hooks)
    : zones_(zones), guest_(std::move(guest)), index_(index), hooks_(std::move(hooks)),
      tree_(wlr_scene_tree_create(parent)), frame_node_(wlr_scene_buffer_create(tree_, nullptr)),
      cursor_node_(wlr_scene_buffer_create(tree_, nullptr)),
      freeze_timer_(loop, [this] { freeze_ended(); }),
      pacer_([this](gpu::ResponseToken token) { hooks_.signal_fence(token); }),
      pace_timer_(loop, [this] { tick(); }) {
    pixman_region32_init(&to_copy_);
    tree_->node.data = &tag_;
    wlr_scene_node_set_enabled(&tree_->node, false);
    wlr_scene_node_set_enabled(&cursor_node_->node, false);
    on_sample_.connect(&frame_node_->events.output_sample,
                       [this](wlr_scene_output_sample_event* event) {
                           if (!event->direct_scanout) {
                               ++blits_;
                           }
                       });
}

GuestScanout* GuestScanout::from_node(wlr_scene_node* node) {
    return SceneTag::find<GuestScanout>(node, SceneTag::Kind::guest_scanout);
}

std::optional<std::pair<double, double>> GuestScanout::pixel_at(double lx, double ly,
                                                                bool clamp) const {
    auto* buffer = frame_node_->buffer;
    if (!showing_ || !in_zone_ || !buffer || zone.empty()) {
        return std::nullopt;
    }
    // The frame node is where the zone placed it even while a plane shows it (node disabled).
    int nx = 0, ny = 0;
    wlr_scene_node_coords(&frame_node_->node, &nx, &ny);
    double dst_w = frame_node_->dst_width > 0 ? frame_node_->dst_width : buffer->width;
    double dst_h = frame_node_->dst_height > 0 ? frame_node_->dst_height : buffer->height;
    wlr_fbox src = frame_node_->src_box;
    if (wlr_fbox_empty(&src)) {
        src = {0, 0, static_cast<double>(buffer->width), static_cast<double>(buffer->height)};
    }
    double dx = lx - nx, dy = ly - ny;
    if (dst_w <= 0 || dst_h <= 0 || width() <= 0 || height() <= 0) {
        return std::nullopt;
    }
    auto box = content_box();
    double x = src.x + dx * src.width / dst_w - box.x;
    double y = src.y + dy * src.height / dst_h - box.y;
    bool inside = dx >= 0 && dy >= 0 && dx < dst_w && dy < dst_h && x >= 0 && y >= 0 &&
                  x < width() && y < height();
    if (inside) {
        return std::pair{x, y};
    }
    if (!clamp) {
        return std::nullopt; // beside the picture: the zone's bars
    }
    return std::pair{std::clamp(x, 0.0, width() - 0.5), std::clamp(y, 0.0, height() - 0.5)};
}

GuestScanout::~GuestScanout() {
    if (in_zone_) {
        zones_.remove(this);
    }
    on_sample_.disconnect();
    wlr_scene_node_destroy(&tree_->node);
    if (copy_) {
        wlr_buffer_drop(copy_);
    }
    if (cursor_) {
        wlr_buffer_drop(cursor_);
    }
    pixman_region32_fini(&to_copy_);
}

ivi::ContentIdentity GuestScanout::identity() const {
    return {.ivi_id = {}, .app_id = {}, .guest = guest_, .scanout = static_cast<int>(index_)};
}

std::string GuestScanout::describe() const {
    return std::format("guest {}:{}", guest_, index_);
}

void GuestScanout::configure_size(int width, int height) {
    if (hooks_.on_resize && width > 0 && height > 0) {
        hooks_.on_resize(width, height);
    }
}

ScanoutStats GuestScanout::stats() const {
    ScanoutStats s;
    s.frames = pacer_.frames();
    s.presented = pacer_.presented_frames();
    s.replaced = pacer_.replaced_frames();
    s.fences = pacer_.fences_signalled();
    if (auto p50 = pacer_.latency(0.5)) {
        s.latency_p50_ms = to_ms(*p50);
    }
    if (auto p99 = pacer_.latency(0.99)) {
        s.latency_p99_ms = to_ms(*p99);
    }
    s.bytes_copied = bytes_copied_;
    s.blits = blits_;
    s.path = path_;
    s.dmabuf_imported =
        dmabuf_imported_ || (blob_ && blob_->last_access() == BlobBuffer::Access::dmabuf_import);
    return s;
}

void GuestScanout::show(const LentFrame* frame) {
    if (!frame) {
        freeze();
        return;
    }
    freeze_timer_.disarm();
    showing_ = true;
    wlr_box before = content_box();
    rect_ = frame->image.rect;
    if (frame->in_place) {
        show_blob(*frame);
    } else {
        show_copy(*frame);
    }
    // Frames are counted and paced from the flushes: a guest flushes each framebuffer it
    // shows (Linux always does, right after SET_SCANOUT), so a flip is one frame.
    wlr_box after = content_box();
    enter_zone(!wlr_box_equal(&before, &after));
    follow_output();
    schedule_tick();
}

// A 2D framebuffer read by copying: all of the part shown is copied at the next output frame;
// the guest flushes what it draws next.
void GuestScanout::show_copy(const LentFrame& frame) {
    const auto& image = frame.image;
    leave_blob();
    if (!copy_ || copy_->width != static_cast<int>(image.rect.width) ||
        copy_->height != static_cast<int>(image.rect.height)) {
        if (copy_) {
            wlr_buffer_drop(copy_);
        }
        copy_ = create_pixel_buffer(static_cast<int>(image.rect.width),
                                    static_cast<int>(image.rect.height), DRM_FORMAT_XRGB8888);
    }
    path_ = FramePath::copy;
    copy_source_ = frame.memory;
    copy_image_ = image;
    pixman_region32_fini(&to_copy_);
    pixman_region32_init_rect(&to_copy_, static_cast<int>(image.rect.x),
                              static_cast<int>(image.rect.y), image.rect.width, image.rect.height);
    wlr_scene_buffer_set_buffer(frame_node_, copy_);
    wlr_scene_buffer_set_transform(frame_node_, WL_OUTPUT_TRANSFORM_NORMAL);
}

// A blob framebuffer: shown in place, from the one buffer the guest's blob has.
void GuestScanout::show_blob(const LentFrame& frame) {
    // The blob shown before, if any (the scene keeps its buffer until it is replaced).
    wlr_buffer* before = blob_ ? frame_node_->buffer : nullptr;
    leave_blob();
    copy_source_ = nullptr;
    pixman_region32_clear(&to_copy_);
    blob_ = hooks_.blob_buffer(frame);
    path_ = frame.read_back                 ? FramePath::readback
            : blob_->memory().dmabuf() >= 0 ? FramePath::dmabuf
                                            : FramePath::data_access;
    if (before && before->width == blob_->wlr()->width && before->height == blob_->wlr()->height) {
        // A page flip between blobs of one size: the flush that follows (Linux sends it with
        // the flip) damages the whole buffer, so the zone is composited once, not twice.
        pixman_region32_t none;
        pixman_region32_init(&none);
        wlr_scene_buffer_set_buffer_with_damage(frame_node_, blob_->wlr(), &none);
        pixman_region32_fini(&none);
        flipped_ = true;
    } else {
        wlr_scene_buffer_set_buffer(frame_node_, blob_->wlr());
    }
    // A 3D renderer's texture in OpenGL's row order: shown upside down, it is the guest's image.
    wlr_scene_buffer_set_transform(frame_node_, frame.image.bottom_up
                                                    ? WL_OUTPUT_TRANSFORM_FLIPPED_180
                                                    : WL_OUTPUT_TRANSFORM_NORMAL);
    if (copy_) {
        wlr_buffer_drop(copy_); // a frozen or 2D frame before
        copy_ = nullptr;
    }
}

// `moved`: the part of the buffer the zone shows changed (size, or a blob's crop origin).
void GuestScanout::enter_zone(bool moved) {
    if (!in_zone_) {
        in_zone_ = true;
        wlr_scene_node_set_enabled(&tree_->node, true);
        zones_.add(this);
    } else if (moved) {
        zones_.content_committed(this);
    }
}

void GuestScanout::flush(gpu::proto::Rect damage) {
    if (!showing_ || !frame_node_->buffer) {
        return;
    }
    pixman_region32_t region;
    pixman_region32_init_rect(&region, static_cast<int>(damage.x), static_cast<int>(damage.y),
                              damage.width, damage.height);
    if (blob_) {
        // The buffer is the whole framebuffer: damage stays in its coordinates. After a flip
        // every pixel may differ from the buffer shown before.
        wlr_scene_buffer_set_buffer_with_damage(frame_node_, blob_->wlr(),
                                                flipped_ ? nullptr : &region);
        flipped_ = false;
    } else {
        // Copied when an output frame shows it (copy_flushed), once for all flushes till then.
        pixman_region32_union(&to_copy_, &to_copy_, &region);
        pixman_region32_translate(&region, -static_cast<int>(rect_.x), -static_cast<int>(rect_.y));
        wlr_scene_buffer_set_buffer_with_damage(frame_node_, copy_, &region);
    }
    pixman_region32_fini(&region);
    count_frame();
    pacer_.frame(FramePacer::Clock::now());
    follow_output();
    schedule_tick();
}

void GuestScanout::add_fence(gpu::ResponseToken token) {
    pacer_.add_fence(token);
    schedule_tick();
}

// Copies `area` (framebuffer coordinates, inside rect_) of the framebuffer `pixels` into the
// host buffer `dst`, which holds rect_. Returns the bytes copied.
uint64_t GuestScanout::copy_area(wlr_buffer* dst, std::span<const std::byte> pixels,
                                 uint32_t stride, gpu::proto::Format format,
                                 gpu::proto::Rect area) const {
    auto src =
        pixels.subspan(size_t{rect_.y} * stride + size_t{rect_.x} * gpu::proto::bytes_per_pixel);
    gpu::proto::Rect local{area.x - rect_.x, area.y - rect_.y, area.width, area.height};
    return copy_guest_pixels(dst, src, stride, format, local);
}

// Brings the host copy of a 2D framebuffer up to date with what the guest flushed.
void GuestScanout::copy_flushed() {
    if (!copy_source_ || !copy_ || !pixman_region32_not_empty(&to_copy_)) {
        return;
    }
    auto pixels = copy_source_->bytes().subspan(copy_image_.offset);
    int count = 0;
    const pixman_box32_t* boxes = pixman_region32_rectangles(&to_copy_, &count);
    for (int i = 0; i < count; ++i) {
        // Damage lies within rect_ (the device clips it): clip again all the same.
        uint64_t x0 = std::max<int64_t>(boxes[i].x1, rect_.x);
        uint64_t y0 = std::max<int64_t>(boxes[i].y1, rect_.y);
        uint64_t x1 = std::min<int64_t>(boxes[i].x2, int64_t{rect_.x} + rect_.width);
        uint64_t y1 = std::min<int64_t>(boxes[i].y2, int64_t{rect_.y} + rect_.height);
        if (x1 <= x0 || y1 <= y0) {
            continue;
        }
        gpu::proto::Rect area{static_cast<uint32_t>(x0), static_cast<uint32_t>(y0),
                              static_cast<uint32_t>(x1 - x0), static_cast<uint32_t>(y1 - y0)};
        bytes_copied_ += copy_area(copy_, pixels, copy_image_.stride, copy_image_.format, area);
    }
    pixman_region32_clear(&to_copy_);
}

// The blob shown so far goes; whether the renderer imported it stays in the statistics.
void GuestScanout::leave_blob() {
    if (blob_) {
        dmabuf_imported_ = blob_->last_access() == BlobBuffer::Access::dmabuf_import;
        blob_ = nullptr;
    }
}

// The guest shows nothing any more. Keep the last frame a while: a guest rebooting or
// changing modes comes back soon. A blob's frame is copied once, so the guest gets its pages
// back now (a rebooting guest reuses them at once).
void GuestScanout::freeze() {
    showing_ = false;
    pacer_.release_all();
    copy_flushed(); // the resource may go once the device hears back
    copy_source_ = nullptr;
    if (blob_) {
        const auto& image = blob_->image();
        auto* frozen = create_pixel_buffer(static_cast<int>(rect_.width),
                                           static_cast<int>(rect_.height), DRM_FORMAT_XRGB8888);
        bytes_copied_ += copy_area(frozen, blob_->memory().bytes().subspan(image.offset),
                                   image.stride, image.format, rect_);
        leave_blob();
        if (copy_) {
            wlr_buffer_drop(copy_);
        }
        copy_ = frozen;
        wlr_scene_buffer_set_buffer(frame_node_, copy_);
        if (in_zone_) {
            zones_.content_committed(this); // the copy starts at the rect's origin
        }
    }
    if (in_zone_ && !freeze_timer_.armed()) {
        const auto* zone = zones_.zone_for(*this);
        freeze_timer_.arm(zone ? zone->freeze_timeout : default_freeze);
    }
}

void GuestScanout::freeze_ended() {
    if (showing_ || !in_zone_) {
        return;
    }
    in_zone_ = false;
    zones_.remove(this);
    wlr_scene_node_set_enabled(&tree_->node, false);
    wlr_scene_buffer_set_buffer(frame_node_, nullptr);
    if (copy_) {
        wlr_buffer_drop(copy_);
        copy_ = nullptr;
    }
}

void GuestScanout::set_cursor(const gpu::Cursor& cursor, bool image_changed) {
    cursor_state_ = cursor;
    if (image_changed && cursor.visible && cursor.width > 0 && cursor.height > 0) {
        if (cursor_) {
            wlr_buffer_drop(cursor_);
        }
        cursor_ = create_pixel_buffer(static_cast<int>(cursor.width),
                                      static_cast<int>(cursor.height), DRM_FORMAT_ARGB8888);
        copy_guest_pixels(cursor_, cursor.pixels, cursor.width * gpu::proto::bytes_per_pixel,
                          cursor.format, {0, 0, cursor.width, cursor.height});
        wlr_scene_buffer_set_buffer(cursor_node_, cursor_);
    }
    place_cursor();
}

void GuestScanout::placed() {
    place_cursor();
    follow_output();
    schedule_tick();
}

// The cursor's hotspot sits where the guest put it on its scanout, scaled and cropped like the
// frame under it, and clipped to the frame: it never draws over a neighbouring zone.
void GuestScanout::place_cursor() {
    const auto& source = frame_node_->src_box;
    bool visible = cursor_state_.visible && cursor_ && frame_node_->buffer &&
                   frame_node_->dst_width > 0 && source.width > 0 && source.height > 0;
    if (visible) {
        double sx = frame_node_->dst_width / source.width;
        double sy = frame_node_->dst_height / source.height;
        // Scanout coordinates start at the content box's origin within the buffer.
        double origin_x = source.x - content_box().x;
        double origin_y = source.y - content_box().y;
        // The cursor image in the frame's destination coordinates.
        double left = (cursor_state_.x - static_cast<double>(cursor_state_.hot_x) - origin_x) * sx;
        double top = (cursor_state_.y - static_cast<double>(cursor_state_.hot_y) - origin_y) * sy;
        double right = left + cursor_->width * sx;
        double bottom = top + cursor_->height * sy;
        double clip_left = std::max(left, 0.0);
        double clip_top = std::max(top, 0.0);
        double clip_right = std::min(right, static_cast<double>(frame_node_->dst_width));
        double clip_bottom = std::min(bottom, static_cast<double>(frame_node_->dst_height));
        int width = static_cast<int>(std::lround(clip_right - clip_left));
        int height = static_cast<int>(std::lround(clip_bottom - clip_top));
        visible = width > 0 && height > 0;
        if (visible) {
            wlr_fbox crop{(clip_left - left) / sx, (clip_top - top) / sy,
                          (clip_right - clip_left) / sx, (clip_bottom - clip_top) / sy};
            wlr_scene_buffer_set_source_box(cursor_node_, &crop);
            wlr_scene_buffer_set_dest_size(cursor_node_, width, height);
            wlr_scene_node_set_position(
                &cursor_node_->node, frame_node_->node.x + static_cast<int>(std::lround(clip_left)),
                frame_node_->node.y + static_cast<int>(std::lround(clip_top)));
        }
    }
    wlr_scene_node_set_enabled(&cursor_node_->node, visible);
}

// The output that presents the zone, when it is enabled; null when the zone is hidden.
Output* GuestScanout::find_live_output() const {
    if (!in_zone_ || zone.empty()) {
        return nullptr;
    }
    auto box = zones_.zone_box(zone);
    if (!box || !box->first || !box->first->enabled()) {
        return nullptr;
    }
    return box->first;
}

std::chrono::nanoseconds GuestScanout::refresh_period() const {
    const Output* output = followed_;
    if (!output) {
        if (const auto* z = zones_.zone_for(*this)) {
            output = zones_.output_for(z->output);
        }
    }
    if (output && output->wlr()->refresh > 0) {
        return std::chrono::nanoseconds(1'000'000'000'000LL / output->wlr()->refresh);
    }
    return default_period;
}

// Listens to the commits and presents of the output showing the zone (none while hidden).
void GuestScanout::follow_output() {
    Output* output = find_live_output();
    if (output == followed_) {
        return;
    }
    followed_ = output;
    on_commit_.disconnect();
    on_present_.disconnect();
    on_output_destroy_.disconnect();
    if (!output) {
        return;
    }
    wlr_output* wlr = output->wlr();
    on_commit_.connect(&wlr->events.commit, [this](wlr_output_event_commit* event) {
        if (event->state->committed & WLR_OUTPUT_STATE_BUFFER) {
            pacer_.committed(event->output->commit_seq);
            schedule_tick();
        }
    });
    on_present_.connect(&wlr->events.present, [this](wlr_output_event_present* event) {
        auto when =
            event->presented && event->when ? steady_time(*event->when) : FramePacer::Clock::now();
        pacer_.presented(event->commit_seq, when);
        schedule_tick();
    });
    on_output_destroy_.connect(&wlr->events.destroy, [this](void*) {
        followed_ = nullptr;
        on_commit_.disconnect();
        on_present_.disconnect();
        on_output_destroy_.disconnect();
        pacer_.release_all();
    });
}

// Arms the pacer's timer for its next tick; a deadline already armed is left alone, so the
// commit and present of each frame usually cost no timer update.
void GuestScanout::schedule_tick() {
    auto now = FramePacer::Clock::now();
    auto next = pacer_.next_tick(now, followed_ != nullptr, refresh_period());
    if (!next) {
        if (pace_timer_.armed()) {
            pace_timer_.disarm();
        }
        return;
    }
    if (pace_timer_.armed() && tick_at_ == *next) {
        return;
    }
    tick_at_ = *next;
    auto delay = std::chrono::ceil<std::chrono::milliseconds>(*next - now);
    pace_timer_.arm(std::max(delay, std::chrono::milliseconds(1)));
}

void GuestScanout::tick() {
    follow_output();
    pacer_.tick(FramePacer::Clock::now(), followed_ != nullptr, refresh_period());
    schedule_tick();
}

} // namespace tessera::compositor
