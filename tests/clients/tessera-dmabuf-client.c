// tessera-dmabuf-client: an ivi-application surface drawn into dma-bufs, for tessera's plane
// tests on a KMS device.
//
// It allocates dumb buffers on the DRM device its linux-dmabuf feedback names and shares them
// as dma-bufs, the way a GPU client allocates from the feedback's tranches. It prints every
// feedback it receives; with --follow-feedback it moves to the first format of a scanout
// tranche it can draw, as clients that honour scanout tranches do. On SIGUSR1 it moves a
// virtual pointer onto --poke and clicks, and prints what its own surface receives.
//
// Lines on stdout, flushed at once:
//   feedback main=MAJ:MIN
//   tranche target=MAJ:MIN scanout=0|1 formats=XR24,AR24,...   (formats with a linear layout)
//   feedback done
//   buffers format=XR24 device=MAJ:MIN WxH
//   pointer enter X Y | pointer button | pointer leave
//   surface enter | surface leave                                (wl_surface.enter and leave)
// Errors go to stderr, exit status 1. Run with --help for the options.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/input-event-codes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <wayland-client.h>
#include <xf86drm.h>

#include "client-util.h"
#include "ivi-application-client-protocol.h"
#include "linux-dmabuf-unstable-v1-client-protocol.h"
#include "wlr-virtual-pointer-unstable-v1-client-protocol.h"

// Listener callbacks must take every argument of their event, used or not.
#pragma GCC diagnostic ignored "-Wunused-parameter"

enum { BUFFERS = 3, MAX_SIDE = 4096, MAX_TRANCHES = 16, MAX_FORMATS = 64, CHECKER = 16 };

// The formats it can draw: 32-bit RGB in either byte order.
static const uint32_t drawable[] = {DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_XBGR8888,
                                    DRM_FORMAT_ABGR8888};

struct options {
    uint32_t ivi_id;
    int width, height;
    uint32_t format;
    bool follow_feedback;
    int fps;
    int poke_x, poke_y, extent_width, extent_height;
    uint32_t color, color2;
};

struct buffer {
    struct wl_buffer* wl_buffer;
    uint32_t* pixels;
    size_t size;
    uint32_t stride;
    bool busy;
};

struct tranche {
    dev_t target;
    bool scanout;
    size_t count;
    uint32_t formats[MAX_FORMATS]; // with a linear layout, in the tranche's order
};

struct feedback {
    dev_t main_device;
    const uint8_t* table; // format table: u32 format, u32 padding, u64 modifier
    size_t table_size;
    size_t count;
    struct tranche tranches[MAX_TRANCHES];
};

static struct {
    struct options opt;
    struct wl_display* display;
    struct wl_compositor* compositor;
    struct ivi_application* ivi;
    struct zwp_linux_dmabuf_v1* dmabuf;
    struct wl_seat* seat;
    struct zwlr_virtual_pointer_manager_v1* pointer_manager;
    struct zwlr_virtual_pointer_v1* virtual_pointer;
    struct wl_surface* surface;
    struct ivi_surface* ivi_surface;
    struct feedback pending;
    dev_t device;    // where the buffers are allocated
    uint32_t format; // what they hold
    int drm_fd;
    struct buffer buffers[BUFFERS];
    bool have_buffers;
    bool tranche_open; // between a tranche's first event and its tranche_done
} client = {.drm_fd = -1};

const char* const program_name = "tessera-dmabuf-client";

static void say(const char* format, ...) {
    va_list args;
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
}

static const char* fourcc(uint32_t format, char out[5]) {
    for (int i = 0; i < 4; ++i) {
        char c = (char)((format >> (8 * i)) & 0xff);
        out[i] = c >= ' ' && c <= '~' ? c : '?';
    }
    out[4] = '\0';
    for (int i = 3; i > 0 && out[i] == ' '; --i) {
        out[i] = '\0'; // "R8  " is R8
    }
    return out;
}

// ---- Command line ----

static void usage(FILE* out) {
    fprintf(out, "usage: tessera-dmabuf-client --ivi-id N [options]\n"
                 "  --ivi-id N             the ivi-application surface id\n"
                 "  --size WxH             buffer size (default 320x240)\n"
                 "  --format XR24|AR24|XB24|AB24  first buffer format (default XR24)\n"
                 "  --follow-feedback      use the first drawable format of a scanout tranche\n"
                 "  --fps N                new frames per second, 0: one frame (default 10)\n"
                 "  --poke X,Y             on SIGUSR1 move a virtual pointer there and click\n"
                 "  --extent WxH           what --poke is relative to (default 1024x768)\n"
                 "  --color RRGGBB, --color2 RRGGBB  the checkerboard's colours\n"
                 "  --help\n");
}

static uint32_t parse_format(const char* text) {
    char name[5];
    for (size_t i = 0; i < sizeof drawable / sizeof drawable[0]; ++i) {
        if (strcmp(text, fourcc(drawable[i], name)) == 0) {
            return drawable[i];
        }
    }
    fail("--format: expected XR24, AR24, XB24 or AB24");
}

static void parse_options(int argc, char** argv, struct options* opt) {
    enum { IVI_ID = 256, SIZE, FORMAT, FOLLOW, FPS, POKE, EXTENT, COLOR, COLOR2, HELP };
    static const struct option long_options[] = {
        {"ivi-id", required_argument, NULL, IVI_ID},
        {"size", required_argument, NULL, SIZE},
        {"format", required_argument, NULL, FORMAT},
        {"follow-feedback", no_argument, NULL, FOLLOW},
        {"fps", required_argument, NULL, FPS},
        {"poke", required_argument, NULL, POKE},
        {"extent", required_argument, NULL, EXTENT},
        {"color", required_argument, NULL, COLOR},
        {"color2", required_argument, NULL, COLOR2},
        {"help", no_argument, NULL, HELP},
        {0},
    };
    *opt = (struct options){.width = 320,
                            .height = 240,
                            .format = DRM_FORMAT_XRGB8888,
                            .fps = 10,
                            .poke_x = -1,
                            .extent_width = 1024,
                            .extent_height = 768,
                            .color = 0xff0000,
                            .color2 = 0x0000ff};
    bool have_id = false;
    int c;
    while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        const char* text = optarg;
        switch (c) {
        case IVI_ID:
            opt->ivi_id = parse_u32("--ivi-id", optarg);
            have_id = true;
            break;
        case SIZE:
            parse_pair("--size", optarg, 'x', 1, MAX_SIDE, &opt->width, &opt->height);
            break;
        case FORMAT:
            opt->format = parse_format(optarg);
            break;
        case FOLLOW:
            opt->follow_feedback = true;
            break;
        case FPS:
            if (!parse_int(&text, 0, 240, &opt->fps) || *text != '\0') {
                fail("--fps: expected an integer in [0, 240]");
            }
            break;
        case POKE:
            parse_pair("--poke", optarg, ',', 0, 65535, &opt->poke_x, &opt->poke_y);
            break;
        case EXTENT:
            parse_pair("--extent", optarg, 'x', 1, 65535, &opt->extent_width, &opt->extent_height);
            break;
        case COLOR:
            opt->color = parse_color("--color", optarg);
            break;
        case COLOR2:
            opt->color2 = parse_color("--color2", optarg);
            break;
        case HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(1);
        }
    }
    if (!have_id) {
        fail("--ivi-id is required");
    }
}

// ---- Buffers: dumb buffers of a DRM device, shared as dma-bufs ----

static int open_device(dev_t device) {
    drmDevicePtr info = NULL;
    if (drmGetDeviceFromDevId(device, 0, &info) != 0) {
        fail("no DRM device %u:%u", major(device), minor(device));
    }
    int node =
        (info->available_nodes & (1 << DRM_NODE_PRIMARY)) ? DRM_NODE_PRIMARY : DRM_NODE_RENDER;
    int fd = open(info->nodes[node], O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fail("cannot open %s: %s", info->nodes[node], strerror(errno));
    }
    drmFreeDevice(&info);
    return fd;
}

static void buffer_release(void* data, struct wl_buffer* wl_buffer) {
    struct buffer* buffer = data;
    buffer->busy = false;
}

static const struct wl_buffer_listener buffer_listener = {.release = buffer_release};

// ARGB8888 colour in the byte order of `format`.
static uint32_t pixel(uint32_t rgb, uint32_t format) {
    uint32_t r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
    bool bgr = format == DRM_FORMAT_XBGR8888 || format == DRM_FORMAT_ABGR8888;
    return 0xff000000u | (bgr ? (b << 16 | g << 8 | r) : (r << 16 | g << 8 | b));
}

static void draw(struct buffer* buffer) {
    uint32_t a = pixel(client.opt.color, client.format);
    uint32_t b = pixel(client.opt.color2, client.format);
    for (int y = 0; y < client.opt.height; ++y) {
        uint32_t* row = (uint32_t*)((uint8_t*)buffer->pixels + (size_t)y * buffer->stride);
        for (int x = 0; x < client.opt.width; ++x) {
            row[x] = ((x / CHECKER + y / CHECKER) % 2) ? b : a;
        }
    }
}

static void create_buffer(struct buffer* buffer) {
    struct drm_mode_create_dumb create = {
        .width = (uint32_t)client.opt.width, .height = (uint32_t)client.opt.height, .bpp = 32};
    if (drmIoctl(client.drm_fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) != 0) {
        fail("cannot create a dumb buffer: %s", strerror(errno));
    }
    struct drm_mode_map_dumb map = {.handle = create.handle};
    int dmabuf_fd = -1;
    if (drmIoctl(client.drm_fd, DRM_IOCTL_MODE_MAP_DUMB, &map) != 0 ||
        drmPrimeHandleToFD(client.drm_fd, create.handle, DRM_CLOEXEC | DRM_RDWR, &dmabuf_fd) != 0) {
        fail("cannot map or export a dumb buffer: %s", strerror(errno));
    }
    void* pixels = mmap(NULL, create.size, PROT_READ | PROT_WRITE, MAP_SHARED, client.drm_fd,
                        (off_t)map.offset);
    if (pixels == MAP_FAILED) {
        fail("cannot mmap a dumb buffer: %s", strerror(errno));
    }
    // The dma-buf and the mapping keep the memory; the handle is not needed any more.
    struct drm_mode_destroy_dumb destroy = {.handle = create.handle};
    drmIoctl(client.drm_fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);

    struct zwp_linux_buffer_params_v1* params = zwp_linux_dmabuf_v1_create_params(client.dmabuf);
    zwp_linux_buffer_params_v1_add(params, dmabuf_fd, 0, 0, create.pitch,
                                   (uint32_t)(DRM_FORMAT_MOD_LINEAR >> 32),
                                   (uint32_t)(DRM_FORMAT_MOD_LINEAR & 0xffffffff));
    *buffer = (struct buffer){
        .wl_buffer = zwp_linux_buffer_params_v1_create_immed(params, client.opt.width,
                                                             client.opt.height, client.format, 0),
        .pixels = pixels,
        .size = create.size,
        .stride = create.pitch,
    };
    zwp_linux_buffer_params_v1_destroy(params);
    close(dmabuf_fd);
    wl_buffer_add_listener(buffer->wl_buffer, &buffer_listener, buffer);
    draw(buffer);
}

static void allocate(dev_t device, uint32_t format) {
    // A buffer the compositor still shows may go: it keeps the dma-buf until it is done.
    for (int i = 0; i < BUFFERS; ++i) {
        if (client.buffers[i].wl_buffer) {
            wl_buffer_destroy(client.buffers[i].wl_buffer);
            munmap(client.buffers[i].pixels, client.buffers[i].size);
        }
        client.buffers[i] = (struct buffer){0};
    }
    if (client.drm_fd < 0 || device != client.device) {
        if (client.drm_fd >= 0) {
            close(client.drm_fd);
        }
        client.drm_fd = open_device(device);
    }
    client.device = device;
    client.format = format;
    for (int i = 0; i < BUFFERS; ++i) {
        create_buffer(&client.buffers[i]);
    }
    client.have_buffers = true;
    char name[5];
    say("buffers format=%s device=%u:%u %dx%d", fourcc(format, name), major(device), minor(device),
        client.opt.width, client.opt.height);
}

static void show_frame(void) {
    for (int i = 0; i < BUFFERS; ++i) {
        struct buffer* buffer = &client.buffers[i];
        if (buffer->wl_buffer && !buffer->busy) {
            buffer->busy = true;
            wl_surface_attach(client.surface, buffer->wl_buffer, 0, 0);
            wl_surface_damage_buffer(client.surface, 0, 0, INT32_MAX, INT32_MAX);
            wl_surface_commit(client.surface);
            return;
        }
    }
    // The compositor holds all of them: this frame is skipped.
}

// ---- linux-dmabuf feedback ----

static bool tranche_has(const struct tranche* tranche, uint32_t format) {
    for (size_t i = 0; i < tranche->count; ++i) {
        if (tranche->formats[i] == format) {
            return true;
        }
    }
    return false;
}

static bool is_drawable(uint32_t format) {
    for (size_t i = 0; i < sizeof drawable / sizeof drawable[0]; ++i) {
        if (drawable[i] == format) {
            return true;
        }
    }
    return false;
}

// Where and in which format to allocate after a feedback: a scanout tranche's first drawable
// format when following feedback, else the current format wherever a tranche offers it.
static void choose(const struct feedback* feedback) {
    if (client.opt.follow_feedback) {
        for (size_t t = 0; t < feedback->count; ++t) {
            const struct tranche* tranche = &feedback->tranches[t];
            for (size_t i = 0; tranche->scanout && i < tranche->count; ++i) {
                if (is_drawable(tranche->formats[i])) {
                    if (tranche->formats[i] != client.format || tranche->target != client.device ||
                        !client.have_buffers) {
                        allocate(tranche->target, tranche->formats[i]);
                    }
                    return;
                }
            }
        }
    }
    if (!client.have_buffers) {
        allocate(feedback->main_device, client.opt.format);
    }
}

static void feedback_done(void* data, struct zwp_linux_dmabuf_feedback_v1* object) {
    struct feedback* feedback = &client.pending;
    say("feedback main=%u:%u", major(feedback->main_device), minor(feedback->main_device));
    for (size_t t = 0; t < feedback->count; ++t) {
        const struct tranche* tranche = &feedback->tranches[t];
        char list[MAX_FORMATS * 5 + 1] = "";
        char name[5];
        for (size_t i = 0; i < tranche->count; ++i) {
            strcat(list, i ? "," : "");
            strcat(list, fourcc(tranche->formats[i], name));
        }
        say("tranche target=%u:%u scanout=%d formats=%s", major(tranche->target),
            minor(tranche->target), tranche->scanout, list);
    }
    say("feedback done");
    choose(feedback);
    feedback->count = 0; // the next feedback lists its tranches again
}

static void feedback_format_table(void* data, struct zwp_linux_dmabuf_feedback_v1* object,
                                  int32_t fd, uint32_t size) {
    if (client.pending.table) {
        munmap((void*)client.pending.table, client.pending.table_size);
    }
    void* table = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (table == MAP_FAILED) {
        fail("cannot map the format table: %s", strerror(errno));
    }
    client.pending.table = table;
    client.pending.table_size = size;
}

static dev_t read_dev(const struct wl_array* array) {
    dev_t device = 0;
    if (array->size == sizeof device) {
        memcpy(&device, array->data, sizeof device);
    }
    return device;
}

static void feedback_main_device(void* data, struct zwp_linux_dmabuf_feedback_v1* object,
                                 struct wl_array* device) {
    client.pending.main_device = read_dev(device);
}

// A tranche is its events up to tranche_done; the first of them opens it.
static struct tranche* open_tranche(void) {
    if (!client.tranche_open) {
        if (client.pending.count == MAX_TRANCHES) {
            fail("more than %d tranches", MAX_TRANCHES);
        }
        client.pending.tranches[client.pending.count++] =
            (struct tranche){.target = client.pending.main_device};
        client.tranche_open = true;
    }
    return &client.pending.tranches[client.pending.count - 1];
}

static void feedback_tranche_target_device(void* data, struct zwp_linux_dmabuf_feedback_v1* object,
                                           struct wl_array* device) {
    open_tranche()->target = read_dev(device);
}

static void feedback_tranche_formats(void* data, struct zwp_linux_dmabuf_feedback_v1* object,
                                     struct wl_array* indices) {
    struct tranche* tranche = open_tranche();
    const uint16_t* index = indices->data;
    size_t entries = client.pending.table_size / 16;
    for (size_t i = 0; i < indices->size / sizeof *index; ++i) {
        if (index[i] >= entries) {
            fail("format index %u outside the table", index[i]);
        }
        const uint8_t* entry = client.pending.table + 16 * (size_t)index[i];
        uint32_t format;
        uint64_t modifier;
        memcpy(&format, entry, sizeof format);
        memcpy(&modifier, entry + 8, sizeof modifier);
        if (modifier == DRM_FORMAT_MOD_LINEAR && !tranche_has(tranche, format) &&
            tranche->count < MAX_FORMATS) {
            tranche->formats[tranche->count++] = format;
        }
    }
}

static void feedback_tranche_flags(void* data, struct zwp_linux_dmabuf_feedback_v1* object,
                                   uint32_t flags) {
    open_tranche()->scanout = (flags & ZWP_LINUX_DMABUF_FEEDBACK_V1_TRANCHE_FLAGS_SCANOUT) != 0;
}

static void feedback_tranche_done(void* data, struct zwp_linux_dmabuf_feedback_v1* object) {
    client.tranche_open = false;
}

static const struct zwp_linux_dmabuf_feedback_v1_listener feedback_listener = {
    .done = feedback_done,
    .format_table = feedback_format_table,
    .main_device = feedback_main_device,
    .tranche_done = feedback_tranche_done,
    .tranche_target_device = feedback_tranche_target_device,
    .tranche_formats = feedback_tranche_formats,
    .tranche_flags = feedback_tranche_flags,
};

// ---- Surface ----

static void surface_enter(void* data, struct wl_surface* surface, struct wl_output* output) {
    say("surface enter");
}

static void surface_leave(void* data, struct wl_surface* surface, struct wl_output* output) {
    say("surface leave");
}

static const struct wl_surface_listener surface_listener = {
    .enter = surface_enter,
    .leave = surface_leave,
};

// ---- Seat ----

static void pointer_enter(void* data, struct wl_pointer* pointer, uint32_t serial,
                          struct wl_surface* surface, wl_fixed_t x, wl_fixed_t y) {
    if (surface == client.surface) {
        say("pointer enter %d %d", wl_fixed_to_int(x), wl_fixed_to_int(y));
    }
}

static void pointer_leave(void* data, struct wl_pointer* pointer, uint32_t serial,
                          struct wl_surface* surface) {
    if (surface == client.surface) {
        say("pointer leave");
    }
}

static void pointer_motion(void* data, struct wl_pointer* pointer, uint32_t time, wl_fixed_t x,
                           wl_fixed_t y) {}

static void pointer_button(void* data, struct wl_pointer* pointer, uint32_t serial, uint32_t time,
                           uint32_t button, uint32_t state) {
    if (state == WL_POINTER_BUTTON_STATE_PRESSED) {
        say("pointer button");
    }
}

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
    static struct wl_pointer* pointer;
    if ((caps & WL_SEAT_CAPABILITY_POINTER) && !pointer) {
        pointer = wl_seat_get_pointer(seat);
        wl_pointer_add_listener(pointer, &pointer_listener, NULL);
    }
}

static const struct wl_seat_listener seat_listener = {.capabilities = seat_capabilities};

// Created at the start: the seat has a pointer, and this client its wl_pointer, before a poke.
static void create_virtual_pointer(void) {
    if (!client.pointer_manager || !client.seat) {
        fail("--poke without a seat or zwlr_virtual_pointer_manager_v1");
    }
    client.virtual_pointer =
        zwlr_virtual_pointer_manager_v1_create_virtual_pointer(client.pointer_manager, client.seat);
}

static void poke(void) {
    if (!client.virtual_pointer) {
        fail("SIGUSR1 without --poke");
    }
    struct zwlr_virtual_pointer_v1* pointer = client.virtual_pointer;
    zwlr_virtual_pointer_v1_motion_absolute(
        pointer, 0, (uint32_t)client.opt.poke_x, (uint32_t)client.opt.poke_y,
        (uint32_t)client.opt.extent_width, (uint32_t)client.opt.extent_height);
    zwlr_virtual_pointer_v1_frame(pointer);
    zwlr_virtual_pointer_v1_button(pointer, 0, BTN_LEFT, WL_POINTER_BUTTON_STATE_PRESSED);
    zwlr_virtual_pointer_v1_frame(pointer);
    zwlr_virtual_pointer_v1_button(pointer, 0, BTN_LEFT, WL_POINTER_BUTTON_STATE_RELEASED);
    zwlr_virtual_pointer_v1_frame(pointer);
}

// ---- Globals and main loop ----

static void registry_global(void* data, struct wl_registry* registry, uint32_t name,
                            const char* interface, uint32_t version) {
    if (strcmp(interface, wl_compositor_interface.name) == 0) {
        client.compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 4);
    } else if (strcmp(interface, ivi_application_interface.name) == 0) {
        client.ivi = wl_registry_bind(registry, name, &ivi_application_interface, 1);
    } else if (strcmp(interface, zwp_linux_dmabuf_v1_interface.name) == 0 && version >= 4) {
        client.dmabuf = wl_registry_bind(registry, name, &zwp_linux_dmabuf_v1_interface, 4);
    } else if (strcmp(interface, wl_output_interface.name) == 0) {
        // Bound so that wl_surface.enter and leave name it.
        wl_registry_bind(registry, name, &wl_output_interface, 1);
    } else if (strcmp(interface, wl_seat_interface.name) == 0 && !client.seat) {
        // Version 1: the pointer events handled below are all there are.
        client.seat = wl_registry_bind(registry, name, &wl_seat_interface, 1);
        wl_seat_add_listener(client.seat, &seat_listener, NULL);
    } else if (strcmp(interface, zwlr_virtual_pointer_manager_v1_interface.name) == 0) {
        client.pointer_manager =
            wl_registry_bind(registry, name, &zwlr_virtual_pointer_manager_v1_interface, 1);
    }
}

static void registry_global_remove(void* data, struct wl_registry* registry, uint32_t name) {}

static const struct wl_registry_listener registry_listener = {
    .global = registry_global,
    .global_remove = registry_global_remove,
};

int main(int argc, char** argv) {
    parse_options(argc, argv, &client.opt);
    client.display = wl_display_connect(NULL);
    if (!client.display) {
        fail("cannot connect to the Wayland display");
    }
    struct wl_registry* registry = wl_display_get_registry(client.display);
    wl_registry_add_listener(registry, &registry_listener, NULL);
    wl_display_roundtrip(client.display);
    if (!client.compositor || !client.ivi) {
        fail("the compositor offers no wl_compositor or ivi_application");
    }
    if (!client.dmabuf) {
        fail("the compositor offers no zwp_linux_dmabuf_v1 version 4");
    }
    if (client.opt.poke_x >= 0) {
        create_virtual_pointer();
        wl_display_roundtrip(client.display); // the seat's new capability
        wl_display_roundtrip(client.display); // this client's wl_pointer
    }
    client.surface = wl_compositor_create_surface(client.compositor);
    wl_surface_add_listener(client.surface, &surface_listener, NULL);
    client.ivi_surface =
        ivi_application_surface_create(client.ivi, client.opt.ivi_id, client.surface);
    struct zwp_linux_dmabuf_feedback_v1* feedback =
        zwp_linux_dmabuf_v1_get_surface_feedback(client.dmabuf, client.surface);
    zwp_linux_dmabuf_feedback_v1_add_listener(feedback, &feedback_listener, NULL);
    while (!client.have_buffers) {
        if (wl_display_dispatch(client.display) < 0) {
            fail("lost the compositor before the first feedback");
        }
    }
    show_frame();

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGUSR1);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigprocmask(SIG_BLOCK, &signals, NULL);
    int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
    int timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (signal_fd < 0 || timer_fd < 0) {
        fail("signalfd or timerfd: %s", strerror(errno));
    }
    if (client.opt.fps > 0) {
        long interval = 1000000000L / client.opt.fps;
        struct itimerspec period = {{interval / 1000000000L, interval % 1000000000L},
                                    {interval / 1000000000L, interval % 1000000000L}};
        timerfd_settime(timer_fd, 0, &period, NULL);
    }
    struct pollfd fds[] = {{wl_display_get_fd(client.display), POLLIN, 0},
                           {signal_fd, POLLIN, 0},
                           {timer_fd, POLLIN, 0}};
    for (;;) {
        wl_display_flush(client.display);
        if (poll(fds, 3, -1) < 0 && errno != EINTR) {
            fail("poll: %s", strerror(errno));
        }
        if (fds[0].revents & (POLLERR | POLLHUP)) {
            fail("lost the compositor");
        }
        if ((fds[0].revents & POLLIN) && wl_display_dispatch(client.display) < 0) {
            fail("lost the compositor");
        }
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            if (read(signal_fd, &info, sizeof info) == sizeof info) {
                if (info.ssi_signo != SIGUSR1) {
                    return 0;
                }
                poke();
            }
        }
        if (fds[2].revents & POLLIN) {
            uint64_t expirations;
            if (read(timer_fd, &expirations, sizeof expirations) == sizeof expirations) {
                show_frame();
            }
        }
    }
}
