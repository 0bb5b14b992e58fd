#pragma once

#include "event_loop.hpp"
#include "ivi/zone_model.hpp"
#include "scene_tag.hpp"
#include "wlr.hpp"
#include "zone_content.hpp"
#include "zone_verifier.hpp"
#include "zone_watchdog.hpp"

#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tessera::compositor {

class Output;
class Server;

// A zone's content that a hardware plane of its output might show instead of composition.
struct PlaneCandidate {
    ZoneContent* content;
    wlr_scene_buffer* buffer; // content->main_buffer()
    std::string zone;
    ivi::PlanesMode mode; // automatic or force
    int priority;
};

// How a zone's frames reached the screen: scanned out from a plane, composited by the
// renderer (one blit), or copied by tessera first (a 2D guest resource) and then composited.
enum class FramePathKind { plane, blit, copy };
std::string_view frame_path_kind_name(FramePathKind kind);
struct ZoneFramePaths {
    uint64_t plane = 0;
    uint64_t blit = 0;
    uint64_t copy = 0;
    // Output frames that composited new blitted or copied frames of the zone: below
    // blit + copy when guest frames were replaced before an output frame showed them.
    uint64_t composited = 0;
    std::optional<FramePathKind> last;
};

// The zones of the layout in the scene: a tree per zone with its background and fallback,
// positioned on its output, and the content placed in it with the zone's fit mode.
// Every change goes through the zone model and reaches the scene in one commit, so no frame
// shows half of a change.
class ZoneScene {
public:
    ZoneScene(Server& server, ivi::Layout layout);
    ~ZoneScene();
    ZoneScene(const ZoneScene&) = delete;
    ZoneScene& operator=(const ZoneScene&) = delete;

    [[nodiscard]] ivi::ZoneModel& model() { return model_; }
    [[nodiscard]] const ivi::ZoneModel& model() const { return model_; }

    // Applies the model's staged changes to the scene; true if anything changed.
    bool commit();
    // Outputs were added, removed, resized or moved.
    void outputs_changed();
    // The output a layout output key maps to, if present.
    [[nodiscard]] Output* output_for(const std::string& key) const;
    // A zone's rectangle in layout coordinates, with its output; nullopt when not shown.
    [[nodiscard]] std::optional<std::pair<Output*, wlr_box>> zone_box(std::string_view zone) const;

    // Content: added once it can be shown, removed before it goes away.
    void add(ZoneContent* content);
    void remove(ZoneContent* content);
    // After each commit of the content's surface: size and buffers may have changed.
    void content_committed(ZoneContent* content);
    std::expected<void, std::string> move(ZoneContent* content, const std::string& zone);
    // The zone content would go to, before it is added (for its first configure).
    [[nodiscard]] const ivi::Zone* zone_for(const ZoneContent& content) const;
    [[nodiscard]] const std::vector<ZoneContent*>& contents() const { return contents_; }
    [[nodiscard]] ZoneContent* find_content(uint64_t id) const;

    // Planes: the layout's mode for an output (auto when the layout does not name it), the
    // content that could go onto its planes, and how each zone's frames were shown.
    [[nodiscard]] ivi::PlanesMode output_planes(const Output& output) const;
    [[nodiscard]] std::vector<PlaneCandidate> plane_candidates(const Output& output) const;
    // After a commit of `output`: counts the frames its zones' content brought since the last
    // one, each by the path it took.
    void count_frame_paths(const Output& output);
    // Before `output` composites a frame: the contents it shows update their buffers.
    void prepare_frame(const Output& output);
    [[nodiscard]] const std::map<std::string, ZoneFramePaths, std::less<>>& frame_paths() const {
        return frame_paths_;
    }

    // Zones whose content stopped sending frames (watchdog-ms): they show their fallback.
    [[nodiscard]] const ZoneWatchdog& watchdog() const { return watchdog_; }
    // Checks that output frames show what verified zones must show.
    [[nodiscard]] ZoneVerifier& verifier() { return verifier_; }

    // Whether the zone holding a scene node passes this kind of input on (nodes outside zones
    // always do).
    [[nodiscard]] bool accepts_input(wlr_scene_node* node, ivi::InputKind kind) const;
    // Turns coordinates relative to a content's main surface node into surface coordinates,
    // undoing the zone's scaling and cropping.
    void to_surface_coords(wlr_surface* surface, double& sx, double& sy) const;

private:
    struct ZoneNode {
        SceneTag tag{SceneTag::Kind::zone, this};
        ivi::Zone state;
        wlr_scene_tree* tree = nullptr;
        wlr_scene_rect* background = nullptr;
        wlr_scene_rect* fallback = nullptr;
        wlr_scene_buffer* fallback_image = nullptr;
        std::string fallback_image_path;
        wlr_scene_tree* content = nullptr;
    };
    // How a content's main surface is scaled, for input.
    struct Scaling {
        double sx = 1, sy = 1, ox = 0, oy = 0;
    };

    ZoneNode& node_for(const ivi::Zone& zone);
    void update_node(ZoneNode& node, const ivi::Zone& zone);
    // Shows the content, or the fallback while there is none or the content stalled.
    void update_fallback(ZoneNode& node);
    void content_frame(ZoneContent* content);
    void check_watchdog();
    void arm_watchdog();
    void report_stall(const ZoneWatchdog::Change& change);
    // `content` goes from its zone to `zone` ("": none).
    void report_zone_content(const ZoneContent& content, const std::string& zone);
    void assign(ZoneContent* content);
    void place(ZoneContent* content);
    [[nodiscard]] ZoneNode* node_of(const ZoneContent& content) const;

    Server& server_;
    ivi::ZoneModel model_;
    wlr_scene_tree* hidden_; // content without a zone
    std::map<std::string, std::unique_ptr<ZoneNode>, std::less<>> nodes_;
    std::vector<ZoneContent*> contents_;
    std::map<wlr_surface*, Scaling> scaling_;
    std::map<std::string, ZoneFramePaths, std::less<>> frame_paths_;
    std::map<const ZoneContent*, uint64_t> frames_counted_;
    std::string profile_; // the one last reported
    ZoneWatchdog watchdog_;
    Timer watchdog_timer_;
    ZoneVerifier verifier_{server_, *this};
};

} // namespace tessera::compositor
