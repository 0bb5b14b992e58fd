#include "layout_file.hpp"

#include <toml++/toml.hpp>

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <format>
#include <limits>
#include <memory>
#include <span>
#include <tuple>

namespace tessera::ivi {

std::string LayoutError::describe() const {
    std::string text = file;
    if (line > 0) {
        text += std::format(":{}", line);
        if (column > 0) {
            text += std::format(":{}", column);
        }
    }
    if (!text.empty()) {
        text += ": ";
    }
    if (!key.empty()) {
        text += key + ": ";
    }
    return text + message;
}

namespace {

// Limits for untrusted input: a layout file must not make the compositor spend unbounded memory
// or time, nor put unbounded text into its log.
constexpr size_t max_file_bytes = 1024 * 1024;
constexpr size_t max_outputs = 16;
constexpr size_t max_zones = 256;
constexpr size_t max_profiles = 64;
constexpr size_t max_rules = 1024;
constexpr size_t max_guests = 16;
constexpr int max_scanouts = 16;        // virtio-gpu's limit
constexpr size_t max_socket_path = 107; // sun_path, less its terminating NUL
constexpr size_t max_string_bytes = 256;
constexpr size_t max_zone_name = 32;
constexpr int max_pixels = 100000;
constexpr int max_percent = 1000;
constexpr uint32_t default_verify_every = 60; // once a second at 60 Hz
constexpr int64_t max_verify_every = 3600;
constexpr int64_t int_min = std::numeric_limits<int>::min();
constexpr int64_t int_max = std::numeric_limits<int>::max();

// Validation stops at the first problem. The readers below are nested several levels deep, so
// they throw this (never past parse_layout) instead of threading std::expected through every
// call; the file name is added where it is caught.
struct Invalid {
    LayoutError error;
};

[[noreturn]] void fail(const toml::source_region& where, std::string key, std::string message) {
    throw Invalid{{.file = {},
                   .line = static_cast<int>(where.begin.line),
                   .column = static_cast<int>(where.begin.column),
                   .key = std::move(key),
                   .message = std::move(message)}};
}

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

bool has_control(std::string_view text) {
    return std::ranges::any_of(text, is_control);
}

// Untrusted text in messages: shortened, with control characters replaced, in quotes.
std::string quote(std::string_view text) {
    constexpr size_t shown = 64;
    std::string out = "'";
    size_t end = std::min(text.size(), shown);
    while (end < text.size() && end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
        --end; // do not cut a UTF-8 sequence in half
    }
    for (char c : text.substr(0, end)) {
        out += is_control(c) ? '?' : c;
    }
    return out + (end < text.size() ? "...'" : "'");
}

std::string join(std::string_view path, std::string_view key) {
    auto name = key.empty() || key.size() > 64 || has_control(key) ? quote(key) : std::string(key);
    return path.empty() ? name : std::format("{}.{}", path, name);
}

std::string list(std::span<const std::string_view> words) {
    std::string out;
    for (auto word : words) {
        out += std::format("{}{}", out.empty() ? "" : ", ", word);
    }
    return out;
}

// A value in the document together with its dotted path, for messages.
struct Field {
    const toml::node* node = nullptr;
    std::string path;

    explicit operator bool() const { return node != nullptr; }
    [[noreturn]] void fail(std::string message) const {
        ivi::fail(node->source(), path, std::move(message));
    }
};

Field field(const toml::table& table, std::string_view path, std::string_view key) {
    return {table.get(key), join(path, key)};
}

Field required(const toml::table& table, std::string_view path, std::string_view key) {
    auto found = field(table, path, key);
    if (!found) {
        fail(table.source(), found.path, std::format("missing required key '{}'", key));
    }
    return found;
}

std::string_view type_name(toml::node_type type) {
    switch (type) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a float";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time";
    case toml::node_type::date_time:
        return "a date-time";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

[[noreturn]] void fail_type(const Field& f, std::string_view expected) {
    f.fail(std::format("expected {}, got {}", expected, type_name(f.node->type())));
}

// Table entries in the order they appear in the file (toml++ iterates in key order).
struct Entry {
    const toml::key* key;
    const toml::node* node;
};

std::vector<Entry> in_file_order(const toml::table& table) {
    std::vector<Entry> entries;
    for (auto&& [key, node] : table) {
        entries.push_back({&key, &node});
    }
    auto position = [](const Entry& e) {
        auto node = e.node->source().begin, key = e.key->source().begin;
        return std::tuple(node.line, node.column, key.line, key.column);
    };
    std::ranges::stable_sort(entries, {}, position);
    return entries;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The accepted key that `name` is probably a typo of.
std::optional<std::string_view> closest(std::string_view name,
                                        std::span<const std::string_view> accepted) {
    if (name.size() > 64) {
        return std::nullopt; // not a typo, and too long to compare cheaply
    }
    auto distance = [&](std::string_view word) { return edit_distance(name, word); };
    auto best = std::ranges::min(accepted, {}, distance);
    // A one-letter key is no more likely a typo of 'x' than of anything else.
    size_t errors = distance(best);
    return errors <= 2 && errors * 2 <= name.size() ? std::optional(best) : std::nullopt;
}

// Unknown keys are errors, so that a misspelt key does not silently keep its default.
void check_keys(const toml::table& table, std::string_view path,
                std::span<const std::string_view> accepted) {
    for (const auto& [key, node] : in_file_order(table)) {
        auto name = key->str();
        if (std::ranges::contains(accepted, name)) {
            continue;
        }
        auto message = std::format("unknown key {}", quote(name));
        if (auto guess = closest(name, accepted)) {
            message += std::format("; did you mean '{}'?", *guess);
        }
        fail(key->source(), join(path, name),
             message + std::format(" (accepted keys: {})", list(accepted)));
    }
}

const toml::table& read_table(const Field& f) {
    if (!f.node->is_table()) {
        fail_type(f, "a table");
    }
    return *f.node->as_table();
}

std::string read_string(const Field& f) {
    if (!f.node->is_string()) {
        fail_type(f, "a string");
    }
    const auto& text = f.node->as_string()->get();
    if (text.size() > max_string_bytes) {
        f.fail(std::format("string is longer than {} bytes", max_string_bytes));
    }
    if (has_control(text)) {
        f.fail("string must not contain control characters");
    }
    return text;
}

std::string read_nonempty_string(const Field& f) {
    auto text = read_string(f);
    if (text.empty()) {
        f.fail("expected a non-empty string");
    }
    return text;
}

int64_t read_integer(const Field& f, int64_t lo, int64_t hi) {
    if (!f.node->is_integer()) {
        fail_type(f, "an integer");
    }
    int64_t value = f.node->as_integer()->get();
    if (value < lo || value > hi) {
        f.fail(std::format("expected an integer between {} and {}, got {}", lo, hi, value));
    }
    return value;
}

int read_int(const Field& f, int64_t lo = int_min, int64_t hi = int_max) {
    return static_cast<int>(read_integer(f, lo, hi));
}

// An integer or a float.
double read_number(const Field& f, double lo, double hi) {
    double value = 0;
    if (f.node->is_integer()) {
        value = static_cast<double>(f.node->as_integer()->get());
    } else if (f.node->is_floating_point()) {
        value = f.node->as_floating_point()->get();
    } else {
        fail_type(f, "a number");
    }
    if (!(value >= lo && value <= hi)) { // also refuses nan
        f.fail(std::format("expected a number between {} and {}, got {}", lo, hi, value));
    }
    return value;
}

bool read_bool(const Field& f) {
    if (!f.node->is_boolean()) {
        fail_type(f, "a boolean (true or false)");
    }
    return f.node->as_boolean()->get();
}

Length read_length(const Field& f) {
    constexpr std::string_view expected = R"(pixels (an integer >= 0) or a string like "50%")";
    std::optional<Length> length;
    std::string got;
    if (f.node->is_integer()) {
        auto pixels = f.node->as_integer()->get();
        got = std::to_string(pixels);
        if (pixels >= 0) {
            length = Length{static_cast<double>(pixels), false};
        }
    } else if (f.node->is_string()) {
        auto text = read_string(f);
        length = parse_length(text);
        got = quote(text);
    } else {
        fail_type(f, expected);
    }
    if (!length) {
        f.fail(std::format("expected {}, got {}", expected, got));
    }
    // Bounded so that resolving it to whole pixels cannot overflow.
    if (length->value > (length->percent ? max_percent : max_pixels)) {
        f.fail(
            std::format("expected at most {} pixels or {}%, got {}", max_pixels, max_percent, got));
    }
    return *length;
}

// A width or height: zones are never empty.
Length read_size(const Field& f) {
    auto length = read_length(f);
    if (length.value <= 0) {
        f.fail(std::format("expected a size greater than 0, got {}", format_length(length)));
    }
    return length;
}

RectSpec read_rect(const Field& f) {
    static constexpr std::string_view keys[] = {"x", "y", "width", "height"};
    const auto& table = read_table(f);
    check_keys(table, f.path, keys);
    return {
        .x = read_length(required(table, f.path, "x")),
        .y = read_length(required(table, f.path, "y")),
        .width = read_size(required(table, f.path, "width")),
        .height = read_size(required(table, f.path, "height")),
    };
}

Color read_color(const Field& f) {
    auto color = parse_color(read_string(f));
    if (!color) {
        f.fail(std::format(R"(expected a colour "#rrggbb" or "#rrggbbaa", got {})",
                           quote(read_string(f))));
    }
    return *color;
}

FitMode read_fit(const Field& f) {
    auto mode = parse_fit_mode(read_string(f));
    if (!mode) {
        f.fail(std::format("expected one of stretch, fit, fill, center, integer; got {}",
                           quote(read_string(f))));
    }
    return *mode;
}

PlanesMode read_planes(const Field& f) {
    auto mode = parse_planes_mode(read_string(f));
    if (!mode) {
        f.fail(std::format("expected one of auto, off, force; got {}", quote(read_string(f))));
    }
    return *mode;
}

uint32_t read_input(const Field& f) {
    static constexpr std::pair<std::string_view, InputKind> words[] = {
        {"touch", input_touch}, {"pointer", input_pointer}, {"keyboard", input_keyboard}};
    if (!f.node->is_array()) {
        fail_type(f, R"(an array of "touch", "pointer", "keyboard")");
    }
    uint32_t input = input_none;
    const auto& array = *f.node->as_array();
    for (size_t i = 0; i < array.size(); ++i) {
        Field element{array.get(i), std::format("{}[{}]", f.path, i)};
        auto word = read_string(element);
        auto found = std::ranges::find(words, word, &std::pair<std::string_view, InputKind>::first);
        if (found == std::end(words)) {
            element.fail(
                std::format("expected one of touch, pointer, keyboard; got {}", quote(word)));
        }
        if (input & found->second) {
            element.fail(std::format("'{}' is listed twice", word));
        }
        input |= found->second;
    }
    return input;
}

// A socket's mode: an integer (TOML 0o660) or a string of octal digits ("0660"); read and
// write bits only, and always the owner's.
uint32_t read_socket_mode(const Field& f) {
    constexpr std::string_view expected = R"(a mode like 0o660 or "0660")";
    std::optional<uint32_t> mode;
    if (f.node->is_integer()) {
        auto value = f.node->as_integer()->get();
        if (value >= 0 && value <= 0777) {
            mode = static_cast<uint32_t>(value);
        }
    } else if (f.node->is_string()) {
        auto text = read_string(f);
        uint32_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 8);
        if (!text.empty() && text.size() <= 4 && ec == std::errc{} &&
            end == text.data() + text.size()) {
            mode = value;
        }
    } else {
        fail_type(f, expected);
    }
    if (!mode) {
        f.fail(std::format("expected {}", expected));
    }
    if ((*mode & ~0666u) != 0 || (*mode & 0600u) != 0600u) {
        f.fail(std::format("a socket's mode has read and write bits only, the owner's always "
                           "(0600 to 0666), got {:04o}",
                           *mode));
    }
    return *mode;
}

// A user or a group: a name this system knows, or a numeric id.
template <typename Lookup> uint32_t read_id(const Field& f, const char* what, Lookup lookup) {
    constexpr int64_t id_max = std::numeric_limits<uint32_t>::max() - 1; // -1 means "none"
    if (f.node->is_integer()) {
        return static_cast<uint32_t>(read_integer(f, 0, id_max));
    }
    if (!f.node->is_string()) {
        fail_type(f, std::format("a {} name or id", what));
    }
    auto name = read_nonempty_string(f);
    auto id = lookup(name);
    if (!id) {
        f.fail(std::format("no {} {} on this system", what, quote(name)));
    }
    return *id;
}

uint32_t read_group(const Field& f) {
    return read_id(f, "group", [](const std::string& name) -> std::optional<uint32_t> {
        group entry{};
        group* found = nullptr;
        std::array<char, 16384> buffer{};
        getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
        return found ? std::optional(found->gr_gid) : std::nullopt;
    });
}

std::vector<uint32_t> read_users(const Field& f) {
    constexpr size_t max_users = 32;
    if (!f.node->is_array()) {
        fail_type(f, "an array of user names or ids");
    }
    const auto& array = *f.node->as_array();
    if (array.size() > max_users) {
        f.fail(std::format("at most {} users", max_users));
    }
    std::vector<uint32_t> users;
    for (size_t i = 0; i < array.size(); ++i) {
        Field element{array.get(i), std::format("{}[{}]", f.path, i)};
        users.push_back(read_id(element, "user", [](const std::string& name) {
            passwd entry{};
            passwd* found = nullptr;
            std::array<char, 16384> buffer{};
            getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
            return found ? std::optional(found->pw_uid) : std::nullopt;
        }));
    }
    return users;
}

Fallback read_fallback(const Field& f, const std::filesystem::path& base_dir) {
    static constexpr std::string_view keys[] = {"color", "image"};
    const auto& table = read_table(f);
    check_keys(table, f.path, keys);
    Fallback fallback;
    if (auto color = field(table, f.path, "color")) {
        fallback.color = read_color(color);
    }
    if (auto image = field(table, f.path, "image")) {
        std::filesystem::path path = read_nonempty_string(image);
        fallback.image = path.is_absolute() ? path.string() : (base_dir / path).string();
    }
    return fallback;
}

std::optional<uint32_t> parse_id(std::string_view text) {
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// An integer, or an inclusive range "LO-HI".
std::pair<uint32_t, uint32_t> read_ivi_id(const Field& f) {
    constexpr int64_t id_max = std::numeric_limits<uint32_t>::max();
    if (f.node->is_integer()) {
        auto id = static_cast<uint32_t>(read_integer(f, 0, id_max));
        return {id, id};
    }
    if (!f.node->is_string()) {
        fail_type(f, R"(an integer or a range like "9000-9999")");
    }
    auto text = read_string(f);
    auto dash = text.find('-');
    auto lo = dash == std::string::npos ? std::nullopt : parse_id(text.substr(0, dash));
    auto hi = dash == std::string::npos ? std::nullopt : parse_id(text.substr(dash + 1));
    if (!lo || !hi) {
        f.fail(std::format(R"(expected a range "LO-HI" of integers 0 to {}, got {})", id_max,
                           quote(text)));
    }
    if (*lo > *hi) {
        f.fail(std::format("range {} starts after it ends", quote(text)));
    }
    return {*lo, *hi};
}

// Output keys and profile names: bounded like any string.
void check_name(const Entry& entry, std::string_view path, std::string_view what) {
    auto name = entry.key->str();
    if (name.empty() || name.size() > max_string_bytes || has_control(name)) {
        fail(entry.key->source(), join(path, name),
             std::format("{} names must be 1 to {} bytes long, without control characters", what,
                         max_string_bytes));
    }
}

// Zone names appear in rules, profiles and run-time commands: kept simple.
void check_zone_name(const Entry& entry) {
    auto name = entry.key->str();
    bool valid =
        !name.empty() && name.size() <= max_zone_name && std::ranges::all_of(name, [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        });
    if (!valid) {
        fail(entry.key->source(), join("zones", name),
             std::format("zone names are 1 to {} characters of a-z, 0-9, '_' and '-'; got {}",
                         max_zone_name, quote(name)));
    }
}

template <class Item>
std::string known(const std::vector<Item>& items, std::string Item::* name, std::string_view what) {
    if (items.empty()) {
        return std::format("the layout has no {}", what);
    }
    std::string out = std::format("{}:", what);
    for (size_t i = 0; i < items.size() && i < 8; ++i) {
        out += std::format("{} {}", i == 0 ? "" : ",", quote(items[i].*name));
    }
    return out + (items.size() > 8 ? ", ..." : "");
}

// Entries of an optional table of named tables (outputs, zones, profiles), checked for count.
std::vector<Entry> named_tables(const Field& f, size_t limit, std::string_view what) {
    if (!f) {
        return {};
    }
    auto entries = in_file_order(read_table(f));
    if (entries.size() > limit) {
        const auto& extra = entries[limit];
        fail(extra.node->source(), join(f.path, extra.key->str()),
             std::format("too many {} (at most {})", what, limit));
    }
    return entries;
}

class Reader {
public:
    explicit Reader(std::filesystem::path base_dir) : base_dir_(std::move(base_dir)) {}

    Layout read(const toml::table& root) {
        static constexpr std::string_view keys[] = {"layout",   "outputs", "zones",
                                                    "profiles", "rules",   "guests"};
        check_keys(root, "", keys);
        auto header = field(root, "", "layout");
        const toml::table empty;
        const auto& layout_table = header ? read_table(header) : empty;
        read_layout_table(layout_table);
        read_outputs(root);
        read_zones(root);
        read_profiles(field(root, "", "profiles"));
        read_guests(field(root, "", "guests"));
        read_rules(field(root, "", "rules"));
        check_layout_references(layout_table);
        return std::move(layout_);
    }

private:
    void read_layout_table(const toml::table& table) {
        static constexpr std::string_view keys[] = {"name", "default-zone", "profile"};
        check_keys(table, "layout", keys);
        if (auto name = field(table, "layout", "name")) {
            read_string(name); // only for people reading the file, for now
        }
        if (auto zone = field(table, "layout", "default-zone")) {
            layout_.default_zone = read_string(zone);
        }
        if (auto profile = field(table, "layout", "profile")) {
            layout_.initial_profile = read_nonempty_string(profile);
        }
    }

    void check_layout_references(const toml::table& table) {
        if (auto zone = field(table, "layout", "default-zone");
            zone && !layout_.find_zone(*layout_.default_zone)) {
            zone.fail(std::format("no zone named {} ({})", quote(*layout_.default_zone),
                                  known(layout_.zones, &ZoneSpec::name, "zones")));
        }
        if (auto profile = field(table, "layout", "profile");
            profile && !layout_.find_profile(layout_.initial_profile)) {
            profile.fail(std::format("no profile named {} ({})", quote(layout_.initial_profile),
                                     known(layout_.profiles, &Profile::name, "profiles")));
        }
    }

    void read_outputs(const toml::table& root) {
        auto outputs = field(root, "", "outputs");
        if (!outputs) {
            fail(toml::source_region{}, "outputs",
                 "missing required key 'outputs' (a layout needs at least one [outputs.NAME])");
        }
        auto entries = named_tables(outputs, max_outputs, "outputs");
        if (entries.empty()) {
            outputs.fail("expected at least one output ([outputs.NAME])");
        }
        for (const auto& entry : entries) {
            check_name(entry, "outputs", "output");
            read_output(entry);
        }
    }

    void read_output(const Entry& entry) {
        static constexpr std::string_view keys[] = {"connector", "index", "planes"};
        Field f{entry.node, join("outputs", entry.key->str())};
        const auto& table = read_table(f);
        check_keys(table, f.path, keys);
        OutputSpec output{.key = std::string(entry.key->str())};
        if (auto planes = field(table, f.path, "planes")) {
            output.planes = read_planes(planes);
        }
        if (auto connector = field(table, f.path, "connector")) {
            output.connector = read_nonempty_string(connector);
            if (auto other =
                    std::ranges::find(layout_.outputs, output.connector, &OutputSpec::connector);
                other != layout_.outputs.end()) {
                connector.fail(std::format("connector {} is already claimed by output {}",
                                           quote(*output.connector), quote(other->key)));
            }
        }
        if (auto index = field(table, f.path, "index")) {
            output.index = read_int(index, 0, int_max);
            if (auto other = std::ranges::find(layout_.outputs, output.index, &OutputSpec::index);
                other != layout_.outputs.end()) {
                index.fail(std::format("index {} is already claimed by output {}", *output.index,
                                       quote(other->key)));
            }
        }
        if (!output.connector && !output.index) {
            f.fail("an output needs 'connector', 'index' or both");
        }
        layout_.outputs.push_back(std::move(output));
    }

    void read_zones(const toml::table& root) {
        auto zones = field(root, "", "zones");
        if (!zones) {
            fail(toml::source_region{}, "zones",
                 "missing required key 'zones' (a layout needs at least one [zones.NAME])");
        }
        auto entries = named_tables(zones, max_zones, "zones");
        if (entries.empty()) {
            zones.fail("expected at least one zone ([zones.NAME])");
        }
        for (const auto& entry : entries) {
            check_zone_name(entry);
            layout_.zones.push_back(read_zone(entry));
        }
    }

    ZoneSpec read_zone(const Entry& entry) {
        static constexpr std::string_view keys[] = {
            "output",   "rect",           "z",      "background",  "fit",
            "opacity",  "visible",        "input",  "fallback",    "freeze-timeout-ms",
            "floating", "plane-priority", "planes", "watchdog-ms", "outputs",
            "verify",   "verify-every",
        };
        Field f{entry.node, join("zones", entry.key->str())};
        const auto& table = read_table(f);
        check_keys(table, f.path, keys);
        ZoneSpec zone;
        zone.name = entry.key->str();
        read_zone_outputs(table, f.path, zone);
        zone.rect = read_rect(required(table, f.path, "rect"));
        read_zone_options(table, f.path, zone);
        return zone;
    }

    // `output = "key"`, or `outputs = ["key", ...]`: the first present output of the list.
    void read_zone_outputs(const toml::table& table, const std::string& path, ZoneSpec& zone) {
        auto list = field(table, path, "outputs");
        if (!list) {
            auto output = required(table, path, "output");
            zone.output = read_string(output);
            check_output_key(output, zone.output);
            return;
        }
        if (field(table, path, "output")) {
            list.fail("give either output or outputs, not both");
        }
        auto keys = read_output_keys(list);
        zone.output = keys.front();
        zone.fallback_outputs.assign(keys.begin() + 1, keys.end());
    }

    void check_output_key(const Field& f, const std::string& key) const {
        if (!layout_.find_output(key)) {
            f.fail(std::format("no output named {} ({})", quote(key),
                               known(layout_.outputs, &OutputSpec::key, "outputs")));
        }
    }

    // An array of 1 to max_outputs distinct output keys, in the file's order.
    std::vector<std::string> read_output_keys(const Field& list) const {
        if (!list.node->is_array() || list.node->as_array()->empty() ||
            list.node->as_array()->size() > max_outputs) {
            list.fail(std::format("expected an array of 1 to {} output names", max_outputs));
        }
        const auto& array = *list.node->as_array();
        std::vector<std::string> keys;
        for (size_t i = 0; i < array.size(); ++i) {
            Field element{array.get(i), std::format("{}[{}]", list.path, i)};
            auto key = read_string(element);
            check_output_key(element, key);
            if (std::ranges::find(keys, key) != keys.end()) {
                element.fail(std::format("{} is listed twice", quote(key)));
            }
            keys.push_back(std::move(key));
        }
        return keys;
    }

    void read_zone_options(const toml::table& table, const std::string& path, ZoneSpec& zone) {
        if (auto z = field(table, path, "z")) {
            zone.z = read_int(z);
        }
        if (auto background = field(table, path, "background")) {
            zone.background = read_color(background);
        }
        if (auto fit = field(table, path, "fit")) {
            zone.fit = read_fit(fit);
        }
        if (auto opacity = field(table, path, "opacity")) {
            zone.opacity = read_number(opacity, 0, 1);
        }
        if (auto visible = field(table, path, "visible")) {
            zone.visible = read_bool(visible);
        }
        if (auto input = field(table, path, "input")) {
            zone.input = read_input(input);
        }
        if (auto priority = field(table, path, "plane-priority")) {
            zone.plane_priority = read_int(priority, -1000, 1000);
        }
        if (auto planes = field(table, path, "planes")) {
            zone.planes = read_planes(planes);
        }
        if (auto fallback = field(table, path, "fallback")) {
            zone.fallback = read_fallback(fallback, base_dir_);
        }
        if (auto timeout = field(table, path, "freeze-timeout-ms")) {
            zone.freeze_timeout = std::chrono::milliseconds(read_integer(timeout, 1, 3'600'000));
        }
        if (auto watchdog = field(table, path, "watchdog-ms")) {
            zone.watchdog = std::chrono::milliseconds(read_integer(watchdog, 10, 60'000));
        }
        if (auto floating = field(table, path, "floating")) {
            zone.floating = read_bool(floating);
        }
        read_zone_verify(table, path, zone);
    }

    // `verify = true`: every default_verify_every frames; `verify-every = N`: every N.
    static void read_zone_verify(const toml::table& table, const std::string& path,
                                 ZoneSpec& zone) {
        auto verify = field(table, path, "verify");
        auto every = field(table, path, "verify-every");
        bool on = verify ? read_bool(verify) : bool(every);
        if (!on) {
            return;
        }
        zone.verify_every = every ? static_cast<uint32_t>(read_integer(every, 1, max_verify_every))
                                  : default_verify_every;
    }

    void read_profiles(const Field& profiles) {
        for (const auto& entry : named_tables(profiles, max_profiles, "profiles")) {
            check_name(entry, "profiles", "profile");
            layout_.profiles.push_back(read_profile(entry));
        }
    }

    Profile read_profile(const Entry& entry) {
        static constexpr std::string_view keys[] = {"zones", "outputs"};
        Field f{entry.node, join("profiles", entry.key->str())};
        const auto& table = read_table(f);
        check_keys(table, f.path, keys);
        Profile profile{.name = std::string(entry.key->str()), .zones = {}, .when_outputs = {}};
        if (auto outputs = field(table, f.path, "outputs")) {
            profile.when_outputs = read_output_keys(outputs);
            std::ranges::sort(profile.when_outputs);
            if (const auto* other = layout_.profile_for_outputs(profile.when_outputs)) {
                outputs.fail(std::format("profile {} is already chosen by these outputs",
                                         quote(other->name)));
            }
        }
        auto zones = field(table, f.path, "zones");
        for (const auto& zone : named_tables(zones, max_zones, "zones")) {
            auto name = std::string(zone.key->str());
            if (!layout_.find_zone(name)) {
                fail(zone.key->source(), join(zones.path, name),
                     std::format("no zone named {} ({})", quote(name),
                                 known(layout_.zones, &ZoneSpec::name, "zones")));
            }
            profile.zones[name] = read_override({zone.node, join(zones.path, name)});
        }
        return profile;
    }

    static ZoneOverride read_override(const Field& f) {
        static constexpr std::string_view keys[] = {"rect", "visible", "opacity", "z", "planes"};
        const auto& table = read_table(f);
        check_keys(table, f.path, keys);
        ZoneOverride change;
        if (auto rect = field(table, f.path, "rect")) {
            change.rect = read_rect(rect);
        }
        if (auto visible = field(table, f.path, "visible")) {
            change.visible = read_bool(visible);
        }
        if (auto opacity = field(table, f.path, "opacity")) {
            change.opacity = read_number(opacity, 0, 1);
        }
        if (auto z = field(table, f.path, "z")) {
            change.z = read_int(z);
        }
        if (auto planes = field(table, f.path, "planes")) {
            change.planes = read_planes(planes);
        }
        return change;
    }

    void read_guests(const Field& guests) {
        for (const auto& entry : named_tables(guests, max_guests, "guests")) {
            check_name(entry, "guests", "guest");
            layout_.guests.push_back(read_guest(entry));
        }
    }

    GuestSpec read_guest(const Entry& entry) const {
        static constexpr std::string_view keys[] = {"socket",        "scanouts",    "max-resources",
                                                    "max-memory-mb", "socket-mode", "socket-group",
                                                    "allow-users",   "input",       "3d"};
        Field f{entry.node, join("guests", entry.key->str())};
        const auto& table = read_table(f);
        check_keys(table, f.path, keys);
        GuestSpec guest;
        guest.name = entry.key->str();
        auto socket = required(table, f.path, "socket");
        guest.socket = read_nonempty_string(socket);
        if (guest.socket.size() > max_socket_path) {
            socket.fail(std::format("a socket path is at most {} bytes", max_socket_path));
        }
        if (auto other = std::ranges::find(layout_.guests, guest.socket, &GuestSpec::socket);
            other != layout_.guests.end()) {
            socket.fail(std::format("socket {} is already used by guest {}", quote(guest.socket),
                                    quote(other->name)));
        }
        for (const auto& other : layout_.guests) {
            if (std::ranges::contains(input_devices(other), guest.socket,
                                      &GuestInputDevice::socket)) {
                socket.fail(std::format("socket {} is already used by an input device of guest {}",
                                        quote(guest.socket), quote(other.name)));
            }
        }
        if (auto scanouts = field(table, f.path, "scanouts")) {
            guest.scanouts = read_int(scanouts, 1, max_scanouts);
        }
        if (auto resources = field(table, f.path, "max-resources")) {
            guest.max_resources = static_cast<uint32_t>(read_integer(resources, 1, 65536));
        }
        if (auto memory = field(table, f.path, "max-memory-mb")) {
            guest.max_memory_mb = static_cast<uint32_t>(read_integer(memory, 1, 16384));
        }
        read_guest_access(table, f.path, guest);
        if (auto input = field(table, f.path, "input")) {
            guest.input = read_input(input);
            check_input_sockets(input, guest);
        }
        if (auto three_d = field(table, f.path, "3d")) {
            guest.three_d = read_bool(three_d);
        }
        return guest;
    }

    // Each input device's socket, named after the guest's, fits a socket address and is no
    // other guest's.
    void check_input_sockets(const Field& input, const GuestSpec& guest) const {
        for (const auto& device : input_devices(guest)) {
            if (device.socket.size() > max_socket_path) {
                input.fail(std::format("the {} device's socket {} is longer than {} bytes; "
                                       "shorten the guest's socket",
                                       input_kind_name(device.kind), quote(device.socket),
                                       max_socket_path));
            }
            for (const auto& other : layout_.guests) {
                auto others = input_devices(other);
                if (other.socket == device.socket ||
                    std::ranges::contains(others, device.socket, &GuestInputDevice::socket)) {
                    input.fail(std::format("the {} device's socket {} is already used by guest {}",
                                           input_kind_name(device.kind), quote(device.socket),
                                           quote(other.name)));
                }
            }
        }
    }

    static void read_guest_access(const toml::table& table, const std::string& path,
                                  GuestSpec& guest) {
        if (auto group = field(table, path, "socket-group")) {
            guest.socket_group = read_group(group);
        }
        if (auto users = field(table, path, "allow-users")) {
            guest.allow_users = read_users(users);
        }
        guest.socket_mode =
            0600 | (guest.socket_group ? 060u : 0u) | (guest.allow_users.empty() ? 0u : 006u);
        if (auto mode = field(table, path, "socket-mode")) {
            guest.socket_mode = read_socket_mode(mode);
        }
    }

    void read_rules(const Field& rules) {
        if (!rules) {
            return;
        }
        if (!rules.node->is_array()) {
            fail_type(rules, "an array of tables ([[rules]])");
        }
        const auto& array = *rules.node->as_array();
        for (size_t i = 0; i < array.size(); ++i) {
            Field rule{array.get(i), std::format("rules[{}]", i)};
            if (i == max_rules) {
                rule.fail(std::format("too many rules (at most {})", max_rules));
            }
            layout_.rules.push_back(read_rule(rule));
        }
    }

    Rule read_rule(const Field& f) const {
        static constexpr std::string_view keys[] = {"zone", "ivi-id", "app-id", "guest", "scanout"};
        const auto& table = read_table(f);
        check_keys(table, f.path, keys);
        Rule rule;
        auto zone = required(table, f.path, "zone");
        rule.zone = read_string(zone);
        if (!layout_.find_zone(rule.zone)) {
            zone.fail(std::format("no zone named {} ({})", quote(rule.zone),
                                  known(layout_.zones, &ZoneSpec::name, "zones")));
        }
        if (auto ivi_id = field(table, f.path, "ivi-id")) {
            rule.ivi_id = read_ivi_id(ivi_id);
        }
        if (auto app_id = field(table, f.path, "app-id")) {
            rule.app_id = read_nonempty_string(app_id);
        }
        const GuestSpec* guest_spec = nullptr;
        if (auto guest = field(table, f.path, "guest")) {
            rule.guest = read_nonempty_string(guest);
            guest_spec = layout_.find_guest(*rule.guest);
            if (!guest_spec) {
                guest.fail(std::format("no guest named {} ({})", quote(*rule.guest),
                                       known(layout_.guests, &GuestSpec::name, "guests")));
            }
        }
        if (auto scanout = field(table, f.path, "scanout")) {
            rule.scanout = read_int(scanout, 0, int_max);
            if (!rule.guest) {
                scanout.fail("'scanout' is only allowed together with 'guest'");
            }
            if (*rule.scanout >= guest_spec->scanouts) {
                scanout.fail(std::format("guest {} has {} scanout(s), numbered from 0",
                                         quote(*rule.guest), guest_spec->scanouts));
            }
        }
        if (!rule.ivi_id && !rule.app_id && !rule.guest) {
            f.fail("a rule needs at least one of 'ivi-id', 'app-id', 'guest'");
        }
        return rule;
    }

    std::filesystem::path base_dir_;
    Layout layout_;
};

// toml++ makes a table for every part of a dotted key or table header, and recurses as deep to
// parse and to free them: a few hundred thousand parts overflow the stack. No layout needs more
// than a handful, so a line with many dots outside strings and comments is refused unparsed.
class DepthCheck {
public:
    static constexpr int max_dots = 64;

    explicit DepthCheck(std::string_view text) : text_(text) {}

    // The position of the first dot too many, as {line, column}; nullopt when none.
    std::optional<std::pair<int, int>> first_excess() {
        for (; pos_ < text_.size(); ++pos_) {
            if (text_[pos_] == '\n') {
                new_line();
            } else if (step()) {
                return std::pair(line_, static_cast<int>(pos_ - line_start_) + 1);
            }
        }
        return std::nullopt;
    }

private:
    enum class State { code, comment, basic, literal, multi_basic, multi_literal };

    void new_line() {
        ++line_;
        line_start_ = pos_ + 1;
        dots_ = 0;
        if (state_ != State::multi_basic && state_ != State::multi_literal) {
            state_ = State::code; // comments end here; single-line strings must have ended
        }
    }

    // The length of the run of `quote` characters at pos_.
    size_t run(char quote) const {
        size_t end = pos_;
        while (end < text_.size() && text_[end] == quote) {
            ++end;
        }
        return end - pos_;
    }

    // Handles text_[pos_] (not a newline); true when it is a dot too many.
    bool step() {
        char c = text_[pos_];
        switch (state_) {
        case State::code:
            return code(c);
        case State::comment:
            return false;
        case State::basic:
        case State::multi_basic:
            if (c == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] != '\n') {
                ++pos_; // an escaped character, maybe a quote
            } else if (c == '"') {
                close_string('"', state_ == State::multi_basic);
            }
            return false;
        case State::literal:
        case State::multi_literal:
            if (c == '\'') {
                close_string('\'', state_ == State::multi_literal);
            }
            return false;
        }
        return false;
    }

    bool code(char c) {
        if (c == '#') {
            state_ = State::comment;
        } else if (c == '"' || c == '\'') {
            bool multi = run(c) >= 3;
            state_ = c == '"' ? (multi ? State::multi_basic : State::basic)
                              : (multi ? State::multi_literal : State::literal);
            pos_ += multi ? 2 : 0;
        } else if (c == '.') {
            return ++dots_ > max_dots;
        }
        return false;
    }

    // At a quote inside a string: a multi-line string ends at three quotes, and may have up to
    // two more right before them.
    void close_string(char quote, bool multi) {
        size_t quotes = run(quote);
        if (!multi || quotes >= 3) {
            state_ = State::code;
        }
        pos_ += (multi ? quotes : 1) - 1;
    }

    std::string_view text_;
    size_t pos_ = 0;
    size_t line_start_ = 0;
    int line_ = 1;
    int dots_ = 0;
    State state_ = State::code;
};

LayoutError syntax_error(const toml::parse_error& error, const std::string& file_name) {
    const auto& where = error.source().begin;
    return {.file = file_name,
            .line = static_cast<int>(where.line),
            .column = static_cast<int>(where.column),
            .key = {},
            .message = std::string(error.description())};
}

} // namespace

std::expected<Layout, LayoutError> parse_layout(std::string_view text,
                                                const std::string& file_name) {
    if (text.size() > max_file_bytes) {
        return std::unexpected(LayoutError{.file = file_name,
                                           .line = 0,
                                           .column = 0,
                                           .key = {},
                                           .message = "layout is larger than 1 MiB"});
    }
    if (auto excess = DepthCheck(text).first_excess()) {
        return std::unexpected(LayoutError{
            .file = file_name,
            .line = excess->first,
            .column = excess->second,
            .key = {},
            .message = std::format("more than {} dots outside strings on one line: keys are "
                                   "nested too deep",
                                   DepthCheck::max_dots)});
    }
    try {
        auto root = toml::parse(text, std::string_view(file_name));
        auto layout = Reader(std::filesystem::path(file_name).parent_path()).read(root);
        layout.source = file_name;
        return layout;
    } catch (const toml::parse_error& error) {
        return std::unexpected(syntax_error(error, file_name));
    } catch (Invalid& invalid) {
        invalid.error.file = file_name;
        return std::unexpected(std::move(invalid.error));
    } catch (const std::exception& error) { // std::bad_alloc: still no exception for the caller
        return std::unexpected(LayoutError{
            .file = file_name, .line = 0, .column = 0, .key = {}, .message = error.what()});
    }
}

std::expected<Layout, LayoutError> load_layout_file(const std::string& path) {
    auto failure = [&](std::string message) {
        return std::unexpected(LayoutError{
            .file = path, .line = 0, .column = 0, .key = {}, .message = std::move(message)});
    };
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rbe"),
                                                         &std::fclose);
    if (!file) {
        return failure(std::format("cannot open: {}", std::strerror(errno)));
    }
    // Read one byte more than allowed, to tell a full-size file from a larger one.
    std::string text(max_file_bytes + 1, '\0');
    size_t size = std::fread(text.data(), 1, text.size(), file.get());
    if (std::ferror(file.get())) {
        return failure(std::format("cannot read: {}", std::strerror(errno)));
    }
    if (size > max_file_bytes) {
        return failure("file is larger than 1 MiB");
    }
    text.resize(size);
    return parse_layout(text, path);
}

} // namespace tessera::ivi
