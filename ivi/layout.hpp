#pragma once

#include "fit.hpp"
#include "geometry.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// A layout as described by a layout file (see data/layouts/README.md): outputs, zones, named
// profiles that change zones' geometry and visibility, and rules that assign content to zones.
namespace tessera::ivi {

// Which input a zone passes on to its content.
enum InputKind : uint32_t {
    input_none = 0,
    input_touch = 1u << 0,
    input_pointer = 1u << 1,
    input_keyboard = 1u << 2,
    input_all = input_touch | input_pointer | input_keyboard,
};

// Whether content may be scanned out from a hardware plane instead of being composited.
// auto: when it can be shown exactly (opaque, nothing composited above it); off: always
// composited; force: ahead of every auto zone, even with composited content above it (which
// the plane then hides).
enum class PlanesMode { automatic, off, force };
std::optional<PlanesMode> parse_planes_mode(std::string_view text);
std::string_view planes_mode_name(PlanesMode mode);

// What a zone shows while it has no content.
struct Fallback {
    Color color{0, 0, 0, 1};
    std::string image; // PNG path (relative paths are relative to the layout file); optional
    bool operator==(const Fallback&) const = default;
};

struct ZoneSpec {
    std::string name;
    std::string output; // key of an OutputSpec
    // Where the zone goes while `output` is absent: the first of these that is present.
    std::vector<std::string> fallback_outputs;
    RectSpec rect;
    int z = 0; // higher is above; equal z: declaration order
    Color background{0, 0, 0, 1};
    FitMode fit = FitMode::fit;
    double opacity = 1.0;
    bool visible = true;
    uint32_t input = input_all;
    int plane_priority = 0;           // higher gets a hardware plane first
    std::optional<PlanesMode> planes; // unset: the output's
    Fallback fallback;
    std::chrono::milliseconds freeze_timeout{1000};
    // Content that stays connected but sends no new frame for this long while the zone is
    // shown is stalled: the zone shows its fallback until the next frame. 0: off (content may
    // legitimately stay still).
    std::chrono::milliseconds watchdog{0};
    // Every this many of its output's frames, check that the frame holds what the zone must
    // show (its content's pixels, or its fallback colour). 0: off.
    uint32_t verify_every = 0;
    // Floating zones hold ordinary windows at their own size, like a desktop; other zones
    // configure their content to the zone's size and place it with `fit`.
    bool floating = false;
    bool operator==(const ZoneSpec&) const = default;
};

// A physical output, matched by connector name, or else by its position among the outputs.
struct OutputSpec {
    std::string key; // the name zones refer to it by
    std::optional<std::string> connector;
    std::optional<int> index;
    // The default of its zones; off composites everything on it, whatever its zones say.
    PlanesMode planes = PlanesMode::automatic;
    bool operator==(const OutputSpec&) const = default;
};

// What a profile or a run-time command changes in one zone.
struct ZoneOverride {
    std::optional<RectSpec> rect;
    std::optional<bool> visible;
    std::optional<double> opacity;
    std::optional<int> z;
    std::optional<PlanesMode> planes;
    bool operator==(const ZoneOverride&) const = default;
};

struct Profile {
    std::string name;
    std::map<std::string, ZoneOverride> zones;
    // Chosen by itself when exactly these outputs (keys, sorted) are present, like kanshi's
    // profiles; empty: only by name.
    std::vector<std::string> when_outputs;
    bool operator==(const Profile&) const = default;
};

// Identity of a piece of content, as far as rules can tell.
struct ContentIdentity {
    std::optional<uint32_t> ivi_id;
    std::optional<std::string> app_id;
    std::optional<std::string> guest;
    std::optional<int> scanout;
};

// Assigns content to a zone when every given criterion matches.
struct Rule {
    std::string zone;
    std::optional<std::pair<uint32_t, uint32_t>> ivi_id; // inclusive range
    std::optional<std::string> app_id;                   // glob (*, ?, [...])
    std::optional<std::string> guest;
    std::optional<int> scanout;

    [[nodiscard]] bool matches(const ContentIdentity& content) const;
    bool operator==(const Rule&) const = default;
};

// A virtual machine whose virtio-gpu device tessera serves: its VMM connects to `socket` (QEMU
// vhost-user-gpu-pci); scanout N is content {guest = name, scanout = N} for the rules.
struct GuestSpec {
    std::string name;
    std::string socket; // absolute, or relative to $XDG_RUNTIME_DIR
    int scanouts = 1;   // 1 to 16
    // What the guest may make tessera allocate for its resources.
    uint32_t max_resources = 1024;
    uint32_t max_memory_mb = 256;
    // Who may connect, checked on the peer's credentials at accept: tessera's own user and
    // root always; besides them the users listed and members of the socket's group. The
    // socket's mode only lets them reach it: 0600, plus 060 with a group, plus 006 with users.
    uint32_t socket_mode = 0600;
    std::optional<uint32_t> socket_group; // a gid
    std::vector<uint32_t> allow_users;    // uids
    // The virtio-input devices it is given (QEMU vhost-user-input-pci), each on a socket of its
    // own beside `socket` (input_devices()): touch, a touchscreen per scanout; pointer, an
    // absolute pointer over scanout 0; keyboard.
    uint32_t input = input_none;
    // 3D (virgl): its device process runs a renderer on the host's GPU, or on the CPU.
    bool three_d = false;
    bool operator==(const GuestSpec&) const = default;
};

// One virtio-input device of a guest and the socket its VMM connects it to.
struct GuestInputDevice {
    InputKind kind;     // exactly one of input_touch, input_pointer, input_keyboard
    int scanout = 0;    // the scanout a touchscreen or the pointer covers
    std::string socket; // `socket` without ".sock", then "-touch-N.sock", "-pointer.sock"...
    bool operator==(const GuestInputDevice&) const = default;
};
std::vector<GuestInputDevice> input_devices(const GuestSpec& guest);
std::string_view input_kind_name(InputKind kind); // "touch", "pointer", "keyboard"

struct Layout {
    std::string source; // the file it came from, for messages
    std::vector<OutputSpec> outputs;
    std::vector<GuestSpec> guests;
    std::vector<ZoneSpec> zones; // in declaration order
    std::vector<Profile> profiles;
    std::vector<Rule> rules;                 // first match wins
    std::optional<std::string> default_zone; // for content no rule matches; none: hidden
    std::string initial_profile;             // empty: the zones as declared

    [[nodiscard]] const ZoneSpec* find_zone(std::string_view name) const;
    [[nodiscard]] const Profile* find_profile(std::string_view name) const;
    [[nodiscard]] const OutputSpec* find_output(std::string_view key) const;
    [[nodiscard]] const GuestSpec* find_guest(std::string_view name) const;
    // The first profile whose when_outputs are exactly `present` (sorted keys).
    [[nodiscard]] const Profile* profile_for_outputs(const std::vector<std::string>& present) const;
    // The zone content goes to; nullopt: hidden.
    [[nodiscard]] std::optional<std::string> zone_for(const ContentIdentity& content) const;
};

} // namespace tessera::ivi
