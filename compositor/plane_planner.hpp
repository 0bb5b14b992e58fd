#pragma once

#include "ivi/layout.hpp"
#include "listener.hpp"
#include "scanout_feedback.hpp"
#include "wlr.hpp"

#include <time.h>

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace tessera::compositor {

class Output;
class Server;
class ZoneContent;

// Puts zone content that is a dma-buf onto the output's hardware planes (wlroots output layers,
// libliftoff in the DRM backend) and composites the rest, one frame at a time.
//
// A plane's `accepted` is only known after a real commit, so content goes onto a plane in two
// steps: it is offered as a layer while still composited underneath (the plane, above the
// primary buffer, shows the same pixels), and it leaves the composited frame only in a later
// frame, once a commit accepted it with the same configuration. Whenever the set of offered
// layers grows or changes, every candidate is composited again for that one frame, since the
// kernel may then move any layer. A layer the planes refuse is not offered again until its
// configuration changes or a plane frees up.
//
// Frames whose scene did not change (only plane content did) commit the previous primary
// buffer again: nothing is rendered, and the commit stays non-blocking.
class PlanePlanner {
public:
    PlanePlanner(Server& server, Output& output);
    ~PlanePlanner();
    PlanePlanner(const PlanePlanner&) = delete;
    PlanePlanner& operator=(const PlanePlanner&) = delete;

    // Renders what changed, offers the candidates (none without a layout or with the output's
    // planes off), commits. `composite_all`: nothing on planes this frame (a screenshot reads
    // the primary buffer). False when the commit failed.
    bool commit_frame(bool composite_all);

    // Frame callbacks and presentation feedback of native surfaces on planes, which the scene
    // does not send (their nodes are disabled).
    void send_frame_done(const timespec& now);
    // A content's new frame: plane content damages nothing in the scene, so ask for a frame.
    void content_frame(const ZoneContent& content);
    [[nodiscard]] bool on_plane(const ZoneContent& content) const;
    // Content left out of the last composited frame for a plane: the buffer that commit gave
    // the plane and where (output coordinates), or why no plane showed it.
    struct PlaneShown {
        wlr_buffer* buffer = nullptr; // identity only
        wlr_box dst{};
        wlr_fbox src{};
    };
    [[nodiscard]] std::expected<PlaneShown, std::string>
    plane_shown(const ZoneContent& content) const;
    // The buffer a plane shows at a layout point, top-most first, with node-local coordinates
    // as wlr_scene_node_at gives them: its scene node is disabled, so the scene cannot find it.
    wlr_scene_buffer* buffer_at(double lx, double ly, double* nx, double* ny) const;

    [[nodiscard]] int planes_in_use() const { return static_cast<int>(accepted_.size()); }
    [[nodiscard]] int plane_budget() const { return budget_; }
    [[nodiscard]] uint64_t frames_composited() const { return frames_composited_; }

private:
    // What the kernel judges a layer by: if any of it changes, the layer is a new offer.
    struct LayerKey {
        uint32_t format = 0;
        uint64_t modifier = 0;
        int width = 0, height = 0;
        wlr_fbox src{};
        wlr_box dst{};
        size_t z = 0; // position among the offered layers
        bool operator==(const LayerKey& other) const;
        // What a refusal is remembered by: the layer's position does not matter.
        [[nodiscard]] LayerKey unplaced() const {
            LayerKey key = *this;
            key.z = 0;
            return key;
        }
    };
    struct Offer {
        LayerKey key;
        wlr_buffer* buffer = nullptr; // identity only: which frame the layer showed
    };
    struct Candidate;
    // An output layer, and what the DRM backend last said about buffers it refused on it.
    struct Layer {
        wlr_output_layer* layer = nullptr;
        PlaneFormats formats;
        Listener<wlr_output_layer_feedback_event> feedback;
    };

    std::vector<Candidate> candidates() const;
    std::vector<Candidate*> select(std::vector<Candidate>& all) const;
    void set_hidden(const std::set<uint64_t>& hidden);
    Layer& layer_for(uint64_t content_id);
    void hide_on_plane(const Candidate& candidate);
    void tell_formats(const Candidate& refused);
    void count_budget();
    [[nodiscard]] bool primary_plane_composited() const;
    void after_commit(const std::vector<Candidate*>& offered,
                      std::vector<wlr_output_layer_state>& states);

    Server& server_;
    Output& output_;
    int budget_ = 0;
    uint32_t primary_plane_ = 0;
    bool budget_known_ = false;
    std::vector<std::unique_ptr<Layer>> layers_; // created on demand, never fewer
    std::map<uint64_t, Layer*> layer_of_;        // content id -> its layer, stable
    std::map<uint64_t, Offer> offered_;          // last commit's offers
    std::map<uint64_t, LayerKey> accepted_;      // what the last commit put on planes
    std::map<uint64_t, LayerKey> refused_;       // not offered again while unchanged
    // Plane content with a new frame since the last commit: committed again even in the same
    // buffer (a guest drawing into the buffer on screen), so that the frame is presented.
    std::set<uint64_t> new_frames_;
    // Content left out of the composited frame: its buffer, and the node disabled for it
    // (forgotten when the node goes).
    struct Hidden {
        wlr_scene_buffer* buffer = nullptr;
        wlr_scene_node* node = nullptr;
        Listener<void> destroyed;
    };
    std::map<uint64_t, std::unique_ptr<Hidden>> hidden_;
    wlr_buffer* primary_ = nullptr; // last committed primary buffer, locked
    uint64_t frames_composited_ = 0;
};

} // namespace tessera::compositor
