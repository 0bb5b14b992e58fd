// tessera-ime: the two ends of composed text input, one per process.
//
// --app: a window with a text field (text-input-v3). When its text input enters the window it
//   enables it; it prints "text-enter", "text STRING" for each committed string, "preedit STRING"
//   and "key CODE STATE" for keys it gets itself.
// --method: an input method (input-method-v2) that grabs the keyboard. It prints "activate",
//   "deactivate", "grabbed-key CODE STATE" for the keys it takes, and "unavailable" (then exits
//   with status 3) when another input method is there. On each activation it commits "hello".
// Both print "ready" once set up, and run until killed.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wayland-client.h>

#include "client-util.h"
#include "input-method-unstable-v2-client-protocol.h"
#include "shm-buffers.h"
#include "solid-window.h"
#include "text-input-unstable-v3-client-protocol.h"
#include "xdg-shell-client-protocol.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

const char* const program_name = "tessera-ime";

static struct {
    struct wl_display* display;
    struct wl_registry* registry;
    struct wl_compositor* compositor;
    struct wl_shm* shm;
    struct xdg_wm_base* wm_base;
    struct wl_seat* seat;
    struct wl_keyboard* keyboard;
    struct zwp_text_input_manager_v3* text_input_manager;
    struct zwp_input_method_manager_v2* input_method_manager;
    struct shm_buffers buffers;
    // --app
    struct solid_window window;
    struct zwp_text_input_v3* text_input;
    // --method
    struct zwp_input_method_v2* input_method;
    struct zwp_input_method_keyboard_grab_v2* grab;
    bool activated, committed;
    uint32_t done_count;
    bool running;
    int status;
} ime;

static void print(const char* format, const char* text) {
    printf(format, text ? text : "");
    fflush(stdout);
}

// ---- --app ----

static void text_enter(void* data, struct zwp_text_input_v3* ti, struct wl_surface* surface) {
    zwp_text_input_v3_enable(ti);
    zwp_text_input_v3_set_content_type(ti, ZWP_TEXT_INPUT_V3_CONTENT_HINT_NONE,
                                       ZWP_TEXT_INPUT_V3_CONTENT_PURPOSE_NORMAL);
    zwp_text_input_v3_set_cursor_rectangle(ti, 4, 4, 1, 16);
    zwp_text_input_v3_commit(ti);
    print("text-enter\n", NULL);
}
static void text_leave(void* data, struct zwp_text_input_v3* ti, struct wl_surface* surface) {
    print("text-leave\n", NULL);
}
static void text_preedit(void* data, struct zwp_text_input_v3* ti, const char* text, int32_t begin,
                         int32_t end) {
    if (text)
        print("preedit %s\n", text);
}
static void text_commit(void* data, struct zwp_text_input_v3* ti, const char* text) {
    print("text %s\n", text);
}
static void text_delete(void* data, struct zwp_text_input_v3* ti, uint32_t before, uint32_t after) {
}
static void text_done(void* data, struct zwp_text_input_v3* ti, uint32_t serial) {}
static const struct zwp_text_input_v3_listener text_listener = {
    .enter = text_enter,
    .leave = text_leave,
    .preedit_string = text_preedit,
    .commit_string = text_commit,
    .delete_surrounding_text = text_delete,
    .done = text_done,
};

static void keyboard_keymap(void* data, struct wl_keyboard* keyboard, uint32_t format, int32_t fd,
                            uint32_t size) {
    close(fd);
}
static void keyboard_enter(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                           struct wl_surface* surface, struct wl_array* keys) {}
static void keyboard_leave(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                           struct wl_surface* surface) {}
static void keyboard_key(void* data, struct wl_keyboard* keyboard, uint32_t serial, uint32_t time,
                         uint32_t key, uint32_t state) {
    printf("key %u %u\n", key, state);
    fflush(stdout);
}
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

static void start_app(void) {
    if (!ime.compositor || !ime.shm || !ime.wm_base || !ime.text_input_manager)
        fail("the compositor lacks wl_compositor, wl_shm, xdg_wm_base or text-input-v3");
    ime.keyboard = wl_seat_get_keyboard(ime.seat);
    wl_keyboard_add_listener(ime.keyboard, &keyboard_listener, NULL);
    ime.text_input = zwp_text_input_manager_v3_get_text_input(ime.text_input_manager, ime.seat);
    zwp_text_input_v3_add_listener(ime.text_input, &text_listener, NULL);
    solid_window_create(&ime.window, ime.compositor, ime.wm_base, ime.shm, &ime.buffers,
                        "tessera-ime-app", 0x808080);
}

// ---- --method ----

static void grab_keymap(void* data, struct zwp_input_method_keyboard_grab_v2* grab, uint32_t format,
                        int32_t fd, uint32_t size) {
    close(fd);
}
static void grab_key(void* data, struct zwp_input_method_keyboard_grab_v2* grab, uint32_t serial,
                     uint32_t time, uint32_t key, uint32_t state) {
    printf("grabbed-key %u %u\n", key, state);
    fflush(stdout);
}
static void grab_modifiers(void* data, struct zwp_input_method_keyboard_grab_v2* grab,
                           uint32_t serial, uint32_t depressed, uint32_t latched, uint32_t locked,
                           uint32_t group) {}
static void grab_repeat_info(void* data, struct zwp_input_method_keyboard_grab_v2* grab,
                             int32_t rate, int32_t delay) {}
static const struct zwp_input_method_keyboard_grab_v2_listener grab_listener = {
    .keymap = grab_keymap,
    .key = grab_key,
    .modifiers = grab_modifiers,
    .repeat_info = grab_repeat_info,
};

static void method_activate(void* data, struct zwp_input_method_v2* im) {
    ime.activated = true;
    ime.committed = false;
    print("activate\n", NULL);
}
static void method_deactivate(void* data, struct zwp_input_method_v2* im) {
    ime.activated = false;
    print("deactivate\n", NULL);
}
static void method_surrounding(void* data, struct zwp_input_method_v2* im, const char* text,
                               uint32_t cursor, uint32_t anchor) {}
static void method_cause(void* data, struct zwp_input_method_v2* im, uint32_t cause) {}
static void method_content_type(void* data, struct zwp_input_method_v2* im, uint32_t hint,
                                uint32_t purpose) {}
static void method_done(void* data, struct zwp_input_method_v2* im) {
    ime.done_count++;
    if (ime.activated && !ime.committed) {
        zwp_input_method_v2_commit_string(im, "hello");
        zwp_input_method_v2_commit(im, ime.done_count);
        ime.committed = true;
    }
}
static void method_unavailable(void* data, struct zwp_input_method_v2* im) {
    print("unavailable\n", NULL);
    ime.running = false;
    ime.status = 3;
}
static const struct zwp_input_method_v2_listener method_listener = {
    .activate = method_activate,
    .deactivate = method_deactivate,
    .surrounding_text = method_surrounding,
    .text_change_cause = method_cause,
    .content_type = method_content_type,
    .done = method_done,
    .unavailable = method_unavailable,
};

static void start_method(void) {
    if (!ime.input_method_manager)
        fail("the compositor offers no zwp_input_method_manager_v2");
    ime.input_method =
        zwp_input_method_manager_v2_get_input_method(ime.input_method_manager, ime.seat);
    zwp_input_method_v2_add_listener(ime.input_method, &method_listener, NULL);
    ime.grab = zwp_input_method_v2_grab_keyboard(ime.input_method);
    zwp_input_method_keyboard_grab_v2_add_listener(ime.grab, &grab_listener, NULL);
}

// ---- Both ----

static void global(void* data, struct wl_registry* registry, uint32_t name, const char* interface,
                   uint32_t version) {
    if (strcmp(interface, wl_compositor_interface.name) == 0) {
        ime.compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 4);
    } else if (strcmp(interface, wl_shm_interface.name) == 0) {
        ime.shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
    } else if (strcmp(interface, xdg_wm_base_interface.name) == 0) {
        ime.wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 1);
        answer_pings(ime.wm_base);
    } else if (strcmp(interface, wl_seat_interface.name) == 0 && !ime.seat) {
        ime.seat = wl_registry_bind(registry, name, &wl_seat_interface, 1);
    } else if (strcmp(interface, zwp_text_input_manager_v3_interface.name) == 0) {
        ime.text_input_manager =
            wl_registry_bind(registry, name, &zwp_text_input_manager_v3_interface, 1);
    } else if (strcmp(interface, zwp_input_method_manager_v2_interface.name) == 0) {
        ime.input_method_manager =
            wl_registry_bind(registry, name, &zwp_input_method_manager_v2_interface, 1);
    }
}
static void global_remove(void* data, struct wl_registry* registry, uint32_t name) {}
static const struct wl_registry_listener registry_listener = {
    .global = global,
    .global_remove = global_remove,
};

int main(int argc, char** argv) {
    bool app = argc == 2 && strcmp(argv[1], "--app") == 0;
    bool method = argc == 2 && strcmp(argv[1], "--method") == 0;
    if (!app && !method) {
        fprintf(stderr, "usage: %s --app|--method\n", program_name);
        return 2;
    }
    ime.display = connect_and_list_globals(&registry_listener, &ime.registry);
    if (!ime.seat)
        fail("the compositor has no wl_seat");
    ime.running = true;
    if (app)
        start_app();
    else
        start_method();
    if (wl_display_roundtrip(ime.display) < 0)
        fail("lost the compositor");
    print("ready\n", NULL);
    while (ime.running) {
        fflush(stdout);
        if (wl_display_dispatch(ime.display) < 0)
            break;
    }
    shm_buffers_destroy(&ime.buffers);
    wl_display_disconnect(ime.display);
    return ime.status;
}
