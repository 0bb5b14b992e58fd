// tessera-test-locker: a session locker (ext-session-lock-v1) driven by tessera's tests.
//
// It locks the session and covers every output with a solid colour. It prints one line per
// event on stdout: "locked" when the compositor confirms the lock, "finished" when it refuses
// it (exit 1), "configure W H" per lock surface, "key CODE" for each key pressed on it,
// "pointer-enter" when the pointer enters one. With --unlock-on-key the first key press
// unlocks: "unlocked", exit 0. Errors go to stderr, exit status 1.

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wayland-client.h>

#include "client-util.h"
#include "shm-buffers.h"
#include "ext-session-lock-v1-client-protocol.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

enum { MAX_OUTPUTS = 16, MAX_SIDE = 8192 };

struct lock_surface {
    struct wl_output* output;
    struct wl_surface* surface;
    struct ext_session_lock_surface_v1* lock_surface;
};

static struct {
    uint32_t color;
    bool unlock_on_key;

    struct wl_display* display;
    struct wl_registry* registry;
    struct wl_compositor* compositor;
    struct wl_shm* shm;
    struct wl_seat* seat;
    struct wl_keyboard* keyboard;
    struct wl_pointer* pointer;
    struct ext_session_lock_manager_v1* manager;
    struct ext_session_lock_v1* lock;
    struct lock_surface surfaces[MAX_OUTPUTS];
    int surface_count;
    struct shm_buffers buffers;
    bool locked;
    bool running;
    int exit_status;
} locker;

const char* const program_name = "tessera-test-locker";

static void fill_solid(uint32_t* pixels, int width, int height, const void* data) {
    for (size_t i = 0; i < (size_t)width * (size_t)height; i++)
        pixels[i] = 0xff000000 | locker.color;
}

static void lock_surface_configure(void* data, struct ext_session_lock_surface_v1* lock_surface,
                                   uint32_t serial, uint32_t width, uint32_t height) {
    struct lock_surface* s = data;
    if (width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE)
        fail("configure with a size of %ux%u", width, height);
    printf("configure %u %u\n", width, height);
    struct wl_buffer* buffer =
        shm_buffer_create(&locker.buffers, locker.shm, (int)width, (int)height, fill_solid, NULL);
    ext_session_lock_surface_v1_ack_configure(lock_surface, serial);
    wl_surface_attach(s->surface, buffer, 0, 0);
    wl_surface_damage_buffer(s->surface, 0, 0, (int32_t)width, (int32_t)height);
    wl_surface_commit(s->surface);
}

static const struct ext_session_lock_surface_v1_listener lock_surface_listener = {
    .configure = lock_surface_configure,
};

static void add_lock_surface(struct wl_output* output) {
    if (locker.surface_count == MAX_OUTPUTS)
        fail("more than %d outputs", MAX_OUTPUTS);
    struct lock_surface* s = &locker.surfaces[locker.surface_count++];
    s->output = output;
    s->surface = wl_compositor_create_surface(locker.compositor);
    s->lock_surface = ext_session_lock_v1_get_lock_surface(locker.lock, s->surface, output);
    ext_session_lock_surface_v1_add_listener(s->lock_surface, &lock_surface_listener, s);
}

static void lock_locked(void* data, struct ext_session_lock_v1* lock) {
    locker.locked = true;
    printf("locked\n");
}

static void lock_finished(void* data, struct ext_session_lock_v1* lock) {
    printf("finished\n");
    locker.running = false;
    locker.exit_status = 1;
}

static const struct ext_session_lock_v1_listener lock_listener = {
    .locked = lock_locked,
    .finished = lock_finished,
};

static void unlock(void) {
    ext_session_lock_v1_unlock_and_destroy(locker.lock);
    locker.lock = NULL;
    wl_display_roundtrip(locker.display);
    printf("unlocked\n");
    locker.running = false;
    locker.exit_status = 0;
}

// ---- Input ----

static void keyboard_keymap(void* data, struct wl_keyboard* keyboard, uint32_t format, int32_t fd,
                            uint32_t size) {
    close(fd);
}
static void keyboard_enter(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                           struct wl_surface* surface, struct wl_array* keys) {
    printf("keyboard-enter\n");
}
static void keyboard_leave(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                           struct wl_surface* surface) {}
static void keyboard_key(void* data, struct wl_keyboard* keyboard, uint32_t serial, uint32_t time,
                         uint32_t key, uint32_t state) {
    if (state != WL_KEYBOARD_KEY_STATE_PRESSED)
        return;
    printf("key %u\n", key);
    if (locker.unlock_on_key && locker.locked && locker.lock)
        unlock();
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

static void pointer_enter(void* data, struct wl_pointer* pointer, uint32_t serial,
                          struct wl_surface* surface, wl_fixed_t x, wl_fixed_t y) {
    printf("pointer-enter\n");
}
static void pointer_leave(void* data, struct wl_pointer* pointer, uint32_t serial,
                          struct wl_surface* surface) {}
static void pointer_motion(void* data, struct wl_pointer* pointer, uint32_t time, wl_fixed_t x,
                           wl_fixed_t y) {}
static void pointer_button(void* data, struct wl_pointer* pointer, uint32_t serial, uint32_t time,
                           uint32_t button, uint32_t state) {}
static void pointer_axis(void* data, struct wl_pointer* pointer, uint32_t time, uint32_t axis,
                         wl_fixed_t value) {}

static const struct wl_pointer_listener pointer_listener = {
    .enter = pointer_enter,
    .leave = pointer_leave,
    .motion = pointer_motion,
    .button = pointer_button,
    .axis = pointer_axis,
};

static void seat_capabilities(void* data, struct wl_seat* seat, uint32_t caps) {
    if ((caps & WL_SEAT_CAPABILITY_KEYBOARD) && !locker.keyboard) {
        locker.keyboard = wl_seat_get_keyboard(seat);
        wl_keyboard_add_listener(locker.keyboard, &keyboard_listener, NULL);
    }
    if ((caps & WL_SEAT_CAPABILITY_POINTER) && !locker.pointer) {
        locker.pointer = wl_seat_get_pointer(seat);
        wl_pointer_add_listener(locker.pointer, &pointer_listener, NULL);
    }
}
static void seat_name(void* data, struct wl_seat* seat, const char* name) {}

static const struct wl_seat_listener seat_listener = {
    .capabilities = seat_capabilities,
    .name = seat_name,
};

// ---- Globals ----

static void registry_global(void* data, struct wl_registry* registry, uint32_t name,
                            const char* interface, uint32_t version) {
    if (strcmp(interface, wl_compositor_interface.name) == 0 && !locker.compositor) {
        locker.compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 4);
    } else if (strcmp(interface, wl_shm_interface.name) == 0 && !locker.shm) {
        locker.shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
    } else if (strcmp(interface, wl_seat_interface.name) == 0 && !locker.seat) {
        locker.seat = wl_registry_bind(registry, name, &wl_seat_interface, 1);
        wl_seat_add_listener(locker.seat, &seat_listener, NULL);
    } else if (strcmp(interface, ext_session_lock_manager_v1_interface.name) == 0) {
        locker.manager =
            wl_registry_bind(registry, name, &ext_session_lock_manager_v1_interface, 1);
    } else if (strcmp(interface, wl_output_interface.name) == 0) {
        struct wl_output* output = wl_registry_bind(registry, name, &wl_output_interface, 1);
        if (locker.lock)
            add_lock_surface(output); // an output plugged while locked
        else
            locker.surfaces[locker.surface_count++].output = output;
    }
}

static void registry_global_remove(void* data, struct wl_registry* registry, uint32_t name) {}

static const struct wl_registry_listener registry_listener = {
    .global = registry_global,
    .global_remove = registry_global_remove,
};

// Destroys everything, so that a leak checker sees a clean exit.
static void disconnect(void) {
    for (int i = 0; i < locker.surface_count; i++) {
        struct lock_surface* s = &locker.surfaces[i];
        if (s->lock_surface)
            ext_session_lock_surface_v1_destroy(s->lock_surface);
        if (s->surface)
            wl_surface_destroy(s->surface);
        wl_output_destroy(s->output);
    }
    shm_buffers_destroy(&locker.buffers);
    if (locker.lock)
        ext_session_lock_v1_destroy(locker.lock);
    if (locker.keyboard)
        wl_keyboard_destroy(locker.keyboard);
    if (locker.pointer)
        wl_pointer_destroy(locker.pointer);
    if (locker.seat)
        wl_seat_destroy(locker.seat);
    if (locker.manager)
        ext_session_lock_manager_v1_destroy(locker.manager);
    if (locker.shm)
        wl_shm_destroy(locker.shm);
    if (locker.compositor)
        wl_compositor_destroy(locker.compositor);
    wl_registry_destroy(locker.registry);
    wl_display_flush(locker.display);
    wl_display_disconnect(locker.display);
}

static void parse_options(int argc, char** argv) {
    locker.color = 0x336699;
    static const struct option options[] = {
        {"color", required_argument, NULL, 'c'},
        {"unlock-on-key", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            locker.color = parse_color("--color", optarg);
            break;
        case 'u':
            locker.unlock_on_key = true;
            break;
        case 'h':
            printf("usage: %s [--color RRGGBB] [--unlock-on-key]\n", program_name);
            exit(0);
        default:
            exit(1);
        }
    }
    if (optind < argc)
        fail("unexpected argument '%s'", argv[optind]);
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_options(argc, argv);
    locker.display = connect_and_list_globals(&registry_listener, &locker.registry);
    if (!locker.compositor || !locker.shm || !locker.manager)
        fail("the compositor lacks wl_compositor, wl_shm or ext_session_lock_manager_v1");

    locker.lock = ext_session_lock_manager_v1_lock(locker.manager);
    ext_session_lock_v1_add_listener(locker.lock, &lock_listener, NULL);
    int outputs = locker.surface_count;
    locker.surface_count = 0;
    for (int i = 0; i < outputs; i++)
        add_lock_surface(locker.surfaces[i].output);

    locker.running = true;
    while (locker.running) {
        if (wl_display_dispatch(locker.display) < 0)
            fail("connection lost: %s", strerror(errno));
    }
    disconnect();
    return locker.exit_status;
}
