#include "layout.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <format>

namespace tessera::ivi {

std::optional<PlanesMode> parse_planes_mode(std::string_view text) {
    for (auto mode : {PlanesMode::automatic, PlanesMode::off, PlanesMode::force}) {
        if (planes_mode_name(mode) == text) {
            return mode;
        }
    }
    return std::nullopt;
}

std::string_view planes_mode_name(PlanesMode mode) {
    switch (mode) {
    case PlanesMode::automatic:
        return "auto";
    case PlanesMode::off:
        return "off";
    case PlanesMode::force:
        return "force";
    }
    return "auto";
}

bool Rule::matches(const ContentIdentity& content) const {
    if (ivi_id &&
        (!content.ivi_id || *content.ivi_id < ivi_id->first || *content.ivi_id > ivi_id->second)) {
        return false;
    }
    if (app_id && (!content.app_id || fnmatch(app_id->c_str(), content.app_id->c_str(), 0) != 0)) {
        return false;
    }
    if (guest && content.guest != guest) {
        return false;
    }
    if (scanout && content.scanout != scanout) {
        return false;
    }
    return ivi_id || app_id || guest || scanout;
}

const ZoneSpec* Layout::find_zone(std::string_view name) const {
    auto it = std::ranges::find(zones, name, &ZoneSpec::name);
    return it == zones.end() ? nullptr : &*it;
}

const Profile* Layout::find_profile(std::string_view name) const {
    auto it = std::ranges::find(profiles, name, &Profile::name);
    return it == profiles.end() ? nullptr : &*it;
}

const OutputSpec* Layout::find_output(std::string_view key) const {
    auto it = std::ranges::find(outputs, key, &OutputSpec::key);
    return it == outputs.end() ? nullptr : &*it;
}

std::string_view input_kind_name(InputKind kind) {
    switch (kind) {
    case input_touch:
        return "touch";
    case input_pointer:
        return "pointer";
    case input_keyboard:
        return "keyboard";
    default:
        return "none";
    }
}

std::vector<GuestInputDevice> input_devices(const GuestSpec& guest) {
    std::string_view base = guest.socket;
    if (base.ends_with(".sock")) {
        base.remove_suffix(5);
    }
    std::vector<GuestInputDevice> devices;
    if (guest.input & input_touch) {
        for (int i = 0; i < guest.scanouts; ++i) {
            devices.push_back({input_touch, i, std::format("{}-touch-{}.sock", base, i)});
        }
    }
    if (guest.input & input_pointer) {
        devices.push_back({input_pointer, 0, std::format("{}-pointer.sock", base)});
    }
    if (guest.input & input_keyboard) {
        devices.push_back({input_keyboard, 0, std::format("{}-keyboard.sock", base)});
    }
    return devices;
}

const GuestSpec* Layout::find_guest(std::string_view name) const {
    auto it = std::ranges::find(guests, name, &GuestSpec::name);
    return it == guests.end() ? nullptr : &*it;
}

const Profile* Layout::profile_for_outputs(const std::vector<std::string>& present) const {
    auto it = std::ranges::find_if(profiles, [&](const Profile& profile) {
        return !profile.when_outputs.empty() && profile.when_outputs == present;
    });
    return it == profiles.end() ? nullptr : &*it;
}

std::optional<std::string> Layout::zone_for(const ContentIdentity& content) const {
    for (const auto& rule : rules) {
        if (rule.matches(content)) {
            return rule.zone;
        }
    }
    return default_zone;
}

} // namespace tessera::ivi
