// tessera-activation: hands keyboard focus from one of its windows to the other with
// xdg-activation-v1, as a launcher or a link handler does.
//
// It maps window "first", then window "second" (which the compositor focuses, being new). Then
// it asks for a token — with the serial of second's keyboard enter and second as the source
// surface (--from-input), or with nothing (--from-nothing) — and activates "first" with it.
// stdout, one line per event: "mapped NAME", "focus NAME" (keyboard enter), "token", and
// "settled" once the compositor has handled the activation (a round trip after it). Then it
// keeps its windows until killed.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wayland-client.h>

#include "client-util.h"
#include "shm-buffers.h"
#include "solid-window.h"
#include "xdg-activation-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

const char* const program_name = "tessera-activation";

struct window {
    const char* name;
    uint32_t color;
    struct solid_window solid;
};

static struct {
    struct wl_display* display;
    struct wl_registry* registry;
    struct wl_compositor* compositor;
    struct wl_shm* shm;
    struct xdg_wm_base* wm_base;
    struct xdg_activation_v1* activation;
    struct wl_seat* seat;
    struct wl_keyboard* keyboard;
    struct shm_buffers buffers;
    struct window first, second;
    bool from_input;
    uint32_t second_enter_serial;
    bool second_focused;
    char* token;
} app;

static struct window* window_of(struct wl_surface* surface) {
    if (surface == app.first.solid.surface)
        return &app.first;
    if (surface == app.second.solid.surface)
        return &app.second;
    return NULL;
}

static void keyboard_keymap(void* data, struct wl_keyboard* keyboard, uint32_t format, int32_t fd,
                            uint32_t size) {
    close(fd);
}
static void keyboard_enter(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                           struct wl_surface* surface, struct wl_array* keys) {
    struct window* window = window_of(surface);
    if (!window)
        return;
    printf("focus %s\n", window->name);
    if (window == &app.second) {
        app.second_enter_serial = serial;
        app.second_focused = true;
    }
}
static void keyboard_leave(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                           struct wl_surface* surface) {}
static void keyboard_key(void* data, struct wl_keyboard* keyboard, uint32_t serial, uint32_t time,
                         uint32_t key, uint32_t state) {}
static void keyboard_modifiers(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                               uint32_t depressed, uint32_t latched, uint32_t locked,
                               uint32_t group) {}
static void keyboard_repeat_info(void* data, struct wl_keyboard* keyboard, int32_t rate,
                                 int32_t delay) {}
static const struct wl_keyboard_listener keyboard_listener = {
    .keymap = keyboard_keymap,
    .enter = keyboard_enter,
    .leave = keyboard_leave,
    .key = keyboard_key,
    .modifiers = keyboard_modifiers,
    .repeat_info = keyboard_repeat_info,
};

static void seat_capabilities(void* data, struct wl_seat* seat, uint32_t caps) {
    if ((caps & WL_SEAT_CAPABILITY_KEYBOARD) && !app.keyboard) {
        app.keyboard = wl_seat_get_keyboard(seat);
        wl_keyboard_add_listener(app.keyboard, &keyboard_listener, NULL);
    }
}
static void seat_name(void* data, struct wl_seat* seat, const char* name) {}
static const struct wl_seat_listener seat_listener = {
    .capabilities = seat_capabilities,
    .name = seat_name,
};

static void global(void* data, struct wl_registry* registry, uint32_t name, const char* interface,
                   uint32_t version) {
    if (strcmp(interface, wl_compositor_interface.name) == 0) {
        app.compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 4);
    } else if (strcmp(interface, wl_shm_interface.name) == 0) {
        app.shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
    } else if (strcmp(interface, xdg_wm_base_interface.name) == 0) {
        app.wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 1);
        answer_pings(app.wm_base);
    } else if (strcmp(interface, xdg_activation_v1_interface.name) == 0) {
        app.activation = wl_registry_bind(registry, name, &xdg_activation_v1_interface, 1);
    } else if (strcmp(interface, wl_seat_interface.name) == 0 && !app.seat) {
        app.seat = wl_registry_bind(registry, name, &wl_seat_interface, 1);
        wl_seat_add_listener(app.seat, &seat_listener, NULL);
    }
}
static void global_remove(void* data, struct wl_registry* registry, uint32_t name) {}
static const struct wl_registry_listener registry_listener = {
    .global = global,
    .global_remove = global_remove,
};

static void token_done(void* data, struct xdg_activation_token_v1* token, const char* text) {
    app.token = strdup(text);
    if (!app.token)
        fail("out of memory");
    printf("token\n");
    xdg_activation_token_v1_destroy(token);
}
static const struct xdg_activation_token_v1_listener token_listener = {.done = token_done};

static void dispatch_until(const bool* done) {
    while (!*done) {
        fflush(stdout);
        if (wl_display_dispatch(app.display) < 0)
            fail("lost the compositor");
    }
}

static void map_window(struct window* window) {
    solid_window_create(&window->solid, app.compositor, app.wm_base, app.shm, &app.buffers,
                        window->name, window->color);
    dispatch_until(&window->solid.mapped);
    printf("mapped %s\n", window->name);
}

int main(int argc, char** argv) {
    if (argc != 2 || (strcmp(argv[1], "--from-input") != 0 && strcmp(argv[1], "--from-nothing"))) {
        fprintf(stderr, "usage: %s --from-input|--from-nothing\n", program_name);
        return 2;
    }
    app.from_input = strcmp(argv[1], "--from-input") == 0;
    app.first = (struct window){.name = "first", .color = 0xff0000};
    app.second = (struct window){.name = "second", .color = 0x0000ff};

    app.display = connect_and_list_globals(&registry_listener, &app.registry);
    if (!app.compositor || !app.shm || !app.wm_base || !app.seat)
        fail("the compositor lacks wl_compositor, wl_shm, xdg_wm_base or wl_seat");
    if (!app.activation)
        fail("the compositor offers no xdg_activation_v1");

    map_window(&app.first);
    map_window(&app.second);
    dispatch_until(&app.second_focused);

    struct xdg_activation_token_v1* token = xdg_activation_v1_get_activation_token(app.activation);
    xdg_activation_token_v1_add_listener(token, &token_listener, NULL);
    if (app.from_input) {
        xdg_activation_token_v1_set_serial(token, app.second_enter_serial, app.seat);
        xdg_activation_token_v1_set_surface(token, app.second.solid.surface);
    }
    xdg_activation_token_v1_set_app_id(token, "first");
    xdg_activation_token_v1_commit(token);
    while (!app.token) {
        fflush(stdout);
        if (wl_display_dispatch(app.display) < 0)
            fail("lost the compositor");
    }
    xdg_activation_v1_activate(app.activation, app.token, app.first.solid.surface);
    if (wl_display_roundtrip(app.display) < 0)
        fail("lost the compositor");
    printf("settled\n");
    for (;;) { // until killed, keeping both windows
        fflush(stdout);
        if (wl_display_dispatch(app.display) < 0)
            break;
    }

    free(app.token);
    xdg_activation_v1_destroy(app.activation);
    shm_buffers_destroy(&app.buffers);
    wl_display_disconnect(app.display);
    return 0;
}
