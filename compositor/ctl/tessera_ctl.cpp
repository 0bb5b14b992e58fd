// tessera-ctl: scripts and inspects a running tessera over its control socket.
// The protocol is described in PROTOCOL.md beside this file.
#include "util/base64.hpp"
#include "util/health_line.hpp"
#include "util/image.hpp"
#include "gpu-backend/base/unique_fd.hpp"

#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <format>
#include <print>
#include <string>
#include <string_view>
#include <vector>

using json = nlohmann::json;
using namespace tessera;

namespace {

constexpr int exit_refused = 1; // tessera answered with an error
constexpr int exit_usage = 2;
constexpr int exit_connection = 3;
constexpr int exit_mismatch = 4;  // verify: the frame does not show the zone's content
constexpr int exit_unchecked = 5; // verify: the zone's frame could not be checked

constexpr std::string_view usage = R"(Usage: tessera-ctl [--json] [--socket PATH] COMMAND [ARGS...]

Commands:
  outputs                          list outputs
  zones                            list zones of the layout, with the active profile
  surfaces                         list surfaces with their zone, size, frames and fps
  guests                           list guests (VMs): state, resolution, frames and fps per scanout
  stats                            outputs', surfaces' and guests' frame counts
  move SURFACE ZONE                show a surface (id from 'surfaces') in another zone
  zone NAME [show|hide] [opacity X] [rect X Y W H]
                                   change a zone; all changes apply in one frame
                                   (X Y W H: pixels, or percentages like 50%)
  profile NAME                     switch to a profile of the layout
  reload                           reload the layout file; a broken file is refused
  screenshot output NAME FILE.png  save an output's pixels
  screenshot zone NAME FILE.png    save one zone's pixels
  verify zone NAME                 check that the next frame shows the zone's content (or
                                   fallback): exit 4 when it does not, 5 when it cannot tell
  log-level SPEC                   set log levels, e.g. "info,ivi=debug"
  touch down|motion ID X Y         a touch at layout pixels X Y, as a touchscreen gives it
  touch up ID                      (to a guest's touchscreen over its zone, or to a client)
  output add WxH[@HZ]               plug in a headless output (headless backend only)
  output remove NAME               unplug a headless output
  watch [--count N]                print health events as they happen (guests connecting,
                                   stalling, failing; zones, profiles, outputs), one per line,
                                   until interrupted or after N events

Options:
  --json         print the reply as JSON
  --socket PATH  control socket (default: $TESSERA_SOCKET, else
                 $XDG_RUNTIME_DIR/tessera.$WAYLAND_DISPLAY.sock)
)";

[[noreturn]] void fail(int status, std::string_view message) {
    std::println(stderr, "tessera-ctl: {}", message);
    std::exit(status);
}

std::string default_socket() {
    if (const char* path = std::getenv("TESSERA_SOCKET"); path && *path) {
        return path;
    }
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    const char* display = std::getenv("WAYLAND_DISPLAY");
    if (!runtime || !display) {
        fail(exit_connection, "no control socket: set TESSERA_SOCKET or use --socket");
    }
    return std::format("{}/tessera.{}.sock", runtime, display);
}

json value_of(std::string_view text) {
    // Numbers go as numbers, percentages as strings.
    if (!text.empty() && text.back() != '%') {
        char* end = nullptr;
        std::string copy(text);
        double number = std::strtod(copy.c_str(), &end);
        if (end && *end == '\0') {
            return number;
        }
    }
    return std::string(text);
}

// A whole number given on the command line; `what` names it in the error.
uint64_t number_arg(std::string_view text, std::string_view what) {
    std::string copy(text);
    char* end = nullptr;
    uint64_t value = std::strtoull(copy.c_str(), &end, 10);
    if (copy.empty() || *end != '\0') {
        fail(exit_usage, std::format("'{}' is not {}", text, what));
    }
    return value;
}

json build_request(const std::vector<std::string_view>& args) {
    auto need = [&](size_t count) {
        if (args.size() != count) {
            fail(exit_usage,
                 std::format("'{}' takes {} argument(s); see --help", args[0], count - 1));
        }
    };
    std::string_view command = args[0];
    json request{{"command", command}};
    if (command == "outputs" || command == "zones" || command == "surfaces" ||
        command == "guests" || command == "stats" || command == "reload" || command == "watch") {
        need(1);
    } else if (command == "move") {
        need(3);
        request["surface"] = number_arg(args[1], "a surface id");
        request["zone"] = args[2];
    } else if (command == "profile" || command == "log-level") {
        need(2);
        request[command == "profile" ? "name" : "spec"] = args[1];
    } else if (command == "zone") {
        if (args.size() < 3) {
            fail(exit_usage, "'zone' needs a name and at least one change");
        }
        request["name"] = args[1];
        for (size_t i = 2; i < args.size(); ++i) {
            if (args[i] == "show" || args[i] == "hide") {
                request["visible"] = args[i] == "show";
            } else if (args[i] == "opacity" && i + 1 < args.size()) {
                request["opacity"] = value_of(args[++i]);
            } else if (args[i] == "rect" && i + 4 < args.size()) {
                request["rect"] = {{"x", value_of(args[i + 1])},
                                   {"y", value_of(args[i + 2])},
                                   {"width", value_of(args[i + 3])},
                                   {"height", value_of(args[i + 4])}};
                i += 4;
            } else {
                fail(exit_usage, std::format("unexpected '{}' in 'zone'; see --help", args[i]));
            }
        }
    } else if (command == "touch") {
        bool up = args.size() >= 2 && args[1] == "up";
        need(up ? 3 : 5);
        if (!up && args[1] != "down" && args[1] != "motion") {
            fail(exit_usage, "touch down, motion or up; see --help");
        }
        request["action"] = args[1];
        request["id"] = number_arg(args[2], "a touch id");
        if (!up) {
            request["x"] = value_of(args[3]);
            request["y"] = value_of(args[4]);
        }
    } else if (command == "output") {
        bool add = args.size() >= 2 && args[1] == "add";
        if (!add && !(args.size() >= 2 && args[1] == "remove")) {
            fail(exit_usage, "output add WxH[@HZ] or output remove NAME; see --help");
        }
        need(3);
        request["action"] = args[1];
        request[add ? "mode" : "name"] = args[2];
    } else if (command == "verify") {
        need(3);
        if (args[1] != "zone") {
            fail(exit_usage, "verify zone NAME; see --help");
        }
        request["zone"] = args[2];
    } else if (command == "screenshot") {
        need(4);
        if (args[1] != "output" && args[1] != "zone") {
            fail(exit_usage, "screenshot what: 'output NAME' or 'zone NAME'");
        }
        request[std::string(args[1])] = args[2];
    } else {
        fail(exit_usage, std::format("unknown command '{}'; see --help", command));
    }
    return request;
}

// Lines from the control socket, one at a time.
class LineReader {
public:
    explicit LineReader(int fd) : fd_(fd) {}
    // The next line; fails when tessera closed the connection first.
    std::string next(std::string_view waiting_for) {
        size_t newline = 0;
        while ((newline = buffer_.find('\n')) == std::string::npos) {
            char chunk[65536];
            ssize_t n = read(fd_, chunk, sizeof(chunk));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                fail(exit_connection, std::format("tessera closed the connection {}", waiting_for));
            }
            buffer_.append(chunk, static_cast<size_t>(n));
        }
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
    }

private:
    int fd_;
    std::string buffer_;
};

json parse_line(const std::string& line) {
    auto parsed = json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        fail(exit_connection, "tessera's reply is not JSON");
    }
    return parsed;
}

// Connects and sends the request.
UniqueFd send_request(const std::string& path, const json& request) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) {
        fail(exit_connection, "socket path too long");
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd || connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        fail(exit_connection, std::format("cannot connect to {}: {}", path, std::strerror(errno)));
    }
    std::string line = request.dump() + "\n";
    for (size_t sent = 0; sent < line.size();) {
        ssize_t n = send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            fail(exit_connection, std::format("cannot send: {}", std::strerror(errno)));
        }
        sent += static_cast<size_t>(n);
    }
    return fd;
}

// `watch`, after its reply: one event per line until tessera goes or `count` events came
// (0: no end). Each line is flushed at once, for whatever reads the output.
void print_events(LineReader& reader, uint64_t count, bool as_json) {
    for (uint64_t seen = 0; count == 0 || seen < count; ++seen) {
        auto line = reader.next("while watching");
        if (as_json) {
            std::println("{}", line);
        } else {
            std::println("{}", describe_health_event(parse_line(line)));
        }
        std::fflush(stdout);
    }
}

void print_outputs(const json& outputs) {
    for (const auto& o : outputs) {
        auto tearing = o.value("tearing", json::object());
        std::println(
            "{:<12} {}x{} @ {:.3f} Hz at {},{}  {}  frames {}  presented {}  "
            "composited {}  planes {}/{}{}",
            o.value("name", ""), o.value("width", 0), o.value("height", 0),
            o.value("refresh_hz", 0.0), o.value("x", 0), o.value("y", 0),
            o.value("enabled", false) ? "enabled" : "disabled", o.value("frames", 0),
            o.value("presented", 0), o.value("composited", 0), o.value("planes_in_use", 0),
            o.value("planes", 0),
            tearing.value("wanted", false)
                ? std::format("  tearing wanted, {} frames torn", tearing.value("frames", 0))
                : "");
    }
}

// How each zone's frames reached the screen.
void print_frame_paths(const json& zones) {
    std::println("{:<16} {:>9} {:>9} {:>9} {:>10}  {}", "zone", "plane", "blit", "copy",
                 "composited", "last");
    for (const auto& z : zones) {
        std::println("{:<16} {:>9} {:>9} {:>9} {:>10}  {}", z.value("zone", ""),
                     z.value("plane", 0), z.value("blit", 0), z.value("copy", 0),
                     z.value("composited", 0),
                     z.value("last", "").empty() ? "-" : z.value("last", ""));
    }
}

void print_surfaces(const json& surfaces) {
    std::println("{:>4}  {:<28} {:<12} {:>9}  {:>7}  {:>5}", "id", "surface", "zone", "size",
                 "frames", "fps");
    for (const auto& s : surfaces) {
        std::println("{:>4}  {:<28} {:<12} {:>9}  {:>7}  {:>5.0f}", s.value("id", 0),
                     s.value("kind", ""), s.value("zone", "").empty() ? "-" : s.value("zone", ""),
                     std::format("{}x{}", s.value("width", 0), s.value("height", 0)),
                     s.value("frames", 0), s.value("fps", 0.0));
    }
}

std::string number_or_dash(const json& value, std::string_view format_spec) {
    if (!value.is_number()) {
        return "-";
    }
    double number = value.get<double>();
    return std::vformat(format_spec, std::make_format_args(number));
}

double as_double(const json& value) {
    return value.is_number() ? value.get<double>() : 0.0;
}

void print_guests(const json& guests) {
    std::println("{:<14} {:<11} {:>2}  {:<12} {:>9}  {:>9}  {:>7} {:>5}  {:>9} {:>8}  {:>13}  "
                 "{:>9} {:>6}  {}",
                 "guest", "state", "#", "zone", "mode", "offered", "frames", "fps", "presented",
                 "replaced", "latency p50/99", "copy/frm", "blits", "path");
    for (const auto& g : guests) {
        std::string name = g.value("name", "");
        std::string state = g.value("state", "");
        for (const auto& s : g["scanouts"]) {
            std::string offered = "-";
            if (s.contains("offered")) {
                offered = std::format("{}x{}", s["offered"].value("width", 0),
                                      s["offered"].value("height", 0));
            }
            std::string latency = "-";
            if (s.value("latency_p50_ms", json()).is_number()) {
                latency = std::format("{:.1f}/{:.1f} ms", as_double(s["latency_p50_ms"]),
                                      as_double(s["latency_p99_ms"]));
            }
            std::string path = s.value("path", "");
            if (s.value("dmabuf_imported", false)) {
                path += " (imported)";
            }
            // A read-back frame is copied by the device process: the guest's figure says so.
            const json& copied = path == "readback" ? g.value("bytes_copied_per_frame", json())
                                                    : s.value("bytes_copied_per_frame", json());
            std::println("{:<14} {:<11} {:>2}  {:<12} {:>9}  {:>9}  {:>7} {:>5.0f}  {:>9} {:>8}  "
                         "{:>13}  {:>9} {:>6}  {}",
                         name, state, s.value("index", 0),
                         s.value("zone", "").empty() ? "-" : s.value("zone", ""),
                         s.value("enabled", false)
                             ? std::format("{}x{}", s.value("width", 0), s.value("height", 0))
                             : std::string("off"),
                         offered, s.value("frames", 0), s.value("fps", 0.0),
                         s.value("presented", 0), s.value("replaced", 0), latency,
                         number_or_dash(copied, "{:.0f}"),
                         number_or_dash(s.value("blits_per_frame", json()), "{:.2f}"), path);
        }
        for (const auto& input : g.value("inputs", json::array())) {
            std::string device = input.value("kind", "");
            if (device == "touch") {
                device += std::format(" {}", input.value("scanout", 0));
            }
            std::println("{:<14} {:<11} input {:<10} events {} delivered, {} frames dropped, "
                         "{} queued",
                         name, input.value("state", ""), device, input.value("events_delivered", 0),
                         input.value("frames_dropped", 0), input.value("queued", 0));
        }
        if (g.contains("error")) {
            std::println("{:<14} error: {}", name, g.value("error", ""));
        }
    }
}

void print_human(std::string_view command, const json& reply,
                 const std::vector<std::string_view>& args) {
    if (command == "outputs") {
        print_outputs(reply["outputs"]);
    } else if (command == "zones") {
        std::println("layout {}, profile {}", reply.value("layout", ""),
                     reply.value("profile", "").empty() ? "(none)" : reply.value("profile", ""));
        std::println("{:<12} {:<10} {:>19}  {:>3}  {:<7} {:>7}  {:<8} {:>13}  {}", "zone", "output",
                     "rect", "z", "shown", "opacity", "fit", "verified/bad", "surfaces");
        for (const auto& z : reply["zones"]) {
            std::string contents;
            for (const auto& id : z["contents"]) {
                contents += std::format("{}{}", contents.empty() ? "" : ",", id.get<uint64_t>());
            }
            const auto verify = z.value("verify", json::object());
            std::string verified =
                verify.contains("checks")
                    ? std::format("{}/{}", verify.value("checks", 0), verify.value("mismatches", 0))
                    : "-";
            std::println("{:<12} {:<10} {:>19}  {:>3}  {:<7} {:>7.2f}  {:<8} {:>13}  {}",
                         z.value("name", ""), z.value("output", ""),
                         std::format("{}x{}+{}+{}", z.value("width", 0), z.value("height", 0),
                                     z.value("x", 0), z.value("y", 0)),
                         z.value("z", 0), z.value("visible", false) ? "yes" : "no",
                         z.value("opacity", 0.0),
                         z.value("floating", false) ? "floating" : z.value("fit", ""), verified,
                         contents.empty() ? "-" : contents);
        }
    } else if (command == "surfaces") {
        print_surfaces(reply["surfaces"]);
    } else if (command == "guests") {
        print_guests(reply["guests"]);
    } else if (command == "stats") {
        print_outputs(reply["outputs"]);
        if (!reply["zones"].empty()) {
            print_frame_paths(reply["zones"]);
        }
        std::println("windows: {}", reply.value("windows", 0));
        print_surfaces(reply["surfaces"]);
        if (!reply["guests"].empty()) {
            print_guests(reply["guests"]);
        }
    } else if (command == "output" && args[1] == "add") {
        std::println("added {}", reply.value("name", ""));
    } else if (command == "verify") {
        std::println("zone {}: {} ({}{}; frame {}, {:.0f} us)", reply.value("zone", ""),
                     reply.value("result", ""), reply.value("shown", ""),
                     reply.value("detail", "").empty() ? "" : ": " + reply.value("detail", ""),
                     reply.value("frame", 0), reply.value("cost_us", 0.0));
    } else if (command == "screenshot") {
        std::println("wrote {} ({}x{})", args[3], reply.value("width", 0),
                     reply.value("height", 0));
    }
}

void save_screenshot(const json& reply, std::string_view file) {
    auto pixels = base64_decode(reply.value("rgba", ""));
    auto image = pixels ? Image::from_rgba(reply.value("width", 0), reply.value("height", 0),
                                           std::move(*pixels))
                        : std::nullopt;
    if (!image) {
        fail(exit_connection, "the screenshot in tessera's reply is malformed");
    }
    if (auto written = write_png(*image, std::string(file)); !written) {
        fail(exit_refused, written.error());
    }
}

} // namespace

int main(int argc, char** argv) {
    bool as_json = false;
    std::string socket_path;
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--json") {
            as_json = true;
        } else if (arg == "--socket" && i + 1 < argc) {
            socket_path = argv[++i];
        } else if (arg == "-h" || arg == "--help") {
            std::print("{}", usage);
            return 0;
        } else if (arg.starts_with("--") && args.empty()) {
            fail(exit_usage, std::format("unknown option '{}'; see --help", arg));
        } else {
            args.push_back(arg);
        }
    }
    if (args.empty()) {
        std::print(stderr, "{}", usage);
        return exit_usage;
    }
    uint64_t watch_count = 0;
    if (args[0] == "watch" && args.size() == 3 && args[1] == "--count") {
        watch_count = number_arg(args[2], "a number of events");
        if (watch_count == 0) {
            fail(exit_usage, std::format("'{}' is not a number of events", args[2]));
        }
        args.resize(1);
    }
    json request = build_request(args);
    auto fd = send_request(socket_path.empty() ? default_socket() : socket_path, request);
    LineReader reader(fd.get());
    json reply = parse_line(reader.next("without a reply"));
    if (!reply.value("ok", false)) {
        fail(exit_refused, reply.value("error", "tessera refused the request"));
    }
    if (args[0] == "watch") {
        print_events(reader, watch_count, as_json);
        return 0;
    }
    if (args[0] == "screenshot") {
        save_screenshot(reply, args[3]);
        reply.erase("rgba");
    }
    reply.erase("ok");
    if (as_json) {
        std::println("{}", reply.dump(2));
    } else {
        print_human(args[0], reply, args);
    }
    if (args[0] == "verify") {
        auto result = reply.value("result", "");
        return result == "match" ? 0 : result == "mismatch" ? exit_mismatch : exit_unchecked;
    }
    return 0;
}
