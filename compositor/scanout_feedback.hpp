#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>

namespace tessera::compositor {

// What the DRM backend reports about a layer whose buffer the planes refused: the device and
// the formats of the planes that could have shown it (wlr_output_layer feedback event).
class PlaneFormats {
public:
    PlaneFormats() = default;
    ~PlaneFormats();
    PlaneFormats(const PlaneFormats&) = delete;
    PlaneFormats& operator=(const PlaneFormats&) = delete;

    void assign(const wlr_output_layer_feedback_event& event);
    [[nodiscard]] bool empty() const { return serial_ == 0; }
    // Changes with every assign, across all instances: which report a surface was told.
    [[nodiscard]] uint64_t serial() const { return serial_; }
    [[nodiscard]] wlr_output_layer_feedback_event event() const;

private:
    dev_t target_ = 0;
    wlr_drm_format_set formats_{};
    uint64_t serial_ = 0;
};

// linux-dmabuf feedback of native surfaces that a plane could show: when the planes refuse a
// surface's buffer, the surface is told the formats they take, in a scanout tranche ahead of
// the renderer's formats, so that its client can allocate buffers a plane scans out. When the
// surface is no longer a plane candidate it goes back to the default feedback.
class ScanoutFeedback {
public:
    ScanoutFeedback(wlr_linux_dmabuf_v1* linux_dmabuf, wlr_renderer* renderer);
    ~ScanoutFeedback();
    ScanoutFeedback(const ScanoutFeedback&) = delete;
    ScanoutFeedback& operator=(const ScanoutFeedback&) = delete;

    // Sends `surface` a scanout tranche for `output`'s planes, unless it has this one already.
    void offer(wlr_surface* surface, const wlr_output* output, const PlaneFormats& formats);
    // Surfaces that `output` gave a scanout tranche and that are not in `candidates` get the
    // default feedback again.
    void keep_only(const wlr_output* output, const std::set<const wlr_surface*>& candidates);
    // How many surfaces have a scanout tranche now.
    [[nodiscard]] size_t surfaces() const { return told_.size(); }

private:
    struct Told {
        const wlr_output* output = nullptr;
        uint64_t serial = 0;
        Listener<void> destroyed;
    };
    void withdraw(wlr_surface* surface);

    wlr_linux_dmabuf_v1* linux_dmabuf_;
    wlr_renderer* renderer_;
    std::map<wlr_surface*, std::unique_ptr<Told>> told_;
};

} // namespace tessera::compositor
