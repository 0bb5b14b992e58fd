#include "control_commands.hpp"

#include "guest/guests.hpp"
#include "ivi/layout_file.hpp"
#include "log_scopes.hpp"
#include "output.hpp"
#include "seat.hpp"
#include "surface_hints.hpp"
#include "server.hpp"
#include "util/base64.hpp"
#include "gpu-backend/base/log.hpp"
#include "zone_scene.hpp"

#include <nlohmann/json.hpp>

#include <expected>
#include <chrono>
#include <cmath>
#include <format>
#include <functional>
#include <map>

namespace tessera::compositor {
namespace {

using json = nlohmann::json;
using Result = std::expected<json, std::string>;

std::string error_reply(std::string_view message) {
    return json{{"ok", false}, {"error", message}}.dump();
}

// Typed access to request arguments, with messages that name the argument.
std::expected<std::string, std::string> string_arg(const json& request, const char* name) {
    auto it = request.find(name);
    if (it == request.end() || !it->is_string()) {
        return std::unexpected(std::format("'{}' must be given as a string", name));
    }
    return it->get<std::string>();
}

std::expected<ivi::Length, std::string> length_arg(const json& value, const char* name) {
    if (value.is_number() && value.get<double>() >= 0) {
        return ivi::Length{value.get<double>(), false};
    }
    if (value.is_string()) {
        if (auto length = ivi::parse_length(value.get<std::string>())) {
            return *length;
        }
    }
    return std::unexpected(std::format(
        "'rect.{}' must be a number of pixels >= 0 or a percentage like \"50%\"", name));
}

json output_json(const Server& server, const Output& output) {
    wlr_box box = output.layout_box();
    const auto* wlr = output.wlr();
    json tearing{{"allowed", server.options().allow_tearing},
                 {"wanted", output.tearing_wanted()},
                 {"frames", output.frames_torn()}};
    return {{"name", output.name()},
            {"enabled", output.enabled()},
            {"x", box.x},
            {"y", box.y},
            {"width", wlr->width},
            {"height", wlr->height},
            {"refresh_hz", wlr->refresh / 1000.0},
            {"frames", output.frames_committed()},
            {"presented", output.frames_presented()},
            {"composited", output.frames_composited()},
            {"planes_in_use", output.planes_in_use()},
            {"planes", output.plane_budget()},
            {"tearing", tearing}};
}

json content_json(const Server& server, const ZoneContent& content) {
    auto identity = content.identity();
    wlr_box box = content.content_box();
    json item{{"id", content.id()},  {"kind", content.describe()}, {"zone", content.zone},
              {"width", box.width},  {"height", box.height},       {"frames", content.frames()},
              {"fps", content.fps()}};
    if (identity.app_id) {
        item["app_id"] = *identity.app_id;
    }
    if (identity.ivi_id) {
        item["ivi_id"] = *identity.ivi_id;
    }
    item["content_type"] = server.surface_hints().content_type(content.surface());
    return item;
}

json per_frame(uint64_t total, uint64_t frames) {
    return frames == 0 ? json(nullptr) : json(static_cast<double>(total) / frames);
}

json optional_ms(const std::optional<double>& ms) {
    return ms ? json(*ms) : json(nullptr);
}

json guest_json(const Guest& guest) {
    auto stats = guest.device_stats();
    json scanouts = json::array();
    ScanoutStats total;
    for (const auto& scanout : guest.scanouts()) {
        auto s = scanout->stats();
        json item{{"index", scanout->index()},
                  {"zone", scanout->zone},
                  {"enabled", scanout->enabled()},
                  {"width", scanout->width()},
                  {"height", scanout->height()},
                  {"frames", s.frames},
                  {"fps", scanout->fps()},
                  {"presented", s.presented},
                  {"replaced", s.replaced},
                  {"fences", s.fences},
                  {"latency_p50_ms", optional_ms(s.latency_p50_ms)},
                  {"latency_p99_ms", optional_ms(s.latency_p99_ms)},
                  {"bytes_copied", s.bytes_copied},
                  {"bytes_copied_per_frame", per_frame(s.bytes_copied, s.frames)},
                  {"blits", s.blits},
                  {"blits_per_frame", per_frame(s.blits, s.presented)},
                  {"path", frame_path_name(s.path)},
                  {"dmabuf_imported", s.dmabuf_imported}};
        const auto& offered = guest.offered(scanout->index());
        item["offered"] = {{"width", offered.width},
                           {"height", offered.height},
                           {"refresh_mhz", offered.refresh_mhz}};
        scanouts.push_back(std::move(item));
        total.frames += s.frames;
        total.presented += s.presented;
        total.replaced += s.replaced;
        total.bytes_copied += s.bytes_copied;
        total.blits += s.blits;
        // The guest's latency is that of its slowest scanout.
        if (s.latency_p50_ms) {
            total.latency_p50_ms = std::max(total.latency_p50_ms.value_or(0), *s.latency_p50_ms);
            total.latency_p99_ms = std::max(total.latency_p99_ms.value_or(0), *s.latency_p99_ms);
        }
        if (s.path != FramePath::none && total.path == FramePath::none) {
            total.path = s.path;
        }
    }
    // A 3D guest's frames are copied by its device process, as it reads them back.
    total.bytes_copied += stats.readback_bytes;
    json item{{"name", guest.spec().name},
              {"socket", guest.socket_path()},
              {"state", Guest::state_name(guest.state())},
              {"connections", guest.connections()},
              {"socket_mode", std::format("{:04o}", guest.spec().socket_mode)},
              {"refused_connections", guest.refused_connections()},
              {"commands", stats.commands},
              {"errors", stats.errors},
              {"flushes", stats.flushes},
              {"transfer_bytes", stats.transfer_bytes},
              {"blobs", stats.blobs},
              {"fenced_frames", stats.fenced_frames},
              {"three_d", guest.spec().three_d},
              {"submits", stats.submits},
              {"submit_bytes", stats.submit_bytes},
              {"readback_bytes", stats.readback_bytes},
              {"exported_textures", stats.exports},
              {"frames", total.frames},
              {"presented", total.presented},
              {"replaced", total.replaced},
              {"latency_p50_ms", optional_ms(total.latency_p50_ms)},
              {"latency_p99_ms", optional_ms(total.latency_p99_ms)},
              {"bytes_copied", total.bytes_copied},
              {"bytes_copied_per_frame", per_frame(total.bytes_copied, total.frames)},
              {"blits_per_frame", per_frame(total.blits, total.presented)},
              {"path", frame_path_name(total.path)},
              {"scanouts", scanouts}};
    // Its device process: running for the VMM connected now, and how earlier ones ended.
    json device{{"failures", guest.device_failures()}};
    if (const auto* link = guest.link(); link && !link->ended()) {
        device["pid"] = link->pid();
        device["rss_bytes"] = link->stats().rss_bytes;
        device["lends"] = link->lends();
    }
    if (!guest.last_device_failure().empty()) {
        device["last_failure"] = guest.last_device_failure();
    }
    item["device"] = device;
    // Queues whose answers or input buffers the guest stopped taking back.
    item["driver_stalled"] = guest.driver_stalls().stalled();
    item["driver_stalls"] = guest.driver_stalls().stalls();
    json inputs = json::array();
    for (const auto& input : guest.inputs().status()) {
        const auto& d = input.device_stats;
        inputs.push_back({{"kind", ivi::input_kind_name(input.device.kind)},
                          {"scanout", input.device.scanout},
                          {"socket", input.socket_path},
                          {"state", input.state},
                          {"connections", input.connections},
                          {"refused_connections", input.refused},
                          {"frames_sent", input.frames_sent},
                          {"events_delivered", d.events_delivered},
                          {"frames_dropped", d.frames_dropped},
                          {"queued", d.queued},
                          {"refused_events", d.refused_events},
                          {"leds", input.leds}});
    }
    item["inputs"] = inputs;
    if (!guest.error().empty()) {
        item["error"] = guest.error();
    }
    return item;
}

json guests_json(const Server& server) {
    json list = json::array();
    if (server.guests()) {
        for (const auto& guest : server.guests()->all()) {
            list.push_back(guest_json(*guest));
        }
    }
    return list;
}

json outcome_json(const std::string& zone, const ZoneVerifier::Outcome& outcome) {
    json answer{{"zone", zone},
                {"result", verdict_name(outcome.verdict)},
                {"shown", outcome.shown},
                {"detail", outcome.detail},
                {"checked", outcome.checked},
                {"mismatched", outcome.mismatched},
                {"frame", outcome.frame},
                {"cost_us", std::round(outcome.cost_us * 10) / 10}};
    if (outcome.first) {
        answer["x"] = outcome.first->first;
        answer["y"] = outcome.first->second;
    }
    return answer;
}

// Zones checked every N frames or on request: counts, the last outcome, the mean cost.
json verify_json(const ivi::Zone& zone, const ZoneVerifier& verifier) {
    json answer{{"every", zone.verify_every}};
    auto it = verifier.stats().find(zone.name);
    if (it == verifier.stats().end()) {
        return answer;
    }
    const auto& stats = it->second;
    answer["checks"] = stats.checks;
    answer["mismatches"] = stats.mismatches;
    answer["unchecked"] = stats.unchecked;
    answer["mean_cost_us"] =
        stats.checks ? std::round(stats.cost_us_total / double(stats.checks) * 10) / 10 : 0.0;
    if (stats.last) {
        answer["last"] = outcome_json(zone.name, *stats.last);
    }
    return answer;
}

} // namespace

void ControlCommands::handle(std::string_view text, ControlSocket::Reply reply) {
    auto request = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) {
        reply(error_reply("the request is not a JSON object"));
        return;
    }
    auto command_arg = string_arg(request, "command");
    if (!command_arg) {
        reply(error_reply(command_arg.error()));
        return;
    }
    const std::string& command = *command_arg;
    log::debug(ctl_log, "request: {}", command);
    auto* zones = server_.zones();
    auto need_zones = [&]() -> std::expected<ZoneScene*, std::string> {
        if (!zones) {
            return std::unexpected("tessera runs without a layout (start it with --layout FILE)");
        }
        return zones;
    };
    auto send = [&](const Result& result) {
        if (!result) {
            reply(error_reply(result.error()));
            return;
        }
        json answer = *result;
        answer["ok"] = true;
        reply(answer.dump());
    };

    // Commands that answer later.
    if (command == "watch") {
        // The reply goes first; every event after it (HealthEvents) until the peer goes.
        send(json::object());
        server_.health().subscribe({[reply](std::string line) { reply(std::move(line)); },
                                    [reply] { return reply.open(); },
                                    [reply] { return reply.backlog_bytes(); }});
        return;
    }
    if (command == "verify") {
        auto name = string_arg(request, "zone");
        auto scene = need_zones();
        if (!name || !scene) {
            send(std::unexpected(!name ? name.error() : scene.error()));
            return;
        }
        auto asked = (*scene)->verifier().request(
            *name, [reply](const std::string& zone, const ZoneVerifier::Outcome& outcome) {
                json answer = outcome_json(zone, outcome);
                answer["ok"] = true;
                reply(answer.dump());
            });
        if (!asked) {
            send(std::unexpected(asked.error()));
        }
        return;
    }
    if (command == "screenshot") {
        Output* output = nullptr;
        std::optional<wlr_box> crop;
        if (request.contains("zone")) {
            auto name = string_arg(request, "zone");
            auto scene = need_zones();
            if (!name || !scene) {
                send(std::unexpected(!name ? name.error() : scene.error()));
                return;
            }
            auto box = (*scene)->zone_box(*name);
            if (!box) {
                send(std::unexpected(std::format("zone '{}' is not on screen", *name)));
                return;
            }
            output = box->first;
            wlr_box origin = output->layout_box();
            crop = wlr_box{box->second.x - origin.x, box->second.y - origin.y, box->second.width,
                           box->second.height};
        } else {
            auto name = string_arg(request, "output");
            if (!name) {
                send(std::unexpected("give 'output' or 'zone'"));
                return;
            }
            output = server_.find_output(*name);
            if (!output) {
                send(std::unexpected(std::format("no output named '{}'", *name)));
                return;
            }
        }
        output->capture_next_frame([reply, crop](std::expected<Image, std::string> image) {
            if (!image) {
                reply(error_reply(image.error()));
                return;
            }
            Image shot =
                crop ? image->crop(crop->x, crop->y, crop->width, crop->height) : std::move(*image);
            json answer{{"ok", true},
                        {"width", shot.width()},
                        {"height", shot.height()},
                        {"rgba", base64_encode(shot.bytes())}};
            reply(answer.dump());
        });
        return;
    }

    using Handler = std::function<Result()>;
    const std::map<std::string, Handler> handlers = {
        {"outputs",
         [&]() -> Result {
             json list = json::array();
             for (const auto& output : server_.outputs()) {
                 list.push_back(output_json(server_, *output));
             }
             return json{{"outputs", list}};
         }},
        {"zones",
         [&]() -> Result {
             auto scene = need_zones();
             if (!scene) {
                 return std::unexpected(scene.error());
             }
             json list = json::array();
             for (const auto& zone : (*scene)->model().zones()) {
                 json contents = json::array();
                 for (auto* content : (*scene)->contents()) {
                     if (content->zone == zone.name) {
                         contents.push_back(content->id());
                     }
                 }
                 list.push_back({{"name", zone.name},
                                 {"output", zone.output},
                                 {"x", zone.rect.x},
                                 {"y", zone.rect.y},
                                 {"width", zone.rect.width},
                                 {"height", zone.rect.height},
                                 {"z", zone.z},
                                 {"visible", zone.visible},
                                 {"opacity", zone.opacity},
                                 {"fit", ivi::fit_mode_name(zone.fit)},
                                 {"floating", zone.floating},
                                 {"plane_priority", zone.plane_priority},
                                 {"watchdog_ms", zone.watchdog.count()},
                                 {"stalled", (*scene)->watchdog().stalled(zone.name)},
                                 {"stalls", (*scene)->watchdog().stalls(zone.name)},
                                 {"verify", verify_json(zone, (*scene)->verifier())},
                                 {"contents", contents}});
             }
             return json{{"profile", (*scene)->model().profile()},
                         {"layout", (*scene)->model().layout().source},
                         {"zones", list}};
         }},
        {"surfaces",
         [&]() -> Result {
             auto scene = need_zones();
             if (!scene) {
                 return std::unexpected(scene.error());
             }
             json list = json::array();
             for (auto* content : (*scene)->contents()) {
                 list.push_back(content_json(server_, *content));
             }
             return json{{"surfaces", list}};
         }},
        {"guests", [&]() -> Result { return json{{"guests", guests_json(server_)}}; }},
        {"move",
         [&]() -> Result {
             auto scene = need_zones();
             auto zone = string_arg(request, "zone");
             if (!scene || !zone) {
                 return std::unexpected(!scene ? scene.error() : zone.error());
             }
             auto id = request.find("surface");
             if (id == request.end() || !id->is_number_unsigned()) {
                 return std::unexpected("'surface' must be a surface id (see 'surfaces')");
             }
             auto* content = (*scene)->find_content(id->get<uint64_t>());
             if (!content) {
                 return std::unexpected(std::format("no surface with id {}", id->get<uint64_t>()));
             }
             return (*scene)->move(content, *zone).transform([] { return json::object(); });
         }},
        {"touch",
         [&]() -> Result {
             // A touch as a touchscreen over the outputs would give it: for demos, tests and
             // the input benchmark.
             auto action = string_arg(request, "action");
             auto id = request.find("id");
             if (!action || (*action != "down" && *action != "motion" && *action != "up")) {
                 return std::unexpected("'action' must be \"down\", \"motion\" or \"up\"");
             }
             if (id == request.end() || !id->is_number_unsigned() || id->get<uint64_t>() > 63) {
                 return std::unexpected("'id' must be a touch id from 0 to 63");
             }
             auto touch_id = static_cast<int32_t>(id->get<uint64_t>());
             auto time =
                 static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now().time_since_epoch())
                                           .count());
             auto& seat = server_.seat();
             if (*action == "up") {
                 seat.touch_up(touch_id, time);
             } else {
                 auto x = request.find("x"), y = request.find("y");
                 if (x == request.end() || y == request.end() || !x->is_number() ||
                     !y->is_number() || !std::isfinite(x->get<double>()) ||
                     !std::isfinite(y->get<double>())) {
                     return std::unexpected("'x' and 'y' must be layout coordinates");
                 }
                 if (*action == "down") {
                     seat.touch_down(touch_id, time, x->get<double>(), y->get<double>());
                 } else {
                     seat.touch_motion(touch_id, time, x->get<double>(), y->get<double>());
                 }
             }
             seat.touch_frame();
             return json::object();
         }},
        {"zone",
         [&]() -> Result {
             auto scene = need_zones();
             auto name = string_arg(request, "name");
             if (!scene || !name) {
                 return std::unexpected(!scene ? scene.error() : name.error());
             }
             auto& model = (*scene)->model();
             // All or nothing: check and stage every change, then commit once.
             std::expected<void, std::string> staged;
             if (auto it = request.find("visible"); staged && it != request.end()) {
                 staged = it->is_boolean() ? model.set_visible(*name, it->get<bool>())
                                           : std::unexpected("'visible' must be true or false");
             }
             if (auto it = request.find("opacity"); staged && it != request.end()) {
                 staged = it->is_number() ? model.set_opacity(*name, it->get<double>())
                                          : std::unexpected("'opacity' must be a number");
             }
             if (auto it = request.find("rect"); staged && it != request.end()) {
                 if (!it->is_object() || !it->contains("x") || !it->contains("y") ||
                     !it->contains("width") || !it->contains("height")) {
                     staged = std::unexpected("'rect' must have x, y, width and height");
                 } else {
                     auto x = length_arg((*it)["x"], "x"), y = length_arg((*it)["y"], "y");
                     auto w = length_arg((*it)["width"], "width");
                     auto h = length_arg((*it)["height"], "height");
                     if (!x || !y || !w || !h) {
                         staged = std::unexpected(!x   ? x.error()
                                                  : !y ? y.error()
                                                  : !w ? w.error()
                                                       : h.error());
                     } else {
                         staged = model.set_rect(*name, {*x, *y, *w, *h});
                     }
                 }
             }
             if (!staged) {
                 model.discard();
                 return std::unexpected(staged.error());
             }
             (*scene)->commit();
             return json::object();
         }},
        {"profile",
         [&]() -> Result {
             auto scene = need_zones();
             auto name = string_arg(request, "name");
             if (!scene || !name) {
                 return std::unexpected(!scene ? scene.error() : name.error());
             }
             if (auto staged = (*scene)->model().set_profile(*name); !staged) {
                 (*scene)->model().discard();
                 return std::unexpected(staged.error());
             }
             (*scene)->commit();
             log::info(ivi_log, "profile '{}'", *name);
             return json::object();
         }},
        {"reload",
         [&]() -> Result {
             auto scene = need_zones();
             if (!scene) {
                 return std::unexpected(scene.error());
             }
             const auto& path = server_.options().layout_path;
             auto layout = ivi::load_layout_file(path);
             if (!layout) {
                 // The running layout stays as it was.
                 log::warn(ivi_log, "reload refused: {}", layout.error().describe());
                 return std::unexpected(layout.error().describe());
             }
             (*scene)->model().replace_layout(std::move(*layout));
             (*scene)->outputs_changed();
             server_.guests()->apply((*scene)->model().layout().guests);
             log::info(ivi_log, "layout {} reloaded", path);
             return json::object();
         }},
        {"stats",
         [&]() -> Result {
             json outputs = json::array();
             for (const auto& output : server_.outputs()) {
                 outputs.push_back(output_json(server_, *output));
             }
             json surfaces = json::array();
             if (zones) {
                 for (auto* content : zones->contents()) {
                     surfaces.push_back(content_json(server_, *content));
                 }
             }
             json paths = json::array();
             if (zones) {
                 for (const auto& [zone, p] : zones->frame_paths()) {
                     paths.push_back({{"zone", zone},
                                      {"plane", p.plane},
                                      {"blit", p.blit},
                                      {"copy", p.copy},
                                      {"composited", p.composited},
                                      {"last", p.last ? frame_path_kind_name(*p.last) : ""}});
                 }
             }
             return json{{"outputs", outputs},
                         {"zones", paths},
                         {"surfaces", surfaces},
                         {"guests", guests_json(server_)},
                         {"windows", server_.stacking().size()}};
         }},
        {"output",
         [&]() -> Result {
             auto action = string_arg(request, "action");
             if (!action) {
                 return std::unexpected(action.error());
             }
             if (*action == "add") {
                 auto mode = string_arg(request, "mode");
                 if (!mode) {
                     return std::unexpected(mode.error());
                 }
                 auto spec = parse_headless_output(*mode);
                 if (!spec) {
                     return std::unexpected(spec.error());
                 }
                 auto name = server_.add_headless_output(*spec);
                 if (!name) {
                     return std::unexpected(name.error());
                 }
                 return json{{"name", *name}};
             }
             if (*action == "remove") {
                 auto name = string_arg(request, "name");
                 if (!name) {
                     return std::unexpected(name.error());
                 }
                 if (auto removed = server_.destroy_headless_output(*name); !removed) {
                     return std::unexpected(removed.error());
                 }
                 return json::object();
             }
             return std::unexpected("'action' must be \"add\" or \"remove\"");
         }},
        {"log-level",
         [&]() -> Result {
             auto spec = string_arg(request, "spec");
             if (!spec) {
                 return std::unexpected(spec.error());
             }
             if (auto error = log::configure(*spec)) {
                 return std::unexpected(*error);
             }
             route_wlroots_log();
             if (server_.guests()) {
                 server_.guests()->relay_log_levels();
             }
             return json::object();
         }},
    };
    auto it = handlers.find(command);
    if (it == handlers.end()) {
        send(std::unexpected(std::format("unknown command '{}'", command)));
        return;
    }
    send(it->second());
}

} // namespace tessera::compositor
