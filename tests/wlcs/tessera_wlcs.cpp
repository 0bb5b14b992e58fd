// The integration library through which Canonical's Wayland conformance suite (wlcs) drives
// tessera: wlcs loads it, creates a server per test, runs it on a thread of its own
// (start_on_this_thread, so every call reaches tessera on its event loop), connects clients
// through socket pairs and moves fake pointers and touches.
#include "log_scopes.hpp"
#include "server.hpp"
#include "toplevel.hpp"
#include "wlr.hpp"

#include <wayland-client-core.h>
#include <wlcs/display_server.h>
#include <wlcs/pointer.h>
#include <wlcs/touch.h>

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace {

using tessera::compositor::Server;

uint32_t now_msec() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint32_t>(now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

// What tessera offers that wlcs has tests for.
constexpr std::array<WlcsExtensionDescriptor, 14> extensions{{
    {"wl_compositor", 6},
    {"wl_subcompositor", 1},
    {"wl_data_device_manager", 3},
    {"wl_seat", 9},
    {"wl_output", 4},
    {"xdg_wm_base", 6},
    {"zwlr_layer_shell_v1", 4},
    {"zxdg_output_manager_v1", 3},
    {"wp_viewporter", 1},
    {"zwp_pointer_constraints_v1", 1},
    {"zwp_relative_pointer_manager_v1", 1},
    {"zwp_primary_selection_device_manager_v1", 1},
    {"wp_presentation", 1},
    {"zwp_linux_dmabuf_v1", 5},
}};
const WlcsIntegrationDescriptor descriptor{1, extensions.size(), extensions.data()};

struct TesseraServer {
    WlcsDisplayServer base; // first: wlcs hands this pointer back
    std::unique_ptr<Server> server;
    std::string runtime_dir; // made here when the environment has none; removed at the end
    std::map<int, wl_client*> clients; // by the client end's fd, as wlcs's wl_display has it
    wl_event_source* dispatcher = nullptr;
    // wlcs has no fake keyboard but expects the seat to have one, as a machine with a
    // keyboard does: its keyboard-focus and selection tests look at wl_keyboard. Its clients
    // also take wl_pointer and wl_touch as they connect, before the test makes its fake
    // devices: the seat has a pointer and a touchscreen from the start too, as Mir's has.
    wlr_keyboard keyboard{};
    wlr_pointer pointer{};
    wlr_touch touch{};
    bool devices_added = false;
};

TesseraServer* self(WlcsDisplayServer* server) {
    return reinterpret_cast<TesseraServer*>(server);
}

// ---- Fake input devices, announced the way a backend announces its own ----

const wlr_pointer_impl pointer_impl{"wlcs-pointer"};
const wlr_touch_impl touch_impl{"wlcs-touch"};
const wlr_keyboard_impl keyboard_impl{"wlcs-keyboard", nullptr};

struct FakePointer {
    WlcsPointer base;
    Server* server;
    wlr_pointer pointer{};
};

struct FakeTouch {
    WlcsTouch base;
    Server* server;
    wlr_touch touch{};
    int32_t id = 0;
};

void announce(Server& server, wlr_input_device* device) {
    wl_signal_emit_mutable(&server.backend()->events.new_input, device);
}

// Absolute device coordinates are fractions of the whole layout.
std::pair<double, double> normalized(Server& server, double x, double y) {
    wlr_box box{};
    wlr_output_layout_get_box(server.output_layout(), nullptr, &box);
    return {(x - box.x) / box.width, (y - box.y) / box.height};
}

FakePointer* pointer_of(WlcsPointer* p) {
    return reinterpret_cast<FakePointer*>(p);
}

void pointer_frame(FakePointer* p) {
    wl_signal_emit_mutable(&p->pointer.events.frame, &p->pointer);
}

void pointer_button(WlcsPointer* base, int button, wl_pointer_button_state state) {
    auto* p = pointer_of(base);
    wlr_pointer_button_event event{&p->pointer, now_msec(), static_cast<uint32_t>(button), state};
    wl_signal_emit_mutable(&p->pointer.events.button, &event);
    pointer_frame(p);
}

WlcsPointer* create_pointer(WlcsDisplayServer* server) {
    auto* p = new FakePointer{};
    p->server = self(server)->server.get();
    p->base.version = 1;
    p->base.move_absolute = [](WlcsPointer* base, wl_fixed_t x, wl_fixed_t y) {
        auto* dev = pointer_of(base);
        auto [nx, ny] = normalized(*dev->server, wl_fixed_to_double(x), wl_fixed_to_double(y));
        wlr_pointer_motion_absolute_event event{&dev->pointer, now_msec(), nx, ny};
        wl_signal_emit_mutable(&dev->pointer.events.motion_absolute, &event);
        pointer_frame(dev);
    };
    p->base.move_relative = [](WlcsPointer* base, wl_fixed_t dx, wl_fixed_t dy) {
        auto* dev = pointer_of(base);
        double x = wl_fixed_to_double(dx), y = wl_fixed_to_double(dy);
        wlr_pointer_motion_event event{&dev->pointer, now_msec(), x, y, x, y};
        wl_signal_emit_mutable(&dev->pointer.events.motion, &event);
        pointer_frame(dev);
    };
    p->base.button_down = [](WlcsPointer* base, int button) {
        pointer_button(base, button, WL_POINTER_BUTTON_STATE_PRESSED);
    };
    p->base.button_up = [](WlcsPointer* base, int button) {
        pointer_button(base, button, WL_POINTER_BUTTON_STATE_RELEASED);
    };
    p->base.destroy = [](WlcsPointer* base) {
        auto* dev = pointer_of(base);
        wlr_pointer_finish(&dev->pointer);
        delete dev;
    };
    wlr_pointer_init(&p->pointer, &pointer_impl, "wlcs-pointer");
    announce(*p->server, &p->pointer.base);
    return &p->base;
}

FakeTouch* touch_of(WlcsTouch* t) {
    return reinterpret_cast<FakeTouch*>(t);
}

WlcsTouch* create_touch(WlcsDisplayServer* server) {
    static int32_t next_id = 0;
    auto* t = new FakeTouch{};
    t->server = self(server)->server.get();
    t->id = next_id++;
    t->base.version = 1;
    // wlcs 1.7 hands touch positions over as whole pixels, whatever touch.h's wl_fixed_t says
    // (its pointer positions are wl_fixed_t).
    t->base.touch_down = [](WlcsTouch* base, wl_fixed_t x, wl_fixed_t y) {
        auto* dev = touch_of(base);
        auto [nx, ny] = normalized(*dev->server, static_cast<int>(x), static_cast<int>(y));
        wlr_touch_down_event event{&dev->touch, now_msec(), dev->id, nx, ny};
        wl_signal_emit_mutable(&dev->touch.events.down, &event);
        wl_signal_emit_mutable(&dev->touch.events.frame, nullptr);
    };
    t->base.touch_move = [](WlcsTouch* base, wl_fixed_t x, wl_fixed_t y) {
        auto* dev = touch_of(base);
        auto [nx, ny] = normalized(*dev->server, static_cast<int>(x), static_cast<int>(y));
        wlr_touch_motion_event event{&dev->touch, now_msec(), dev->id, nx, ny};
        wl_signal_emit_mutable(&dev->touch.events.motion, &event);
        wl_signal_emit_mutable(&dev->touch.events.frame, nullptr);
    };
    t->base.touch_up = [](WlcsTouch* base) {
        auto* dev = touch_of(base);
        wlr_touch_up_event event{&dev->touch, now_msec(), dev->id};
        wl_signal_emit_mutable(&dev->touch.events.up, &event);
        wl_signal_emit_mutable(&dev->touch.events.frame, nullptr);
    };
    t->base.destroy = [](WlcsTouch* base) {
        auto* dev = touch_of(base);
        wlr_touch_finish(&dev->touch);
        delete dev;
    };
    wlr_touch_init(&t->touch, &touch_impl, "wlcs-touch");
    announce(*t->server, &t->touch.base);
    return &t->base;
}

// ---- The server ----

int create_client_socket(WlcsDisplayServer* server) {
    auto* s = self(server);
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        return -1;
    }
    auto* client = wl_client_create(s->server->display(), fds[0]);
    if (!client) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    s->clients[fds[1]] = client;
    return fds[1];
}

void position_window_absolute(WlcsDisplayServer* server, wl_display* client_display,
                              wl_surface* client_surface, int x, int y) {
    auto* s = self(server);
    auto it = s->clients.find(wl_display_get_fd(client_display));
    if (it == s->clients.end()) {
        return;
    }
    auto* resource = wl_client_get_object(
        it->second, wl_proxy_get_id(reinterpret_cast<wl_proxy*>(client_surface)));
    auto* surface = resource ? wlr_surface_from_resource(resource) : nullptr;
    auto* xdg = surface ? wlr_xdg_toplevel_try_from_wlr_surface(surface) : nullptr;
    auto* tree = xdg ? static_cast<wlr_scene_tree*>(xdg->base->data) : nullptr;
    if (auto* toplevel = tree ? tessera::compositor::Toplevel::from_node(&tree->node) : nullptr) {
        toplevel->move_to(x, y);
    }
}

void start_on_this_thread(WlcsDisplayServer* server, wl_event_loop* wlcs_loop) {
    auto* s = self(server);
    if (auto started = s->server->start(); !started) {
        std::fprintf(stderr, "tessera: %s\n", started.error().c_str());
        std::abort();
    }
    wlr_keyboard_init(&s->keyboard, &keyboard_impl, "wlcs-keyboard");
    announce(*s->server, &s->keyboard.base);
    wlr_pointer_init(&s->pointer, &pointer_impl, "wlcs-seat-pointer");
    announce(*s->server, &s->pointer.base);
    wlr_touch_init(&s->touch, &touch_impl, "wlcs-seat-touch");
    announce(*s->server, &s->touch.base);
    s->devices_added = true;
    // wlcs's calls arrive on its event loop: dispatch it from tessera's.
    s->dispatcher = wl_event_loop_add_fd(
        s->server->event_loop(), wl_event_loop_get_fd(wlcs_loop), WL_EVENT_READABLE,
        [](int, uint32_t, void* data) {
            wl_event_loop_dispatch(static_cast<wl_event_loop*>(data), 0);
            return 0;
        },
        wlcs_loop);
    s->server->run();
    wl_event_source_remove(s->dispatcher);
    s->dispatcher = nullptr;
}

void stop(WlcsDisplayServer* server) {
    self(server)->server->terminate();
}

WlcsDisplayServer* create_server(int, const char**) {
    auto* s = new TesseraServer{};
    if (!std::getenv("XDG_RUNTIME_DIR")) {
        std::string dir = (std::filesystem::temp_directory_path() / "tessera-wlcs-XXXXXX").string();
        if (mkdtemp(dir.data())) {
            s->runtime_dir = dir;
            setenv("XDG_RUNTIME_DIR", dir.c_str(), 1);
        }
    }
    tessera::log::configure(std::getenv("TESSERA_LOG") ? std::getenv("TESSERA_LOG") : "warn");
    tessera::compositor::route_wlroots_log();
    tessera::Options options;
    options.headless_outputs = {{1280, 1024, 60000}};
    options.xwayland = false; // wlcs has no X11 tests
    auto server = Server::create(options);
    if (!server) {
        std::fprintf(stderr, "tessera: %s\n", server.error().c_str());
        std::abort();
    }
    s->server = std::move(*server);
    s->base.version = 3;
    s->base.start = nullptr;
    s->base.stop = stop;
    s->base.create_client_socket = create_client_socket;
    s->base.position_window_absolute = position_window_absolute;
    s->base.create_pointer = create_pointer;
    s->base.create_touch = create_touch;
    s->base.get_descriptor = [](const WlcsDisplayServer*) { return &descriptor; };
    s->base.start_on_this_thread = start_on_this_thread;
    return &s->base;
}

void destroy_server(WlcsDisplayServer* server) {
    auto* s = self(server);
    if (s->devices_added) {
        wlr_keyboard_finish(&s->keyboard);
        wlr_pointer_finish(&s->pointer);
        wlr_touch_finish(&s->touch);
    }
    s->server.reset();
    if (!s->runtime_dir.empty()) {
        std::filesystem::remove_all(s->runtime_dir);
        unsetenv("XDG_RUNTIME_DIR");
    }
    delete s;
}

} // namespace

extern "C" const WlcsServerIntegration wlcs_server_integration{1, create_server, destroy_server};
