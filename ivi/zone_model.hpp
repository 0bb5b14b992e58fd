#pragma once

#include "layout.hpp"

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::ivi {

// A zone as it stands: the layout's zone with the active profile and run-time changes applied,
// and its rectangle resolved in pixels relative to its output's origin.
struct Zone {
    std::string name;
    std::string output; // OutputSpec key
    Rect rect;          // empty while its output is absent
    int z = 0;
    Color background;
    FitMode fit = FitMode::fit;
    double opacity = 1.0;
    bool visible = true;
    uint32_t input = input_all;
    int plane_priority = 0;
    std::optional<PlanesMode> planes; // unset: the output's
    Fallback fallback;
    std::chrono::milliseconds freeze_timeout{1000};
    std::chrono::milliseconds watchdog{0}; // 0: off
    uint32_t verify_every = 0;             // frames; 0: off
    bool floating = false;
    bool operator==(const Zone&) const = default;
};

// The zones of a layout and the changes made to them. Changes (profile switch, run-time
// visibility, opacity and geometry, output sizes, a new layout) are staged and become visible
// together at commit(): a reader never sees a half-applied layout.
class ZoneModel {
public:
    explicit ZoneModel(Layout layout);

    // Committed state: zones from bottom to top (z, then declaration order).
    [[nodiscard]] const std::vector<Zone>& zones() const { return zones_; }
    [[nodiscard]] const Zone* find(std::string_view name) const;
    [[nodiscard]] const Layout& layout() const { return committed_.layout; }
    [[nodiscard]] const std::string& profile() const { return committed_.profile; }
    // Counts the commits that changed something.
    [[nodiscard]] uint64_t serial() const { return serial_; }

    // Staged changes. A profile switch drops earlier run-time changes.
    std::expected<void, std::string> set_profile(std::string_view name);
    std::expected<void, std::string> set_visible(std::string_view zone, bool visible);
    std::expected<void, std::string> set_opacity(std::string_view zone, double opacity);
    std::expected<void, std::string> set_rect(std::string_view zone, const RectSpec& rect);
    // Size of an output in layout space; nullopt when it is absent.
    void set_output_size(std::string_view output_key, std::optional<Size> size);
    // After output sizes were set: when the set of present outputs changed since the last call
    // (or the layout did) and a profile names exactly that set, stages a switch to it, and
    // returns it. Between such changes the profile stays as chosen (by name or by outputs).
    const Profile* follow_outputs();
    // A new layout (a reload): keeps the active profile if the new layout has it, drops
    // run-time changes.
    void replace_layout(Layout layout);
    void discard();

    // Applies every staged change at once; true when the zones changed.
    bool commit();

private:
    struct State {
        Layout layout;
        std::string profile;
        std::map<std::string, ZoneOverride, std::less<>> runtime;
        std::map<std::string, Size, std::less<>> output_sizes;
    };
    static std::vector<Zone> resolve(const State& state);
    std::expected<void, std::string> check_zone(std::string_view zone) const;

    std::optional<std::vector<std::string>> outputs_followed_; // present keys at the last call
    State pending_;
    State committed_;
    std::vector<Zone> zones_;
    uint64_t serial_ = 0;
};

} // namespace tessera::ivi
