#include "plane_planner.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "server.hpp"
#include "zone_content.hpp"
#include "zone_scene.hpp"

#include <xf86drm.h>
#include <xf86drmMode.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <format>
#include <ranges>

namespace tessera::compositor {

struct PlanePlanner::Candidate {
    ZoneContent* content;
    wlr_scene_buffer* buffer;
    wlr_scene_node* hide = nullptr; // disabled while a plane shows the content
    std::string zone;
    ivi::PlanesMode mode;
    int priority;
    size_t order = 0; // position in the scene's render order
    LayerKey key;
};

namespace {

// The size a scene buffer with a buffer is drawn at, in layout pixels.
wlr_box drawn_box(const wlr_scene_buffer* buffer, int x, int y) {
    return {x, y, buffer->dst_width > 0 ? buffer->dst_width : buffer->buffer->width,
            buffer->dst_height > 0 ? buffer->dst_height : buffer->buffer->height};
}

// Something the scene draws, in layout coordinates.
struct Leaf {
    wlr_scene_node* node;
    wlr_box box;
};

// Every visible buffer and non-transparent rectangle, bottom to top (the render order).
// `on_planes`: buffers disabled because a plane shows them, which count as visible.
void collect_leaves(wlr_scene_node* node, int x, int y, const std::set<wlr_scene_node*>& on_planes,
                    std::vector<Leaf>& out) {
    if (!node->enabled && !on_planes.contains(node)) {
        return;
    }
    x += node->x;
    y += node->y;
    switch (node->type) {
    case WLR_SCENE_NODE_TREE: {
        wlr_scene_node* child = nullptr;
        wl_list_for_each(child, &wlr_scene_tree_from_node(node)->children, link) {
            collect_leaves(child, x, y, on_planes, out);
        }
        break;
    }
    case WLR_SCENE_NODE_RECT: {
        auto* rect = wlr_scene_rect_from_node(node);
        if (rect->color[3] > 0) {
            out.push_back({node, {x, y, rect->width, rect->height}});
        }
        break;
    }
    case WLR_SCENE_NODE_BUFFER: {
        auto* buffer = wlr_scene_buffer_from_node(node);
        if (buffer->buffer) {
            out.push_back({node, drawn_box(buffer, x, y)});
        }
        break;
    }
    }
}

bool overlaps(const wlr_box& a, const wlr_box& b) {
    wlr_box both{};
    return wlr_box_intersection(&both, &a, &b);
}

} // namespace

bool PlanePlanner::LayerKey::operator==(const LayerKey& other) const {
    return format == other.format && modifier == other.modifier && width == other.width &&
           height == other.height && wlr_fbox_equal(&src, &other.src) &&
           wlr_box_equal(&dst, &other.dst) && z == other.z;
}

PlanePlanner::PlanePlanner(Server& server, Output& output) : server_(server), output_(output) {}

PlanePlanner::~PlanePlanner() {
    set_hidden({});
    if (auto* feedback = server_.scanout_feedback()) {
        feedback->keep_only(output_.wlr(), {});
    }
    for (auto& layer : layers_) {
        layer->feedback.disconnect();
        wlr_output_layer_destroy(layer->layer);
    }
    if (primary_) {
        wlr_buffer_unlock(primary_);
    }
}

// Overlay planes the output's CRTC can use: more layers than that are never offered, so the
// zones with the highest priority are the ones that get them.
void PlanePlanner::count_budget() {
    int fd = wlr_backend_get_drm_fd(output_.wlr()->backend);
    uint32_t connector_id = wlr_drm_connector_get_id(output_.wlr());
    if (fd < 0) {
        return;
    }
    int crtc_index = -1;
    if (auto* connector = drmModeGetConnector(fd, connector_id)) {
        if (auto* encoder = drmModeGetEncoder(fd, connector->encoder_id)) {
            if (auto* resources = drmModeGetResources(fd)) {
                for (int i = 0; i < resources->count_crtcs; ++i) {
                    if (resources->crtcs[i] == encoder->crtc_id) {
                        crtc_index = i;
                    }
                }
                drmModeFreeResources(resources);
            }
            drmModeFreeEncoder(encoder);
        }
        drmModeFreeConnector(connector);
    }
    if (crtc_index < 0) {
        return; // not lit yet
    }
    int overlays = 0;
    if (auto* planes = drmModeGetPlaneResources(fd)) {
        for (uint32_t i = 0; i < planes->count_planes; ++i) {
            auto* plane = drmModeGetPlane(fd, planes->planes[i]);
            if (!plane) {
                continue;
            }
            bool usable = (plane->possible_crtcs & (1u << crtc_index)) != 0;
            drmModeFreePlane(plane);
            if (!usable) {
                continue;
            }
            auto* props = drmModeObjectGetProperties(fd, planes->planes[i], DRM_MODE_OBJECT_PLANE);
            for (uint32_t p = 0; props && p < props->count_props; ++p) {
                auto* prop = drmModeGetProperty(fd, props->props[p]);
                if (prop && std::strcmp(prop->name, "type") == 0) {
                    overlays += props->prop_values[p] == DRM_PLANE_TYPE_OVERLAY ? 1 : 0;
                    if (props->prop_values[p] == DRM_PLANE_TYPE_PRIMARY && !primary_plane_) {
                        primary_plane_ = planes->planes[i];
                    }
                }
                drmModeFreeProperty(prop);
            }
            drmModeFreeObjectProperties(props);
        }
        drmModeFreePlaneResources(planes);
    }
    budget_ = overlays;
    budget_known_ = true;
    log::info(plane_log, "output {}: {} overlay planes", output_.name(), budget_);
}

std::vector<PlanePlanner::Candidate> PlanePlanner::candidates() const {
    std::vector<Candidate> out;
    auto* zones = server_.zones();
    if (budget_ == 0 || !zones || zones->output_planes(output_) == ivi::PlanesMode::off) {
        return out; // no overlay planes (known), no layout, or everything composited here
    }
    // The checks of the buffer alone first: without dma-buf content nothing walks the scene.
    std::vector<std::pair<PlaneCandidate, wlr_dmabuf_attributes>> usable;
    for (auto& c : zones->plane_candidates(output_)) {
        auto* sb = c.buffer;
        wlr_dmabuf_attributes dmabuf{};
        if (sb->buffer && wlr_buffer_get_dmabuf(sb->buffer, &dmabuf) && sb->opacity >= 1.0f &&
            sb->transform == WL_OUTPUT_TRANSFORM_NORMAL) {
            usable.emplace_back(std::move(c), dmabuf);
        }
    }
    if (usable.empty()) {
        return out;
    }
    std::set<wlr_scene_node*> on_planes;
    for (auto& [id, hidden] : hidden_) {
        on_planes.insert(hidden->node);
    }
    std::vector<Leaf> leaves;
    collect_leaves(&server_.scene()->tree.node, 0, 0, on_planes, leaves);
    wlr_box screen = output_.layout_box();

    for (auto& [c, dmabuf] : usable) {
        auto* sb = c.buffer;
        auto leaf = std::ranges::find(leaves, &sb->node, &Leaf::node);
        if (leaf == leaves.end()) {
            continue; // not drawn
        }
        wlr_box dst = leaf->box;
        wlr_box inside{};
        if (!wlr_box_intersection(&inside, &dst, &screen) || !wlr_box_equal(&inside, &dst)) {
            continue; // partly off the output
        }
        // wlroots enables a surface's buffer node again on each commit, so what is disabled
        // for a native surface is the tree of the surface and its subsurfaces; one with
        // subsurfaces stays composited (they would vanish with it).
        wlr_scene_node* hide = &sb->node;
        if (c.content->surface()) {
            auto* tree = sb->node.parent;
            if (!tree || wl_list_length(&tree->children) != 1) {
                continue;
            }
            hide = &tree->node;
        }
        Candidate candidate{c.content, sb, hide, c.zone, c.mode, c.priority};
        candidate.order = static_cast<size_t>(leaf - leaves.begin());
        candidate.key.format = dmabuf.format;
        candidate.key.modifier = dmabuf.modifier;
        candidate.key.width = sb->buffer->width;
        candidate.key.height = sb->buffer->height;
        candidate.key.src = sb->src_box;
        candidate.key.dst = {dst.x - screen.x, dst.y - screen.y, dst.width, dst.height};
        out.push_back(std::move(candidate));
    }

    // Composited content above an auto candidate would end up under its plane. Candidates
    // above it are settled in select(); anything else drawn there, or a cursor the renderer
    // draws, keeps it composited.
    std::set<const wlr_scene_node*> candidate_nodes;
    for (const auto& c : out) {
        candidate_nodes.insert(&c.buffer->node);
    }
    std::vector<wlr_box> cursors;
    wlr_output_cursor* cursor = nullptr;
    wl_list_for_each(cursor, &output_.wlr()->cursors, link) {
        if (cursor->visible && cursor->enabled && output_.wlr()->hardware_cursor != cursor) {
            cursors.push_back({static_cast<int>(cursor->x) - cursor->hotspot_x + screen.x,
                               static_cast<int>(cursor->y) - cursor->hotspot_y + screen.y,
                               static_cast<int>(cursor->width), static_cast<int>(cursor->height)});
        }
    }
    std::erase_if(out, [&](const Candidate& c) {
        if (c.mode != ivi::PlanesMode::automatic) {
            return false;
        }
        wlr_box dst = leaves[c.order].box;
        auto above = std::ranges::subrange(leaves.begin() + static_cast<ptrdiff_t>(c.order) + 1,
                                           leaves.end());
        return std::ranges::any_of(above,
                                   [&](const Leaf& other) {
                                       return overlaps(other.box, dst) &&
                                              !candidate_nodes.contains(other.node);
                                   }) ||
               std::ranges::any_of(cursors, [&](const wlr_box& box) { return overlaps(box, dst); });
    });
    std::ranges::sort(out, {}, &Candidate::order);
    return out;
}

// Forced zones first, then by plane priority; an incumbent keeps its plane against an equal
// priority, so assignments do not flip between frames.
std::vector<PlanePlanner::Candidate*> PlanePlanner::select(std::vector<Candidate>& all) const {
    std::vector<Candidate*> ranked;
    for (auto& c : all) {
        auto refused = refused_.find(c.content->id());
        if (refused != refused_.end() && refused->second == c.key.unplaced()) {
            continue;
        }
        ranked.push_back(&c);
    }
    auto rank = [&](const Candidate* c) {
        return std::tuple(c->mode == ivi::PlanesMode::force, c->priority,
                          offered_.contains(c->content->id()), c->order);
    };
    std::ranges::stable_sort(ranked, [&](auto* a, auto* b) { return rank(a) > rank(b); });
    if (ranked.size() > static_cast<size_t>(budget_)) {
        ranked.resize(static_cast<size_t>(budget_));
    }
    // A candidate left to the composited frame must not be covered by a plane below it.
    std::vector<Candidate*> chosen;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        Candidate* c = &*it;
        if (std::ranges::find(ranked, c) == ranked.end()) {
            continue;
        }
        bool under_composited = c->mode != ivi::PlanesMode::force &&
                                std::any_of(all.rbegin(), it, [&](const Candidate& above) {
                                    return std::ranges::find(chosen, &above) == chosen.end() &&
                                           overlaps(above.key.dst, c->key.dst);
                                });
        if (!under_composited) {
            chosen.push_back(c);
        }
    }
    std::ranges::reverse(chosen); // bottom to top: the layers' z-order
    for (size_t i = 0; i < chosen.size(); ++i) {
        chosen[i]->key.z = i;
    }
    return chosen;
}

PlanePlanner::Layer& PlanePlanner::layer_for(uint64_t content_id) {
    if (auto it = layer_of_.find(content_id); it != layer_of_.end()) {
        return *it->second;
    }
    for (auto& layer : layers_) {
        if (std::ranges::none_of(layer_of_,
                                 [&](auto& entry) { return entry.second == layer.get(); })) {
            layer_of_[content_id] = layer.get();
            return *layer;
        }
    }
    auto& layer = *layers_.emplace_back(std::make_unique<Layer>());
    layer.layer = wlr_output_layer_create(output_.wlr());
    // Sent during a commit that left this layer's buffer composited, when the planes that
    // could show it changed.
    layer.feedback.connect(
        &layer.layer->events.feedback,
        [&layer](wlr_output_layer_feedback_event* event) { layer.formats.assign(*event); });
    layer_of_[content_id] = &layer;
    return layer;
}

void PlanePlanner::hide_on_plane(const Candidate& candidate) {
    wlr_scene_node_set_enabled(candidate.hide, false);
    auto& hidden = *(hidden_[candidate.content->id()] = std::make_unique<Hidden>());
    hidden.buffer = candidate.buffer;
    hidden.node = candidate.hide;
    uint64_t id = candidate.content->id();
    hidden.destroyed.connect(&candidate.hide->events.destroy, [this, id](void*) {
        hidden_.erase(id); // the content went away with its node
    });
    // A disabled node leaves its outputs, which the scene tells the surface; it is still shown
    // on this one.
    if (auto* surface = candidate.content->surface()) {
        wlr_surface_send_enter(surface, output_.wlr());
    }
}

// A native client whose buffer the planes refused learns which formats they take.
void PlanePlanner::tell_formats(const Candidate& refused) {
    auto* feedback = server_.scanout_feedback();
    auto* surface = refused.content->surface();
    auto layer = layer_of_.find(refused.content->id());
    if (feedback && surface && layer != layer_of_.end()) {
        feedback->offer(surface, output_.wlr(), layer->second->formats);
    }
}

wlr_scene_buffer* PlanePlanner::buffer_at(double lx, double ly, double* nx, double* ny) const {
    std::vector<std::pair<size_t, wlr_scene_buffer*>> top_first;
    for (auto& [id, hidden] : hidden_) {
        auto accepted = accepted_.find(id);
        top_first.emplace_back(accepted != accepted_.end() ? accepted->second.z : 0,
                               hidden->buffer);
    }
    std::ranges::sort(top_first, std::greater{});
    for (auto& [z, buffer] : top_first) {
        if (!buffer->buffer) {
            continue; // unmapped since it was hidden
        }
        int x = 0, y = 0;
        wlr_scene_node_coords(&buffer->node, &x, &y);
        wlr_box box = drawn_box(buffer, x, y);
        double rx = lx - x, ry = ly - y;
        if (rx < 0 || ry < 0 || rx >= box.width || ry >= box.height ||
            (buffer->point_accepts_input && !buffer->point_accepts_input(buffer, &rx, &ry))) {
            continue;
        }
        *nx = rx;
        *ny = ry;
        return buffer;
    }
    return nullptr;
}

void PlanePlanner::set_hidden(const std::set<uint64_t>& hidden) {
    std::erase_if(hidden_, [&](auto& entry) {
        if (hidden.contains(entry.first)) {
            return false;
        }
        // An unmapped surface stays disabled: wlroots enables its tree when it maps again.
        auto* scene_surface = wlr_scene_surface_try_from_buffer(entry.second->buffer);
        wlr_scene_node_set_enabled(entry.second->node,
                                   !scene_surface || scene_surface->surface->mapped);
        return true;
    });
}

bool PlanePlanner::on_plane(const ZoneContent& content) const {
    return hidden_.contains(content.id());
}

std::expected<PlanePlanner::PlaneShown, std::string>
PlanePlanner::plane_shown(const ZoneContent& content) const {
    auto offer = offered_.find(content.id());
    auto accepted = accepted_.find(content.id());
    if (offer == offered_.end() || accepted == accepted_.end()) {
        // Left out of the composited frame, but the commit put it on no plane: not shown.
        return std::unexpected(std::string("left out of the composited frame, on no plane"));
    }
    return PlaneShown{offer->second.buffer, accepted->second.dst, accepted->second.src};
}

void PlanePlanner::send_frame_done(const timespec& now) {
    for (auto& [id, hidden] : hidden_) {
        if (auto* scene_surface = wlr_scene_surface_try_from_buffer(hidden->buffer)) {
            wlr_surface_send_frame_done(scene_surface->surface, &now);
            wlr_presentation_surface_scanned_out_on_output(scene_surface->surface, output_.wlr());
        }
    }
}

void PlanePlanner::content_frame(const ZoneContent& content) {
    if (on_plane(content)) {
        new_frames_.insert(content.id());
        wlr_output_schedule_frame(output_.wlr());
    }
}

bool PlanePlanner::commit_frame(bool composite_all) {
    auto* scene_output = output_.scene_output();
    if (!budget_known_) {
        count_budget();
    }
    // A surface mapped again enables its tree: its content is composited from here on.
    std::erase_if(hidden_, [](auto& entry) { return entry.second->node->enabled; });
    auto all = composite_all ? std::vector<Candidate>{} : candidates();
    auto offered = select(all);

    // Content leaves the composited frame only when the last commit accepted it as it is now
    // and no layer is new (a new one may make the kernel move the others).
    bool settled = std::ranges::all_of(offered, [&](const Candidate* c) {
        auto it = offered_.find(c->content->id());
        return it != offered_.end() && it->second.key == c->key;
    });
    std::set<uint64_t> hide;
    for (auto* c : offered) {
        auto it = accepted_.find(c->content->id());
        if (settled && it != accepted_.end() && it->second == c->key) {
            hide.insert(c->content->id());
        }
    }
    set_hidden(hide);
    for (auto* c : offered) {
        if (hide.contains(c->content->id()) && !hidden_.contains(c->content->id())) {
            hide_on_plane(*c);
        }
    }
    // Layers of content that went away; scanout tranches of surfaces no plane could show.
    std::erase_if(layer_of_, [&](auto& entry) {
        return std::ranges::none_of(all, [&](auto& c) { return c.content->id() == entry.first; });
    });
    // (Nothing to withdraw while no surface has one; a frame composited for a screenshot
    // changes nothing for clients.)
    if (auto* feedback = server_.scanout_feedback();
        feedback && feedback->surfaces() > 0 && !composite_all) {
        std::set<const wlr_surface*> surfaces;
        for (auto& c : all) {
            surfaces.insert(c.content->surface());
        }
        feedback->keep_only(output_.wlr(), surfaces);
    }

    // Not output->needs_frame: every scheduled frame sets it, including the ones asked for
    // by plane content. The scene's damage says whether the composited frame changed.
    bool render = pixman_region32_not_empty(&scene_output->pending_commit_damage) || !primary_ ||
                  primary_->width != output_.wlr()->width ||
                  primary_->height != output_.wlr()->height;
    if (render && plane_log.enabled(log::Level::trace)) {
        auto* box = pixman_region32_extents(&scene_output->pending_commit_damage);
        log::trace(plane_log, "output {}: damage {},{} {}x{}", output_.name(), box->x1, box->y1,
                   box->x2 - box->x1, box->y2 - box->y1);
    }
    // Settled: every offer is one of the last commit's, as it was.
    bool layers_changed = !settled || offered.size() != offered_.size() ||
                          std::ranges::any_of(offered, [&](const Candidate* c) {
                              return offered_.at(c->content->id()).buffer != c->buffer->buffer ||
                                     new_frames_.contains(c->content->id());
                          });
    if (!render && !layers_changed && !output_.gamma_pending()) {
        return true; // nothing new for the screen; the next change asks for a frame
    }

    wlr_output_state state;
    wlr_output_state_init(&state);
    if (render) {
        if (!wlr_scene_output_build_state(scene_output, &state, nullptr)) {
            wlr_output_state_finish(&state);
            return false;
        }
    } else {
        // Only plane content changed: show the same primary buffer again, undamaged.
        pixman_region32_t none;
        pixman_region32_init(&none);
        wlr_output_state_set_buffer(&state, primary_);
        wlr_output_state_set_damage(&state, &none);
        pixman_region32_fini(&none);
    }

    std::vector<wlr_output_layer_state> layers;
    layers.reserve(layers_.size());
    for (auto* c : offered) {
        wlr_output_layer_state layer{};
        layer.layer = layer_for(c->content->id()).layer;
        layer.buffer = c->buffer->buffer;
        layer.src_box = c->buffer->src_box;
        layer.dst_box = c->key.dst;
        layers.push_back(layer);
    }
    for (auto& layer : layers_) {
        if (std::ranges::none_of(layers, [&](auto& l) { return l.layer == layer->layer; })) {
            layers.push_back({.layer = layer->layer});
        }
    }
    if (!layers.empty()) {
        wlr_output_state_set_layers(&state, layers.data(), layers.size());
    }

    output_.add_frame_options(state);
    wlr_buffer* committed = (state.committed & WLR_OUTPUT_STATE_BUFFER) ? state.buffer : nullptr;
    bool ok = wlr_output_commit_state(output_.wlr(), &state);
    if (ok && committed) {
        if (committed != primary_) {
            wlr_buffer_lock(committed);
            if (primary_) {
                wlr_buffer_unlock(primary_);
            }
            primary_ = committed;
        }
        frames_composited_ += render ? 1 : 0;
    }
    wlr_output_state_finish(&state);
    if (!ok) {
        // Composite everything again next frame.
        log::debug(plane_log, "output {}: commit with {} layers failed", output_.name(),
                   offered.size());
        offered_.clear();
        accepted_.clear();
        set_hidden({});
        wlr_output_update_needs_frame(output_.wlr());
        return false;
    }
    new_frames_.clear();
    after_commit(offered, layers);
    if (plane_log.enabled(log::Level::debug)) {
        std::string accepted;
        for (size_t i = 0; i < offered.size(); ++i) {
            accepted += std::format(" {}{}", offered[i]->zone, layers[i].accepted ? "+" : "-");
        }
        log::debug(plane_log, "output {}: {} layers:{} hidden {} settled {}", output_.name(),
                   render ? "rendered" : "reused", accepted, hidden_.size(), settled);
    }
    return true;
}

// Whether the primary plane shows a buffer of the output's size, as the composited frame is.
// Anything else means libliftoff moved a layer onto the primary plane and the composited
// frame onto an overlay, which is only right if that overlay lies below the primary plane;
// with drivers that do not expose zpos it may lie above and hide the layer.
bool PlanePlanner::primary_plane_composited() const {
    int fd = wlr_backend_get_drm_fd(output_.wlr()->backend);
    if (fd < 0 || !primary_plane_) {
        return true;
    }
    bool ok = true;
    if (auto* plane = drmModeGetPlane(fd, primary_plane_)) {
        if (auto* fb = drmModeGetFB(fd, plane->fb_id)) {
            ok = plane->crtc_x == 0 && plane->crtc_y == 0 &&
                 static_cast<int>(fb->width) == output_.wlr()->width &&
                 static_cast<int>(fb->height) == output_.wlr()->height;
            drmModeFreeFB(fb);
        }
        drmModeFreePlane(plane);
    }
    return ok;
}

void PlanePlanner::after_commit(const std::vector<Candidate*>& offered,
                                std::vector<wlr_output_layer_state>& states) {
    bool new_assignment = std::ranges::any_of(offered, [&](const Candidate* c) {
        auto it = accepted_.find(c->content->id());
        return it == accepted_.end() || !(it->second == c->key);
    });
    if (new_assignment && std::ranges::any_of(states, &wlr_output_layer_state::accepted) &&
        !primary_plane_composited()) {
        log::warn(plane_log,
                  "output {}: a layer went onto the primary plane (the driver exposes no zpos?): "
                  "composited instead",
                  output_.name());
        for (auto& state : states) {
            state.accepted = false;
        }
    }
    std::map<uint64_t, Offer> offered_now;
    std::map<uint64_t, LayerKey> accepted_now;
    bool lost = false;
    for (size_t i = 0; i < offered.size(); ++i) {
        auto* c = offered[i];
        uint64_t id = c->content->id();
        offered_now[id] = {c->key, c->buffer->buffer};
        if (states[i].accepted) {
            accepted_now[id] = c->key;
            continue;
        }
        if (!refused_.contains(id)) {
            log::info(plane_log, "output {}: zone {} composited: the planes refused its buffer",
                      output_.name(), c->zone);
        }
        refused_[id] = c->key.unplaced();
        tell_formats(*c);
        if (hidden_.contains(id)) {
            // Accepted before, refused now although nothing changed: show it composited from
            // the next frame.
            log::warn(plane_log, "output {}: zone {} lost its plane", output_.name(), c->zone);
            lost = true;
        }
    }
    // A plane came free: refused candidates may fit now.
    bool freed = std::ranges::any_of(
        accepted_, [&](auto& entry) { return !accepted_now.contains(entry.first); });
    if (freed) {
        std::erase_if(refused_, [&](auto& entry) { return !offered_now.contains(entry.first); });
    }
    bool changed = !std::ranges::equal(std::views::keys(accepted_), std::views::keys(accepted_now));
    offered_ = std::move(offered_now);
    accepted_ = std::move(accepted_now);
    if (changed) {
        auto zones = nlohmann::json::array();
        for (const auto* c : offered) {
            if (accepted_.contains(c->content->id())) {
                zones.push_back(c->zone);
            }
        }
        server_.health().publish("planes", {{"output", output_.name()}, {"zones", zones}});
    }
    if (lost) {
        auto keep = std::views::keys(accepted_);
        set_hidden({keep.begin(), keep.end()});
    }
    // The next frame hides what was just accepted.
    if (std::ranges::any_of(accepted_,
                            [&](auto& entry) { return !hidden_.contains(entry.first); })) {
        wlr_output_schedule_frame(output_.wlr());
    }
}

} // namespace tessera::compositor
