#include "zone_scene.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "pixel_buffer.hpp"
#include "plane_planner.hpp"
#include "server.hpp"

#include <algorithm>
#include <cmath>
#include <format>

namespace tessera::compositor {
namespace {

// wlroots blends premultiplied colours.
void premultiplied(const ivi::Color& color, double opacity, float out[4]) {
    float alpha = color.a * static_cast<float>(opacity);
    out[0] = color.r * alpha;
    out[1] = color.g * alpha;
    out[2] = color.b * alpha;
    out[3] = alpha;
}

// Hit testing for a surface that a zone scales: the scene offers the point in the scaled
// buffer's coordinates, the surface's input region is in its own.
bool scaled_surface_accepts_input(wlr_scene_buffer* buffer, double* sx, double* sy) {
    auto* scene_surface = wlr_scene_surface_try_from_buffer(buffer);
    if (!scene_surface || buffer->dst_width <= 0 || buffer->dst_height <= 0) {
        return false;
    }
    double x = buffer->src_box.x + *sx * buffer->src_box.width / buffer->dst_width;
    double y = buffer->src_box.y + *sy * buffer->src_box.height / buffer->dst_height;
    return wlr_surface_point_accepts_input(scene_surface->surface, x, y);
}

// wlroots takes a surface's opaque region as it is, in surface coordinates, for the whole node;
// once a zone crops or scales the surface it names the wrong area, and the scene skips drawing
// what lies below parts that are not opaque. With a linear filter the scaled edges blend with
// what is below them (pixman samples transparency outside the buffer), so below a wrongly
// opaque edge they blended with stale pixels of a reused buffer. The region is mapped into
// the node's coordinates, rounded inwards, and kept clear of edges the filter blends.
void place_opaque_region(wlr_scene_buffer* buffer, const wlr_surface& surface,
                         const wlr_fbox& source, int dest_width, int dest_height,
                         wlr_scale_filter_mode filter) {
    double sx = dest_width / source.width, sy = dest_height / source.height;
    bool blends = filter == WLR_SCALE_FILTER_BILINEAR && (sx != 1 || sy != 1);
    int inset_x = blends ? static_cast<int>(std::ceil(sx / 2)) : 0;
    int inset_y = blends ? static_cast<int>(std::ceil(sy / 2)) : 0;
    pixman_region32_t placed;
    pixman_region32_init(&placed);
    int count = 0;
    const auto* rects = pixman_region32_rectangles(&surface.opaque_region, &count);
    for (int i = 0; i < count; ++i) {
        int x1 = static_cast<int>(std::ceil((rects[i].x1 - source.x) * sx)) + inset_x;
        int y1 = static_cast<int>(std::ceil((rects[i].y1 - source.y) * sy)) + inset_y;
        int x2 = static_cast<int>(std::floor((rects[i].x2 - source.x) * sx)) - inset_x;
        int y2 = static_cast<int>(std::floor((rects[i].y2 - source.y) * sy)) - inset_y;
        if (x1 < x2 && y1 < y2) {
            pixman_region32_union_rect(&placed, &placed, x1, y1, x2 - x1, y2 - y1);
        }
    }
    wlr_scene_buffer_set_opaque_region(buffer, &placed);
    pixman_region32_fini(&placed);
}

// Integer scaling is for pixel-exact content: no smoothing.
wlr_scale_filter_mode filter_for(ivi::FitMode fit) {
    return fit == ivi::FitMode::integer ? WLR_SCALE_FILTER_NEAREST : WLR_SCALE_FILTER_BILINEAR;
}

// Also on buffers a plane shows (their nodes are disabled): the planner reads their opacity.
void set_opacity(wlr_scene_tree* tree, double opacity) {
    find_scene_buffer(&tree->node, [opacity](wlr_scene_buffer* buffer) {
        wlr_scene_buffer_set_opacity(buffer, static_cast<float>(opacity));
        return false; // every buffer
    });
}

} // namespace

std::string_view frame_path_kind_name(FramePathKind kind) {
    switch (kind) {
    case FramePathKind::plane:
        return "plane";
    case FramePathKind::blit:
        return "blit";
    case FramePathKind::copy:
        return "copy";
    }
    return "blit";
}

ZoneScene::ZoneScene(Server& server, ivi::Layout layout)
    : server_(server), model_(std::move(layout)),
      hidden_(wlr_scene_tree_create(&server.scene()->tree)),
      watchdog_timer_(server.event_loop(), [this] { check_watchdog(); }) {
    wlr_scene_node_set_enabled(&hidden_->node, false);
    outputs_changed();
}

ZoneScene::~ZoneScene() {
    for (auto& [name, node] : nodes_) {
        wlr_scene_node_destroy(&node->tree->node);
    }
    wlr_scene_node_destroy(&hidden_->node);
}

Output* ZoneScene::output_for(const std::string& key) const {
    const auto* spec = model_.layout().find_output(key);
    if (!spec) {
        return nullptr;
    }
    if (spec->connector) {
        if (auto* output = server_.find_output(*spec->connector)) {
            return output;
        }
    }
    const auto& outputs = server_.outputs();
    if (spec->index && *spec->index >= 0 && static_cast<size_t>(*spec->index) < outputs.size()) {
        return outputs[static_cast<size_t>(*spec->index)].get();
    }
    return nullptr;
}

void ZoneScene::outputs_changed() {
    for (const auto& spec : model_.layout().outputs) {
        auto* output = output_for(spec.key);
        wlr_box box = output ? output->layout_box() : wlr_box{};
        model_.set_output_size(spec.key, wlr_box_empty(&box)
                                             ? std::nullopt
                                             : std::optional(ivi::Size{box.width, box.height}));
    }
    if (const auto* profile = model_.follow_outputs()) {
        log::info(ivi_log, "profile {}: chosen by the outputs present", profile->name);
    }
    commit();
}

bool ZoneScene::commit() {
    bool changed = model_.commit();
    // Zones that a reload removed.
    std::erase_if(nodes_, [&](auto& entry) {
        if (model_.find(entry.first)) {
            return false;
        }
        wlr_scene_node_reparent(&entry.second->content->node, hidden_);
        wlr_scene_node_destroy(&entry.second->tree->node);
        watchdog_.forget(entry.first);
        return true;
    });
    for (const auto& zone : model_.zones()) {
        auto& node = node_for(zone);
        update_node(node, zone);
        // zones() is bottom to top.
        wlr_scene_node_raise_to_top(&node.tree->node);
    }
    for (auto* content : contents_) {
        assign(content);
    }
    for (auto& [name, node] : nodes_) {
        update_fallback(*node);
    }
    verifier_.zones_changed();
    if (model_.profile() != profile_) {
        profile_ = model_.profile();
        server_.health().publish("profile", {{"name", profile_}});
    }
    if (changed) {
        // Plane assignments follow zone changes even when no pixel of the scene changed.
        for (const auto& output : server_.outputs()) {
            wlr_output_schedule_frame(output->wlr());
        }
    }
    return changed;
}

ZoneScene::ZoneNode& ZoneScene::node_for(const ivi::Zone& zone) {
    auto it = nodes_.find(zone.name);
    if (it != nodes_.end()) {
        return *it->second;
    }
    auto node = std::make_unique<ZoneNode>();
    node->tree = wlr_scene_tree_create(server_.layers().zones);
    node->tree->node.data = &node->tag;
    const float transparent[4] = {0, 0, 0, 0};
    node->background = wlr_scene_rect_create(node->tree, 0, 0, transparent);
    node->fallback = wlr_scene_rect_create(node->tree, 0, 0, transparent);
    node->content = wlr_scene_tree_create(node->tree);
    return *nodes_.emplace(zone.name, std::move(node)).first->second;
}

void ZoneScene::update_node(ZoneNode& node, const ivi::Zone& zone) {
    if (!node.state.output.empty() && node.state.output != zone.output) {
        // Its output went or came back (outputs = [...]): in the same commit.
        log::info(ivi_log, "zone {}: now on output {} (was on {})", zone.name, zone.output,
                  node.state.output);
        server_.health().publish(
            "zone-output",
            {{"zone", zone.name}, {"output", zone.output}, {"previous", node.state.output}});
    }
    node.state = zone;
    auto* output = output_for(zone.output);
    wlr_box origin = output ? output->layout_box() : wlr_box{};
    wlr_scene_node_set_position(&node.tree->node, origin.x + zone.rect.x, origin.y + zone.rect.y);
    wlr_scene_node_set_enabled(&node.tree->node, output && zone.visible && !zone.rect.empty());

    float color[4];
    premultiplied(zone.background, zone.opacity, color);
    wlr_scene_rect_set_color(node.background, color);
    wlr_scene_rect_set_size(node.background, zone.rect.width, zone.rect.height);
    premultiplied(zone.fallback.color, zone.opacity, color);
    wlr_scene_rect_set_color(node.fallback, color);
    wlr_scene_rect_set_size(node.fallback, zone.rect.width, zone.rect.height);
}

void ZoneScene::update_fallback(ZoneNode& node) {
    bool empty = std::ranges::none_of(
        contents_, [&](ZoneContent* c) { return c->zone == node.state.name && c->ready(); });
    // Floating zones' windows live outside the zone's tree: the watchdog leaves them alone.
    bool showing = !empty && !node.state.floating && node.tree->node.enabled;
    watchdog_.update(node.state.name, node.state.watchdog, showing,
                     std::chrono::steady_clock::now());
    arm_watchdog();
    bool stalled = watchdog_.stalled(node.state.name);
    wlr_scene_node_set_enabled(&node.content->node, !stalled);
    empty = empty || stalled;
    wlr_scene_node_set_enabled(&node.fallback->node, empty);

    const auto& path = node.state.fallback.image;
    if (path != node.fallback_image_path) {
        node.fallback_image_path = path;
        if (node.fallback_image) {
            wlr_scene_node_destroy(&node.fallback_image->node);
            node.fallback_image = nullptr;
        }
        if (!path.empty()) {
            if (auto image = read_png(path)) {
                auto* buffer = create_pixel_buffer(*image);
                node.fallback_image = wlr_scene_buffer_create(node.tree, buffer);
                wlr_buffer_drop(buffer);
                // Just above the fallback colour, below content.
                wlr_scene_node_place_above(&node.fallback_image->node, &node.fallback->node);
            } else {
                log::warn(ivi_log, "zone {}: fallback image: {}", node.state.name, image.error());
            }
        }
    }
    if (node.fallback_image) {
        auto* buffer = node.fallback_image->buffer;
        auto p = ivi::place_content({buffer->width, buffer->height}, node.state.rect.size(),
                                    node.state.fit);
        wlr_scene_node_set_position(&node.fallback_image->node, p.dest.x, p.dest.y);
        wlr_scene_buffer_set_dest_size(node.fallback_image, p.dest.width, p.dest.height);
        wlr_fbox source{p.source.x, p.source.y, p.source.width, p.source.height};
        wlr_scene_buffer_set_source_box(node.fallback_image, &source);
        wlr_scene_buffer_set_opacity(node.fallback_image, static_cast<float>(node.state.opacity));
        wlr_scene_buffer_set_filter_mode(node.fallback_image, filter_for(node.state.fit));
        wlr_scene_node_set_enabled(&node.fallback_image->node, empty && !p.dest.empty());
    }
}

const ivi::Zone* ZoneScene::zone_for(const ZoneContent& content) const {
    if (content.zone_override) {
        return model_.find(*content.zone_override);
    }
    auto name = model_.layout().zone_for(content.identity());
    return name ? model_.find(*name) : nullptr;
}

ZoneScene::ZoneNode* ZoneScene::node_of(const ZoneContent& content) const {
    auto it = nodes_.find(content.zone);
    return it == nodes_.end() ? nullptr : it->second.get();
}

void ZoneScene::add(ZoneContent* content) {
    if (std::ranges::find(contents_, content) == contents_.end()) {
        contents_.push_back(content);
        frames_counted_[content] = content->frames();
    }
    content->on_frame = [this, content] { content_frame(content); };
    assign(content);
    if (auto* node = node_of(*content)) {
        update_fallback(*node);
    }
}

void ZoneScene::remove(ZoneContent* content) {
    if (!content->zone.empty()) {
        report_zone_content(*content, "");
    }
    std::erase(contents_, content);
    frames_counted_.erase(content);
    content->on_frame = nullptr;
    if (content->surface()) {
        scaling_.erase(content->surface());
    }
    if (auto it = nodes_.find(content->zone); it != nodes_.end()) {
        content->zone.clear();
        update_fallback(*it->second);
    }
}

std::expected<void, std::string> ZoneScene::move(ZoneContent* content, const std::string& zone) {
    if (!model_.find(zone)) {
        return std::unexpected(std::format("no zone named '{}'", zone));
    }
    std::string previous = content->zone;
    content->zone_override = zone;
    assign(content);
    for (const auto& name : {previous, zone}) {
        if (auto it = nodes_.find(name); it != nodes_.end()) {
            update_fallback(*it->second);
        }
    }
    return {};
}

ZoneContent* ZoneScene::find_content(uint64_t id) const {
    auto it = std::ranges::find(contents_, id, &ZoneContent::id);
    return it == contents_.end() ? nullptr : *it;
}

void ZoneScene::assign(ZoneContent* content) {
    const auto* zone = zone_for(*content);
    std::string name = zone ? zone->name : std::string();
    bool moved = name != content->zone;
    if (moved) {
        report_zone_content(*content, name);
    }
    content->zone = name;
    auto* tree = content->content_tree();
    if (!zone) {
        wlr_scene_node_reparent(&tree->node, hidden_);
        return;
    }
    auto& node = *nodes_.at(name);
    if (zone->floating) {
        // Desktop-like: a window at its own size, centred in the zone when it arrives.
        wlr_scene_node_reparent(&tree->node, server_.layers().toplevels);
        if (moved) {
            wlr_box box = content->content_box();
            wlr_box zone_box{node.tree->node.x, node.tree->node.y, zone->rect.width,
                             zone->rect.height};
            wlr_scene_node_set_position(
                &tree->node, zone_box.x + std::max(0, (zone_box.width - box.width) / 2),
                zone_box.y + std::max(0, (zone_box.height - box.height) / 2));
        }
        return;
    }
    wlr_scene_node_reparent(&tree->node, node.content);
    content->configure_size(zone->rect.width, zone->rect.height);
    place(content);
}

void ZoneScene::place(ZoneContent* content) {
    const auto* node = node_of(*content);
    if (!node || node->state.floating) {
        return;
    }
    auto* tree = content->content_tree();
    wlr_box box = content->content_box();
    auto p = ivi::place_content({box.width, box.height}, node->state.rect.size(), node->state.fit);
    wlr_scene_node_set_position(&tree->node, p.dest.x, p.dest.y);
    if (auto* buffer = content->main_buffer(); buffer && !p.dest.empty()) {
        // The main surface shows the chosen part of the window at the chosen size.
        wlr_fbox source{box.x + p.source.x, box.y + p.source.y, p.source.width, p.source.height};
        wlr_scene_buffer_set_source_box(buffer, &source);
        wlr_scene_buffer_set_dest_size(buffer, p.dest.width, p.dest.height);
        wlr_scene_buffer_set_filter_mode(buffer, filter_for(node->state.fit));
        // The chosen part's corner at the content tree's: the trees between them may be offset
        // (a window's surface lies at minus its geometry's offset in its xdg tree).
        int offset_x = 0, offset_y = 0;
        for (auto* parent = buffer->node.parent; parent && parent != tree;
             parent = parent->node.parent) {
            offset_x += parent->node.x;
            offset_y += parent->node.y;
        }
        wlr_scene_node_set_position(&buffer->node, -offset_x, -offset_y);
        if (content->surface()) {
            place_opaque_region(buffer, *content->surface(), source, p.dest.width, p.dest.height,
                                filter_for(node->state.fit));
            buffer->point_accepts_input = scaled_surface_accepts_input;
            scaling_[content->surface()] = {p.source.width / p.dest.width,
                                            p.source.height / p.dest.height, source.x, source.y};
        }
    }
    content->placed();
    set_opacity(tree, node->state.opacity);
}

void ZoneScene::content_committed(ZoneContent* content) {
    if (std::ranges::find(contents_, content) == contents_.end()) {
        return;
    }
    place(content);
    if (watchdog_.stalled(content->zone)) {
        // Hidden, it gets no frame callbacks from the scene; a client that asked for one
        // before drawing again would never draw the frame that ends the stall.
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        find_scene_buffer(&content->content_tree()->node, [&](wlr_scene_buffer* buffer) {
            wlr_scene_buffer_send_frame_done(buffer, &now);
            return false; // every buffer
        });
    }
}

// On every frame of every content: no timer is touched here. A frame only moves its zone's
// deadline later, so the timer armed for the earlier one fires, finds nothing due and re-arms.
void ZoneScene::content_frame(ZoneContent* content) {
    if (auto change = watchdog_.frame(content->zone, std::chrono::steady_clock::now())) {
        report_stall(*change);
        if (auto it = nodes_.find(content->zone); it != nodes_.end()) {
            update_fallback(*it->second); // waits for frames again: arms the timer
        }
    }
    if (auto box = zone_box(content->zone)) {
        box->first->content_frame(*content);
    }
}

void ZoneScene::check_watchdog() {
    for (const auto& change : watchdog_.check(std::chrono::steady_clock::now())) {
        report_stall(change);
        if (auto it = nodes_.find(change.zone); it != nodes_.end()) {
            update_fallback(*it->second);
            // Send frame callbacks once: a client blocked on one may be slow, not hung.
            for (auto* content : contents_) {
                if (content->zone == change.zone) {
                    content_committed(content);
                }
            }
        }
    }
    arm_watchdog();
}

void ZoneScene::arm_watchdog() {
    auto next = watchdog_.next_check();
    if (!next) {
        watchdog_timer_.disarm();
        return;
    }
    auto delay =
        std::chrono::ceil<std::chrono::milliseconds>(*next - std::chrono::steady_clock::now());
    watchdog_timer_.arm(std::max(delay, std::chrono::milliseconds(1)));
}

void ZoneScene::report_zone_content(const ZoneContent& content, const std::string& zone) {
    server_.health().publish("zone-content", {{"zone", zone},
                                              {"previous", content.zone},
                                              {"content", content.describe()},
                                              {"id", content.id()}});
}

void ZoneScene::report_stall(const ZoneWatchdog::Change& change) {
    std::string shown;
    for (auto* content : contents_) {
        if (content->zone == change.zone) {
            shown += (shown.empty() ? "" : ", ") + content->describe();
        }
    }
    auto silent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(change.silence);
    const auto* zone = model_.find(change.zone);
    auto period = zone ? zone->watchdog.count() : 0;
    if (change.stalled) {
        log::warn(ivi_log, "zone {}: {} sent no frame for {} ms: showing the fallback", change.zone,
                  shown, silent_ms.count());
    } else {
        log::info(ivi_log, "zone {}: {} sends frames again after {} ms", change.zone, shown,
                  silent_ms.count());
    }
    server_.health().publish(change.stalled ? "stalled" : "recovered",
                             {{"zone", change.zone},
                              {"content", shown},
                              {"watchdog_ms", period},
                              {"silent_ms", silent_ms.count()}});
}

ivi::PlanesMode ZoneScene::output_planes(const Output& output) const {
    for (const auto& spec : model_.layout().outputs) {
        if (output_for(spec.key) == &output) {
            return spec.planes;
        }
    }
    return ivi::PlanesMode::automatic;
}

std::vector<PlaneCandidate> ZoneScene::plane_candidates(const Output& output) const {
    std::vector<PlaneCandidate> out;
    for (auto* content : contents_) {
        auto* node = node_of(*content);
        if (!node || node->state.floating || !node->tree->node.enabled || !content->ready() ||
            watchdog_.stalled(node->state.name) || output_for(node->state.output) != &output) {
            continue;
        }
        auto* spec = model_.layout().find_output(node->state.output);
        // (A translucent zone's opacity is on its buffer, where the planner checks it.)
        auto mode = node->state.planes.value_or(spec ? spec->planes : ivi::PlanesMode::automatic);
        if (mode == ivi::PlanesMode::off) {
            continue;
        }
        if (auto* buffer = content->main_buffer()) {
            out.push_back({content, buffer, node->state.name, mode, node->state.plane_priority});
        }
    }
    return out;
}

void ZoneScene::prepare_frame(const Output& output) {
    for (auto* content : contents_) {
        auto* node = node_of(*content);
        if (node && output_for(node->state.output) == &output) {
            content->prepare_frame();
        }
    }
}

void ZoneScene::count_frame_paths(const Output& output) {
    const auto* planner = output.planner();
    for (auto* content : contents_) {
        auto& counted = frames_counted_[content];
        if (content->frames() == counted) {
            continue;
        }
        auto* node = node_of(*content);
        if (!node || output_for(node->state.output) != &output) {
            continue;
        }
        uint64_t frames = content->frames() - counted;
        counted = content->frames();
        auto kind = planner && planner->on_plane(*content) ? FramePathKind::plane
                    : content->frame_copied()              ? FramePathKind::copy
                                                           : FramePathKind::blit;
        auto& paths = frame_paths_[node->state.name];
        (kind == FramePathKind::plane  ? paths.plane
         : kind == FramePathKind::copy ? paths.copy
                                       : paths.blit) += frames;
        paths.composited += kind == FramePathKind::plane ? 0 : 1;
        paths.last = kind;
    }
}

bool ZoneScene::accepts_input(wlr_scene_node* node, ivi::InputKind kind) const {
    auto* zone = SceneTag::find<ZoneNode>(node, SceneTag::Kind::zone);
    return !zone || (zone->state.input & kind) != 0;
}

void ZoneScene::to_surface_coords(wlr_surface* surface, double& sx, double& sy) const {
    if (auto it = scaling_.find(surface); it != scaling_.end()) {
        sx = it->second.ox + sx * it->second.sx;
        sy = it->second.oy + sy * it->second.sy;
    }
}

std::optional<std::pair<Output*, wlr_box>> ZoneScene::zone_box(std::string_view zone) const {
    auto it = nodes_.find(zone);
    if (it == nodes_.end() || !it->second->tree->node.enabled) {
        return std::nullopt;
    }
    const auto& node = *it->second;
    auto* output = output_for(node.state.output);
    if (!output) {
        return std::nullopt;
    }
    return std::pair{output, wlr_box{node.tree->node.x, node.tree->node.y, node.state.rect.width,
                                     node.state.rect.height}};
}

} // namespace tessera::compositor
