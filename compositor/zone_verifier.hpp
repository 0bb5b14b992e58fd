#pragma once

#include "ivi/zone_model.hpp"
#include "util/image.hpp"
#include "wlr.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::compositor {

class Output;
class Server;
class ZoneContent;
class ZoneScene;

// Checks that what an output committed holds what a zone must show: its content's frame, pixel
// for pixel where the content is shown unscaled; for content on a hardware plane, that the plane
// was given the content's buffer at the content's place in the zone; or its fallback colour.
// Zones with `verify-every` are checked every that many frames of their output; any zone once
// on request (tessera-ctl verify). A mismatch is published as a verify-failed health event.
class ZoneVerifier {
public:
    enum class Verdict { match, mismatch, unchecked };
    struct Outcome {
        Verdict verdict = Verdict::unchecked;
        std::string shown;  // "content", "plane" or "fallback"
        std::string detail; // what differs, or why it cannot be checked
        int checked = 0;    // pixels compared
        int mismatched = 0;
        std::optional<std::pair<int, int>> first; // first mismatched pixel, zone coordinates
        uint64_t frame = 0;                       // the output's committed frame
        double cost_us = 0;                       // time the check took
    };
    struct Stats {
        uint64_t checks = 0; // match or mismatch
        uint64_t mismatches = 0;
        uint64_t unchecked = 0;
        double cost_us_total = 0; // over checks
        std::optional<Outcome> last;
    };
    using Callback = std::function<void(const std::string& zone, const Outcome&)>;

    ZoneVerifier(Server& server, ZoneScene& scene);

    // Before `output` renders a frame: the zones on it due for a check are repainted whole in it,
    // and their content's pixels taken as they are read for it (a guest's memory shown in place
    // may change any time after).
    void prepare_frame(Output& output);
    // `output` committed `frame` (its primary buffer) for that frame: checks the zones due.
    void frame_committed(Output& output, wlr_buffer* frame);
    // Checks `zone` in its output's next frame (which is then repainted whole).
    std::expected<void, std::string> request(std::string_view zone, Callback done);
    // Zones changed: requests for zones no longer on screen are answered.
    void zones_changed();

    [[nodiscard]] const std::map<std::string, Stats, std::less<>>& stats() const { return stats_; }

private:
    // The content's pixels taken in prepare_frame(), by zone; nullopt: nothing to take.
    using Snapshot = std::optional<Image>;
    Outcome verify(const ivi::Zone& zone, const Output& output, wlr_buffer* frame,
                   const wlr_box& zone_box, const Snapshot& snapshot) const;
    Outcome verify_content(const ivi::Zone& zone, const Output& output, wlr_buffer* frame,
                           const wlr_box& zone_box, const ZoneContent& content,
                           const Snapshot& snapshot) const;
    [[nodiscard]] const ZoneContent* shown_content(const ivi::Zone& zone, int* count) const;
    Outcome verify_fallback(const ivi::Zone& zone, const Output& output, wlr_buffer* frame,
                            const wlr_box& zone_box) const;
    void record(const std::string& zone, const Output& output, const Outcome& outcome);

    Server& server_;
    ZoneScene& scene_;
    std::map<std::string, uint64_t, std::less<>> frames_; // output frames since the last check
    std::map<std::string, Snapshot, std::less<>> due_;    // checked in the frame being made
    std::map<std::string, std::vector<Callback>, std::less<>> requests_;
    std::map<std::string, Stats, std::less<>> stats_;
};

std::string_view verdict_name(ZoneVerifier::Verdict verdict);

} // namespace tessera::compositor
