#include "zone_verifier.hpp"

#include "buffer_readback.hpp"
#include "log_scopes.hpp"
#include "output.hpp"
#include "plane_planner.hpp"
#include "server.hpp"
#include "util/pixel_check.hpp"
#include "zone_content.hpp"
#include "zone_scene.hpp"

#include <chrono>
#include <cmath>
#include <format>

namespace tessera::compositor {
namespace {

using Verdict = ZoneVerifier::Verdict;
using Outcome = ZoneVerifier::Outcome;

Outcome unchecked(std::string shown, std::string why) {
    return {.verdict = Verdict::unchecked, .shown = std::move(shown), .detail = std::move(why)};
}

Outcome mismatch(std::string shown, std::string what) {
    return {.verdict = Verdict::mismatch, .shown = std::move(shown), .detail = std::move(what)};
}

// A pixel check's outcome; `origin`: where the checked region starts in the zone.
Outcome judged(std::string shown, const PixelCheck& check, std::pair<int, int> origin) {
    Outcome outcome{.verdict = check.matches() ? Verdict::match : Verdict::mismatch,
                    .shown = std::move(shown),
                    .checked = check.checked,
                    .mismatched = check.mismatched};
    if (check.first) {
        outcome.first =
            std::pair{check.first->first + origin.first, check.first->second + origin.second};
        outcome.detail = std::format("{} of {} pixels differ, the first at {},{}", check.mismatched,
                                     check.checked, outcome.first->first, outcome.first->second);
    }
    return outcome;
}

// The scene node's place in layout coordinates, and its size on screen.
wlr_box placed_box(wlr_scene_buffer* buffer) {
    int x = 0, y = 0;
    wlr_scene_node_coords(&buffer->node, &x, &y);
    int width = buffer->dst_width, height = buffer->dst_height;
    if (width <= 0 || height <= 0) {
        width = buffer->buffer->width;
        height = buffer->buffer->height;
    }
    return {x, y, width, height};
}

// The part of the buffer the node shows; nullopt unless it is whole pixels shown 1:1.
std::optional<wlr_box> unscaled_source(wlr_scene_buffer* buffer, const wlr_box& placed) {
    wlr_fbox src = buffer->src_box;
    if (wlr_fbox_empty(&src)) {
        src = {0, 0, double(buffer->buffer->width), double(buffer->buffer->height)};
    }
    wlr_box whole{static_cast<int>(src.x), static_cast<int>(src.y), static_cast<int>(src.width),
                  static_cast<int>(src.height)};
    bool integral = whole.x == src.x && whole.y == src.y && whole.width == src.width &&
                    whole.height == src.height;
    if (!integral || whole.width != placed.width || whole.height != placed.height ||
        buffer->transform != WL_OUTPUT_TRANSFORM_NORMAL) {
        return std::nullopt;
    }
    return whole;
}

uint8_t to_8bit(float channel) {
    return static_cast<uint8_t>(std::lround(std::clamp(channel, 0.0f, 1.0f) * 255.0f));
}

} // namespace

std::string_view verdict_name(Verdict verdict) {
    switch (verdict) {
    case Verdict::match:
        return "match";
    case Verdict::mismatch:
        return "mismatch";
    case Verdict::unchecked:
        return "unchecked";
    }
    return "unchecked";
}

ZoneVerifier::ZoneVerifier(Server& server, ZoneScene& scene) : server_(server), scene_(scene) {}

void ZoneVerifier::prepare_frame(Output& output) {
    due_.clear();
    for (const auto& zone : scene_.model().zones()) {
        bool requested = requests_.contains(zone.name);
        bool due = zone.verify_every > 0 && frames_[zone.name] + 1 >= zone.verify_every;
        if (!requested && !due) {
            continue;
        }
        auto box = scene_.zone_box(zone.name);
        if (!box || box->first != &output) {
            continue;
        }
        // Repainted whole, so that the frame shows the content as it is read now.
        wlr_box origin = output.layout_box();
        wlr_box local{box->second.x - origin.x, box->second.y - origin.y, box->second.width,
                      box->second.height};
        wlr_damage_ring_add_box(&output.scene_output()->damage_ring, &local);
        wlr_output_update_needs_frame(output.wlr());
        Snapshot snapshot;
        int count = 0;
        if (const auto* content = shown_content(zone, &count); content && count == 1) {
            if (auto* buffer = content->main_buffer(); buffer && buffer->buffer) {
                if (auto pixels = read_buffer(server_.renderer(), buffer->buffer)) {
                    snapshot = std::move(*pixels);
                }
            }
        }
        due_[zone.name] = std::move(snapshot);
    }
}

void ZoneVerifier::frame_committed(Output& output, wlr_buffer* frame) {
    for (const auto& zone : scene_.model().zones()) {
        auto box = scene_.zone_box(zone.name);
        if (!box || box->first != &output) {
            continue;
        }
        ++frames_[zone.name];
        auto due = due_.find(zone.name);
        if (due == due_.end()) {
            continue;
        }
        frames_[zone.name] = 0;
        auto start = std::chrono::steady_clock::now();
        auto outcome = verify(zone, output, frame, box->second, due->second);
        outcome.cost_us =
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                .count();
        outcome.frame = output.frames_committed();
        record(zone.name, output, outcome);
        if (auto requested = requests_.find(zone.name); requested != requests_.end()) {
            auto callbacks = std::move(requested->second);
            requests_.erase(requested);
            for (auto& done : callbacks) {
                done(zone.name, outcome);
            }
        }
    }
    due_.clear();
}

const ZoneContent* ZoneVerifier::shown_content(const ivi::Zone& zone, int* count) const {
    const ZoneContent* shown = nullptr;
    *count = 0;
    for (const auto* content : scene_.contents()) {
        if (content->zone == zone.name && content->ready()) {
            shown = content;
            ++*count;
        }
    }
    return shown;
}

std::expected<void, std::string> ZoneVerifier::request(std::string_view zone, Callback done) {
    if (!scene_.model().find(zone)) {
        return std::unexpected(std::format("no zone named '{}'", zone));
    }
    auto box = scene_.zone_box(zone);
    if (!box) {
        return std::unexpected(std::format("zone '{}' is not on screen", zone));
    }
    requests_[std::string(zone)].push_back(std::move(done));
    // A frame even when nothing changed, repainted whole so that every pixel checked was drawn
    // for it.
    auto* output = box->first;
    wlr_damage_ring_add_whole(&output->scene_output()->damage_ring);
    wlr_output_update_needs_frame(output->wlr());
    return {};
}

void ZoneVerifier::zones_changed() {
    std::erase_if(requests_, [&](auto& entry) {
        if (scene_.zone_box(entry.first)) {
            return false;
        }
        auto outcome = unchecked("", "the zone is no longer on screen");
        for (auto& done : entry.second) {
            done(entry.first, outcome);
        }
        return true;
    });
    std::erase_if(stats_, [&](const auto& entry) { return !scene_.model().find(entry.first); });
    std::erase_if(frames_, [&](const auto& entry) { return !scene_.model().find(entry.first); });
}

void ZoneVerifier::record(const std::string& zone, const Output& output, const Outcome& outcome) {
    auto& stats = stats_[zone];
    if (outcome.verdict == Verdict::unchecked) {
        ++stats.unchecked;
    } else {
        ++stats.checks;
        stats.cost_us_total += outcome.cost_us;
    }
    bool was_mismatch = stats.last && stats.last->verdict == Verdict::mismatch;
    stats.last = outcome;
    if (outcome.verdict != Verdict::mismatch) {
        if (was_mismatch && outcome.verdict == Verdict::match) {
            log::info(ivi_log, "zone {}: verified again", zone);
        }
        return;
    }
    ++stats.mismatches;
    if (!was_mismatch) {
        log::warn(ivi_log, "zone {}: frame {} of output {} does not show its {}: {}", zone,
                  outcome.frame, output.name(), outcome.shown, outcome.detail);
    }
    nlohmann::json fields{{"zone", zone},
                          {"output", output.name()},
                          {"shown", outcome.shown},
                          {"detail", outcome.detail},
                          {"checked", outcome.checked},
                          {"mismatched", outcome.mismatched},
                          {"frame", outcome.frame}};
    if (outcome.first) {
        fields["x"] = outcome.first->first;
        fields["y"] = outcome.first->second;
    }
    server_.health().publish("verify-failed", std::move(fields));
}

Outcome ZoneVerifier::verify(const ivi::Zone& zone, const Output& output, wlr_buffer* frame,
                             const wlr_box& zone_box, const Snapshot& snapshot) const {
    if (zone.floating) {
        return unchecked("", "a floating zone's windows are not the zone's to check");
    }
    auto* wlr_out = output.wlr();
    if (wlr_out->scale != 1.0f || wlr_out->transform != WL_OUTPUT_TRANSFORM_NORMAL) {
        return unchecked("", "the output is scaled or rotated");
    }
    int ready = 0;
    const ZoneContent* shown = shown_content(zone, &ready);
    if (ready > 1) {
        return unchecked("content", "more than one content in the zone");
    }
    if (!shown || scene_.watchdog().stalled(zone.name)) {
        return verify_fallback(zone, output, frame, zone_box);
    }
    return verify_content(zone, output, frame, zone_box, *shown, snapshot);
}

Outcome ZoneVerifier::verify_content(const ivi::Zone& zone, const Output& output, wlr_buffer* frame,
                                     const wlr_box& zone_box, const ZoneContent& content,
                                     const Snapshot& snapshot) const {
    auto* buffer = content.main_buffer();
    if (!buffer || !buffer->buffer) {
        return unchecked("content", "the content has no buffer");
    }
    wlr_box placed = placed_box(buffer);
    wlr_box origin = output.layout_box();
    wlr_box on_output{placed.x - origin.x, placed.y - origin.y, placed.width, placed.height};
    wlr_box zone_on_output{zone_box.x - origin.x, zone_box.y - origin.y, zone_box.width,
                           zone_box.height};

    if (const auto* planner = output.planner(); planner && planner->on_plane(content)) {
        auto plane = planner->plane_shown(content);
        if (!plane) {
            return mismatch("plane", plane.error());
        }
        if (plane->buffer != buffer->buffer) {
            return mismatch("plane", "the plane was given another buffer than the content's");
        }
        wlr_box inside{};
        if (!wlr_box_equal(&plane->dst, &on_output) ||
            !wlr_box_intersection(&inside, &plane->dst, &zone_on_output) ||
            !wlr_box_equal(&inside, &plane->dst)) {
            return mismatch("plane", std::format("the plane shows it at {},{} {}x{}, the zone "
                                                 "places it at {},{} {}x{}",
                                                 plane->dst.x, plane->dst.y, plane->dst.width,
                                                 plane->dst.height, on_output.x, on_output.y,
                                                 on_output.width, on_output.height));
        }
        return {.verdict = Verdict::match, .shown = "plane"};
    }

    if (zone.opacity != 1.0 || buffer->opacity != 1.0f) {
        return unchecked("content", "the zone is translucent");
    }
    auto source = unscaled_source(buffer, placed);
    if (!source) {
        return unchecked("content", "the content is scaled to the zone (exact only unscaled)");
    }
    // The content where it lies inside the zone and on the output.
    wlr_box output_box{0, 0, frame->width, frame->height};
    wlr_box in_zone{}, visible{};
    if (!wlr_box_intersection(&in_zone, &on_output, &zone_on_output) ||
        !wlr_box_intersection(&visible, &in_zone, &output_box)) {
        return unchecked("content", "the content lies outside the zone");
    }
    wlr_box source_region{source->x + visible.x - on_output.x, source->y + visible.y - on_output.y,
                          visible.width, visible.height};
    auto* renderer = server_.renderer();
    auto shown = read_buffer(renderer, frame, visible);
    // Taken before the render when it could be; a buffer only tessera writes reads the same now.
    auto expected =
        snapshot && snapshot->width() == buffer->buffer->width &&
                snapshot->height() == buffer->buffer->height
            ? std::expected<Image, std::string>(snapshot->crop(
                  source_region.x, source_region.y, source_region.width, source_region.height))
            : read_buffer(renderer, buffer->buffer, source_region);
    if (!shown || !expected) {
        return unchecked("content", !shown ? "output frame: " + shown.error()
                                           : "content: " + expected.error());
    }
    // What the content draws beside its main buffer (subsurfaces, a guest's cursor) is its
    // own: those pixels are not compared.
    std::vector<PixelArea> skip;
    auto* tree = content.content_tree();
    struct Visit {
        wlr_scene_buffer* main;
        wlr_box visible;
        std::vector<PixelArea>* skip;
    } visit{
        buffer, {visible.x + origin.x, visible.y + origin.y, visible.width, visible.height}, &skip};
    wlr_scene_node_for_each_buffer(
        &tree->node,
        [](wlr_scene_buffer* other, int, int, void* data) {
            auto& v = *static_cast<Visit*>(data);
            if (other == v.main || !other->buffer) {
                return;
            }
            wlr_box box = placed_box(other), overlap{};
            if (wlr_box_intersection(&overlap, &box, &v.visible)) {
                v.skip->push_back({overlap.x - v.visible.x, overlap.y - v.visible.y, overlap.width,
                                   overlap.height});
            }
        },
        &visit);
    auto check = check_pixels(*shown, *expected, skip);
    return judged("content", check, {visible.x - zone_on_output.x, visible.y - zone_on_output.y});
}

Outcome ZoneVerifier::verify_fallback(const ivi::Zone& zone, const Output& output,
                                      wlr_buffer* frame, const wlr_box& zone_box) const {
    const auto& color = zone.fallback.color;
    if (!zone.fallback.image.empty()) {
        return unchecked("fallback", "a fallback image is not checked");
    }
    if (zone.opacity != 1.0 || color.a != 1.0f) {
        return unchecked("fallback", "the fallback is translucent");
    }
    wlr_box origin = output.layout_box();
    wlr_box region{zone_box.x - origin.x, zone_box.y - origin.y, zone_box.width, zone_box.height};
    wlr_box output_box{0, 0, frame->width, frame->height}, visible{};
    if (!wlr_box_intersection(&visible, &region, &output_box)) {
        return unchecked("fallback", "the zone lies outside its output");
    }
    auto shown = read_buffer(server_.renderer(), frame, visible);
    if (!shown) {
        return unchecked("fallback", "output frame: " + shown.error());
    }
    // Colours are rounded to 8 bits on the way: one step either side is the same colour.
    auto check = check_fill(*shown, {to_8bit(color.r), to_8bit(color.g), to_8bit(color.b), 255}, 1);
    return judged("fallback", check, {visible.x - region.x, visible.y - region.y});
}

} // namespace tessera::compositor
