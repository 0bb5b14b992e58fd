#pragma once

#include "blob_buffer.hpp"
#include "device_link.hpp"
#include "event_loop.hpp"
#include "frame_pacer.hpp"
#include "gpu-backend/virtio_gpu/device.hpp"
#include "listener.hpp"
#include "scene_tag.hpp"
#include "wlr.hpp"
#include "zone_content.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

namespace tessera::compositor {

class Output;
class ZoneScene;

// How a scanout's frames reach the screen.
enum class FramePath {
    none,
    dmabuf,      // guest memory (a blob, a 2D image in its backing) as a udmabuf dma-buf
    data_access, // guest memory mapped in place (no udmabuf)
    copy,        // a 2D image copied into a host buffer, at most once per output frame
    readback,    // a 3D frame the device process read back from its renderer, shown in place
};
std::string_view frame_path_name(FramePath path);

struct ScanoutStats {
    uint64_t frames = 0;                  // flushes (a flip is one)
    uint64_t presented = 0;               // frames the output presented
    uint64_t replaced = 0;                // frames replaced before any commit showed them
    uint64_t fences = 0;                  // fences signalled
    std::optional<double> latency_p50_ms; // flush to present
    std::optional<double> latency_p99_ms;
    uint64_t bytes_copied = 0; // by the CPU, on the host
    uint64_t blits = 0;        // times the renderer composited the frame into an output buffer
    FramePath path = FramePath::none;
    bool dmabuf_imported = false; // the renderer imported the blob's dma-buf (else: mapped it)
};

// One scanout (virtual display) of a guest as zone content. Guest memory the device lent (a
// blob, or a 2D image in its backing) is shown in place (BlobBuffer, no copy); any other 2D
// image (the device's host pixels) is copied into a host buffer: the union of what the guest
// flushed, once, just before an output frame shows it, so that frames the guest replaces before
// then cost no copy. The guest's cursor is drawn on top, scaled with the zone's fit. Frames are
// paced (FramePacer): fences are signalled when the zone's output presented the frame, or at a
// virtual vblank when the zone is not on an enabled output. When the guest stops showing anything
// (it disabled the scanout, rebooted, went away) the last frame stays for the zone's freeze
// timeout, then the zone shows its fallback.
class GuestScanout : public ZoneContent {
public:
    struct Hooks {
        std::function<void(int width, int height)> on_resize; // size of the zone it goes to
        std::function<void(gpu::ResponseToken)> signal_fence; // never called from add_fence()
        std::function<BlobBuffer*(const LentFrame&)> blob_buffer;
    };

    GuestScanout(ZoneScene& zones, wl_event_loop* loop, wlr_scene_tree* parent, std::string guest,
                 uint32_t index, Hooks hooks);
    ~GuestScanout() override;
    GuestScanout(const GuestScanout&) = delete;
    GuestScanout& operator=(const GuestScanout&) = delete;

    // From the guest's device (DeviceLinkEvents). `frame` null: the guest shows nothing.
    void show(const LentFrame* frame);
    void flush(gpu::proto::Rect damage);
    void set_cursor(const gpu::Cursor& cursor, bool image_changed);
    void add_fence(gpu::ResponseToken token);
    // The device was reset or replaced: its fences are gone unanswered.
    void forget_fences() { pacer_.forget_fences(); }

    [[nodiscard]] uint32_t index() const { return index_; }
    [[nodiscard]] bool enabled() const { return showing_; } // the guest shows a framebuffer
    [[nodiscard]] int width() const { return static_cast<int>(rect_.width); }
    [[nodiscard]] int height() const { return static_cast<int>(rect_.height); }
    [[nodiscard]] ScanoutStats stats() const;
    // The scanout pixel shown at a layout point, undoing the zone's fit and scaling; nullopt
    // where the scanout is not shown (letterbox bars, another zone, nothing shown) unless
    // `clamp`: then the nearest pixel at the picture's edge (a touch that began on it and moved
    // off). nullopt whenever the scanout shows nothing.
    [[nodiscard]] std::optional<std::pair<double, double>> pixel_at(double lx, double ly,
                                                                    bool clamp = false) const;
    // The scanout a scene node belongs to (its frame or its cursor), or null.
    static GuestScanout* from_node(wlr_scene_node* node);

    // The blob shown in place, if any (for tests and diagnostics).
    [[nodiscard]] const BlobBuffer* blob() const { return blob_; }

    ivi::ContentIdentity identity() const override;
    std::string describe() const override;
    wlr_scene_tree* content_tree() const override { return tree_; }
    wlr_surface* surface() const override { return nullptr; }
    // A blob buffer is the whole framebuffer; a copy only the part shown.
    [[nodiscard]] bool frame_copied() const override { return path_ == FramePath::copy; }
    wlr_box content_box() const override {
        return blob_ ? wlr_box{static_cast<int>(rect_.x), static_cast<int>(rect_.y), width(),
                               height()}
                     : wlr_box{0, 0, width(), height()};
    }
    wlr_scene_buffer* main_buffer() const override { return frame_node_; }
    bool ready() const override { return frame_node_->buffer != nullptr; }
    void configure_size(int width, int height) override;
    void placed() override;
    void prepare_frame() override { copy_flushed(); }

private:
    void show_copy(const LentFrame& frame);
    void show_blob(const LentFrame& frame);
    uint64_t copy_area(wlr_buffer* dst, std::span<const std::byte> pixels, uint32_t stride,
                       gpu::proto::Format format, gpu::proto::Rect area) const;
    void copy_flushed();
    void leave_blob();
    void freeze();
    void freeze_ended();
    void enter_zone(bool moved);
    void place_cursor();

    // Pacing: which output shows the zone, and the pacer's timer.
    Output* find_live_output() const;
    std::chrono::nanoseconds refresh_period() const;
    void follow_output();
    void schedule_tick();
    void tick();

    ZoneScene& zones_;
    SceneTag tag_{SceneTag::Kind::guest_scanout, this};
    std::string guest_;
    uint32_t index_;
    Hooks hooks_;
    wlr_scene_tree* tree_;
    wlr_scene_buffer* frame_node_;
    wlr_scene_buffer* cursor_node_;
    wlr_buffer* copy_ = nullptr; // ours: 2D frames, and a frozen blob frame
    // The host pixels copied into copy_ (a 2D resource's, lent by the device), and what of
    // them (framebuffer coordinates) the guest flushed since the last copy.
    std::shared_ptr<const gpu::BlobMemory> copy_source_;
    gpu::ScanoutImage copy_image_;
    pixman_region32_t to_copy_;
    BlobBuffer* blob_ = nullptr;   // the guest's cache owns it; the scene holds a lock
    wlr_buffer* cursor_ = nullptr; // ours; the scene holds its own lock while it shows it
    gpu::proto::Rect rect_;        // the part of the framebuffer the scanout shows
    bool showing_ = false;
    bool in_zone_ = false;
    gpu::Cursor cursor_state_;
    FramePath path_ = FramePath::none;
    bool flipped_ = false; // a blob flip whose damage comes with the next flush
    bool dmabuf_imported_ = false;
    uint64_t bytes_copied_ = 0;
    uint64_t blits_ = 0;
    Timer freeze_timer_;

    FramePacer pacer_;
    Timer pace_timer_;
    Output* followed_ = nullptr; // the zone's output while it is enabled and shows the zone
    FramePacer::Clock::time_point tick_at_; // what pace_timer_ is armed for
    Listener<wlr_output_event_commit> on_commit_;
    Listener<wlr_output_event_present> on_present_;
    Listener<void> on_output_destroy_;
    Listener<wlr_scene_output_sample_event> on_sample_;
};

} // namespace tessera::compositor
