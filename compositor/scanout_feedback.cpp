#include "scanout_feedback.hpp"

#include "log_scopes.hpp"

#include <vector>

namespace tessera::compositor {

namespace {
uint64_t next_serial = 1; // the compositor's thread only
} // namespace

PlaneFormats::~PlaneFormats() {
    wlr_drm_format_set_finish(&formats_);
}

void PlaneFormats::assign(const wlr_output_layer_feedback_event& event) {
    const wlr_drm_format_set none{};
    // The union with nothing is a copy (it replaces what formats_ held).
    if (!wlr_drm_format_set_union(&formats_, event.formats, &none)) {
        return;
    }
    target_ = event.target_device;
    serial_ = next_serial++;
}

wlr_output_layer_feedback_event PlaneFormats::event() const {
    return {.target_device = target_, .formats = &formats_};
}

ScanoutFeedback::ScanoutFeedback(wlr_linux_dmabuf_v1* linux_dmabuf, wlr_renderer* renderer)
    : linux_dmabuf_(linux_dmabuf), renderer_(renderer) {}

ScanoutFeedback::~ScanoutFeedback() = default;

void ScanoutFeedback::offer(wlr_surface* surface, const wlr_output* output,
                            const PlaneFormats& formats) {
    if (formats.empty()) {
        return;
    }
    auto it = told_.find(surface);
    if (it != told_.end() && it->second->output == output &&
        it->second->serial == formats.serial()) {
        return;
    }
    auto event = formats.event();
    wlr_linux_dmabuf_feedback_v1_init_options options{};
    options.main_renderer = renderer_;
    options.output_layer_feedback_event = &event;
    wlr_linux_dmabuf_feedback_v1 feedback{};
    // Fails when no plane format is one the renderer can also read: nothing to tell then.
    bool built = wlr_linux_dmabuf_feedback_v1_init_with_options(&feedback, &options);
    bool sent =
        built && wlr_linux_dmabuf_v1_set_surface_feedback(linux_dmabuf_, surface, &feedback);
    if (built) {
        wlr_linux_dmabuf_feedback_v1_finish(&feedback);
    }
    if (!sent) {
        log::debug(plane_log, "output {}: no scanout tranche for a surface", output->name);
        return;
    }
    if (it == told_.end()) {
        it = told_.emplace(surface, std::make_unique<Told>()).first;
        it->second->destroyed.connect(&surface->events.destroy,
                                      [this, surface](void*) { told_.erase(surface); });
    }
    it->second->output = output;
    it->second->serial = formats.serial();
    log::info(plane_log, "output {}: told a client which formats its planes take ({} formats)",
              output->name, event.formats->len);
}

void ScanoutFeedback::withdraw(wlr_surface* surface) {
    wlr_linux_dmabuf_v1_set_surface_feedback(linux_dmabuf_, surface, nullptr);
    told_.erase(surface);
}

void ScanoutFeedback::keep_only(const wlr_output* output,
                                const std::set<const wlr_surface*>& candidates) {
    std::vector<wlr_surface*> stale;
    for (auto& [surface, told] : told_) {
        if (told->output == output && !candidates.contains(surface)) {
            stale.push_back(surface);
        }
    }
    for (auto* surface : stale) {
        log::debug(plane_log, "output {}: a surface is no plane candidate: default feedback",
                   output->name);
        withdraw(surface);
    }
}

} // namespace tessera::compositor
