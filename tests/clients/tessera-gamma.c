// tessera-gamma: sets an inverting gamma ramp on the first output through
// wlr-gamma-control-unstable-v1, as wlsunset or gammastep set theirs, and keeps it until
// killed (the ramp goes with the client).
//
// stdout, one line per event: "gamma-size N" and then "set" once the ramp was sent, or "failed"
// when the compositor refuses the output a ramp (then it exits with status 3).

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <wayland-client.h>

#include "client-util.h"
#include "wlr-gamma-control-unstable-v1-client-protocol.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

const char* const program_name = "tessera-gamma";

// A ramp larger than any real LUT (KMS: 4096 at most in practice) is a client's mistake here.
enum { MAX_RAMP_SIZE = 1 << 16 };

static struct {
    struct wl_display* display;
    struct wl_registry* registry;
    struct wl_output* output;
    struct zwlr_gamma_control_manager_v1* manager;
    struct zwlr_gamma_control_v1* control;
    bool failed;
} app;

static void global(void* data, struct wl_registry* registry, uint32_t name, const char* interface,
                   uint32_t version) {
    if (strcmp(interface, wl_output_interface.name) == 0 && !app.output) {
        app.output = wl_registry_bind(registry, name, &wl_output_interface, 1);
    } else if (strcmp(interface, zwlr_gamma_control_manager_v1_interface.name) == 0) {
        app.manager = wl_registry_bind(registry, name, &zwlr_gamma_control_manager_v1_interface, 1);
    }
}
static void global_remove(void* data, struct wl_registry* registry, uint32_t name) {}
static const struct wl_registry_listener registry_listener = {
    .global = global,
    .global_remove = global_remove,
};

// Three ramps of `size` 16-bit entries, red, green, blue, each going from white to black.
static void send_inverting_ramp(uint32_t size) {
    size_t bytes = (size_t)size * 3 * sizeof(uint16_t);
    int fd = memfd_create("tessera-gamma", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0)
        fail("cannot create the ramp's memfd");
    uint16_t* table = mmap(NULL, bytes, PROT_WRITE, MAP_SHARED, fd, 0);
    if (table == MAP_FAILED)
        fail("cannot map the ramp");
    for (uint32_t channel = 0; channel < 3; ++channel) {
        for (uint32_t i = 0; i < size; ++i) {
            uint32_t up = size > 1 ? (uint32_t)(((uint64_t)i * 0xffff) / (size - 1)) : 0xffff;
            table[channel * size + i] = (uint16_t)(0xffff - up);
        }
    }
    munmap(table, bytes);
    zwlr_gamma_control_v1_set_gamma(app.control, fd);
    close(fd);
    printf("set\n");
}

static void control_gamma_size(void* data, struct zwlr_gamma_control_v1* control, uint32_t size) {
    printf("gamma-size %u\n", size);
    if (size == 0 || size > MAX_RAMP_SIZE)
        fail("gamma size %u out of range", size);
    send_inverting_ramp(size);
}
static void control_failed(void* data, struct zwlr_gamma_control_v1* control) {
    printf("failed\n");
    app.failed = true;
}
static const struct zwlr_gamma_control_v1_listener control_listener = {
    .gamma_size = control_gamma_size,
    .failed = control_failed,
};

int main(void) {
    app.display = connect_and_list_globals(&registry_listener, &app.registry);
    if (!app.output)
        fail("the compositor has no output");
    if (!app.manager)
        fail("the compositor offers no zwlr_gamma_control_manager_v1");
    app.control = zwlr_gamma_control_manager_v1_get_gamma_control(app.manager, app.output);
    zwlr_gamma_control_v1_add_listener(app.control, &control_listener, NULL);
    while (!app.failed) {
        fflush(stdout);
        if (wl_display_dispatch(app.display) < 0)
            fail("lost the compositor");
    }
    fflush(stdout);
    zwlr_gamma_control_v1_destroy(app.control);
    wl_display_disconnect(app.display);
    return 3;
}
