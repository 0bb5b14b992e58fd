#include "zone_model.hpp"

#include <algorithm>
#include <format>

namespace tessera::ivi {

ZoneModel::ZoneModel(Layout layout) {
    pending_.profile = layout.initial_profile;
    pending_.layout = std::move(layout);
    commit();
}

const Zone* ZoneModel::find(std::string_view name) const {
    auto it = std::ranges::find(zones_, name, &Zone::name);
    return it == zones_.end() ? nullptr : &*it;
}

std::expected<void, std::string> ZoneModel::check_zone(std::string_view zone) const {
    if (!pending_.layout.find_zone(zone)) {
        return std::unexpected(std::format("no zone named '{}'", zone));
    }
    return {};
}

std::expected<void, std::string> ZoneModel::set_profile(std::string_view name) {
    if (!name.empty() && !pending_.layout.find_profile(name)) {
        return std::unexpected(std::format("no profile named '{}'", name));
    }
    pending_.profile = name;
    pending_.runtime.clear();
    return {};
}

std::expected<void, std::string> ZoneModel::set_visible(std::string_view zone, bool visible) {
    return check_zone(zone).transform(
        [&] { pending_.runtime[std::string(zone)].visible = visible; });
}

std::expected<void, std::string> ZoneModel::set_opacity(std::string_view zone, double opacity) {
    if (!(opacity >= 0.0 && opacity <= 1.0)) {
        return std::unexpected(std::format("opacity must be between 0 and 1, not {}", opacity));
    }
    return check_zone(zone).transform(
        [&] { pending_.runtime[std::string(zone)].opacity = opacity; });
}

std::expected<void, std::string> ZoneModel::set_rect(std::string_view zone, const RectSpec& rect) {
    if ((rect.width.value <= 0) || (rect.height.value <= 0)) {
        return std::unexpected(std::string("a zone's width and height must be positive"));
    }
    return check_zone(zone).transform([&] { pending_.runtime[std::string(zone)].rect = rect; });
}

void ZoneModel::set_output_size(std::string_view output_key, std::optional<Size> size) {
    if (size) {
        pending_.output_sizes[std::string(output_key)] = *size;
    } else if (auto it = pending_.output_sizes.find(output_key);
               it != pending_.output_sizes.end()) {
        pending_.output_sizes.erase(it);
    }
}

const Profile* ZoneModel::follow_outputs() {
    std::vector<std::string> present; // sorted: output_sizes is an ordered map
    for (const auto& [key, size] : pending_.output_sizes) {
        present.push_back(key);
    }
    if (outputs_followed_ == present) {
        return nullptr;
    }
    outputs_followed_ = present;
    const auto* profile = pending_.layout.profile_for_outputs(present);
    if (!profile || profile->name == pending_.profile) {
        return nullptr;
    }
    pending_.profile = profile->name;
    pending_.runtime.clear();
    return profile;
}

void ZoneModel::replace_layout(Layout layout) {
    outputs_followed_.reset();
    if (!layout.find_profile(pending_.profile)) {
        pending_.profile = layout.initial_profile;
    }
    pending_.layout = std::move(layout);
    pending_.runtime.clear();
}

void ZoneModel::discard() {
    pending_ = committed_;
}

bool ZoneModel::commit() {
    auto zones = resolve(pending_);
    committed_ = pending_;
    if (zones == zones_) {
        return false;
    }
    zones_ = std::move(zones);
    ++serial_;
    return true;
}

std::vector<Zone> ZoneModel::resolve(const State& state) {
    const Profile* profile = state.layout.find_profile(state.profile);
    std::vector<Zone> zones;
    zones.reserve(state.layout.zones.size());
    for (const auto& spec : state.layout.zones) {
        // Layers of overrides: the zone as declared, then the profile, then run-time changes.
        RectSpec rect = spec.rect;
        Zone zone{spec.name,
                  spec.output,
                  {},
                  spec.z,
                  spec.background,
                  spec.fit,
                  spec.opacity,
                  spec.visible,
                  spec.input,
                  spec.plane_priority,
                  spec.planes,
                  spec.fallback,
                  spec.freeze_timeout,
                  spec.watchdog,
                  spec.verify_every,
                  spec.floating};
        auto apply = [&](const ZoneOverride& change) {
            rect = change.rect.value_or(rect);
            zone.visible = change.visible.value_or(zone.visible);
            zone.opacity = change.opacity.value_or(zone.opacity);
            zone.z = change.z.value_or(zone.z);
            zone.planes = change.planes ? change.planes : zone.planes;
        };
        if (profile) {
            if (auto it = profile->zones.find(spec.name); it != profile->zones.end()) {
                apply(it->second);
            }
        }
        if (auto it = state.runtime.find(spec.name); it != state.runtime.end()) {
            apply(it->second);
        }
        // The first present of its outputs; with none present, its own, with an empty
        // rectangle.
        auto present = [&](const std::string& key) { return state.output_sizes.contains(key); };
        const std::string* chosen = &spec.output;
        if (!present(spec.output)) {
            if (auto it = std::ranges::find_if(spec.fallback_outputs, present);
                it != spec.fallback_outputs.end()) {
                chosen = &*it;
            }
        }
        if (auto size = state.output_sizes.find(*chosen); size != state.output_sizes.end()) {
            zone.output = *chosen;
            zone.rect = rect.resolve(size->second);
        }
        zones.push_back(std::move(zone));
    }
    // Stable: equal z keeps declaration order.
    std::ranges::stable_sort(zones, {}, &Zone::z);
    return zones;
}

} // namespace tessera::ivi
