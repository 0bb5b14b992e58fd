// tessera-test-client: a small Wayland client driven by tessera's integration tests.
//
// It maps one xdg_toplevel showing a solid or checkered wl_shm buffer, can open a popup, pace
// a number of frames, misbehave on purpose (die in the middle of a frame), and print input
// events. Everything the tests look at is printed as one line per event on stdout, flushed at
// once, so that a test can wait for a line before it acts. Errors go to stderr, exit status 1.
// Run with --help for the options and the lines printed.

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <wayland-client.h>
#include <xkbcommon/xkbcommon.h>

#include "client-util.h"
#include "shm-buffers.h"
#include "xdg-shell-client-protocol.h"
#include "alpha-modifier-v1-client-protocol.h"
#include "content-type-v1-client-protocol.h"
#include "tearing-control-v1-client-protocol.h"
#include "cursor-shape-v1-client-protocol.h"
#include "idle-inhibit-unstable-v1-client-protocol.h"
#include "keyboard-shortcuts-inhibit-unstable-v1-client-protocol.h"
#include "pointer-constraints-unstable-v1-client-protocol.h"
#include "relative-pointer-unstable-v1-client-protocol.h"
#include "tablet-unstable-v2-client-protocol.h"
#include "ivi-application-client-protocol.h"

// Listener callbacks must take every argument of their event, used or not.
#pragma GCC diagnostic ignored "-Wunused-parameter"

enum pattern { PATTERN_SOLID, PATTERN_CHECKER };

enum { CHECKER_SQUARE = 8, MAX_BUFFER_SIDE = 4096, MAX_FRAMES = 100000 };

// Highest versions whose events the listeners below handle.
enum {
    COMPOSITOR_VERSION = 4, // wl_surface.damage_buffer
    XDG_WM_BASE_VERSION = 6,
    SEAT_VERSION = 7,
};

struct options {
    int width, height;
    bool follow_configure;
    enum pattern pattern;
    uint32_t color, color2;
    const char* app_id;
    const char* title;
    bool popup;
    int popup_width, popup_height, popup_x, popup_y;
    uint32_t popup_color;
    bool crash_mid_frame;
    bool disconnect_mid_frame;
    int frames; // -1: stay alive until closed
    bool print_input;
    bool maximize, fullscreen; // requested before the first commit
    bool ivi;                  // an ivi-application surface instead of an xdg toplevel
    uint32_t ivi_id;
    bool inhibit_idle; // an idle inhibitor on the surface
    uint32_t alpha;    // UINT32_MAX: opaque; else wp_alpha_modifier_surface_v1's multiplier
    bool tearing;      // a tearing-control hint: async presentation
    int shadow;        // a grey border this wide around the window, outside its geometry
    int content_type;  // -1: none set; else a wp_content_type_v1_type
    // With --print-input:
    bool lock_pointer;      // lock the pointer on the surface, print relative motion
    uint32_t cursor_shape;  // 0: none, else a wp_cursor_shape_device_v1 shape set on enter
    bool inhibit_shortcuts; // ask for the compositor's keyboard shortcuts
    bool print_tablet;      // speak tablet-v2 and print pen events
};

struct popup {
    struct wl_surface* surface;
    struct xdg_surface* xdg_surface;
    struct xdg_popup* xdg_popup;
    struct wl_callback* frame;
    bool committed_buffer;
    bool mapped;
    bool dismissed;
};

struct client {
    struct options opt;

    struct wl_display* display;
    struct wl_registry* registry;
    struct wl_compositor* compositor;
    uint32_t compositor_version;
    struct wl_shm* shm;
    struct xdg_wm_base* wm_base;
    struct ivi_application* ivi_application;
    struct zwp_idle_inhibit_manager_v1* idle_inhibit_manager;
    struct zwp_idle_inhibitor_v1* idle_inhibitor;
    struct wp_alpha_modifier_v1* alpha_modifier;
    struct wp_alpha_modifier_surface_v1* alpha_modifier_surface;
    struct wp_tearing_control_manager_v1* tearing_manager;
    struct wp_tearing_control_v1* tearing_control;
    struct wp_content_type_manager_v1* content_type_manager;
    struct wp_content_type_v1* content_type;
    struct zwp_pointer_constraints_v1* pointer_constraints;
    struct zwp_locked_pointer_v1* locked_pointer;
    struct zwp_relative_pointer_manager_v1* relative_pointer_manager;
    struct zwp_relative_pointer_v1* relative_pointer;
    struct wp_cursor_shape_manager_v1* cursor_shape_manager;
    struct wp_cursor_shape_device_v1* cursor_shape_device;
    struct zwp_keyboard_shortcuts_inhibit_manager_v1* shortcuts_inhibit_manager;
    struct zwp_keyboard_shortcuts_inhibitor_v1* shortcuts_inhibitor;
    struct zwp_tablet_manager_v2* tablet_manager;
    struct zwp_tablet_seat_v2* tablet_seat;

    struct wl_seat* seat;
    uint32_t seat_version;
    struct wl_pointer* pointer;
    struct wl_keyboard* keyboard;
    struct wl_touch* touch;
    struct xkb_context* xkb_context;
    struct xkb_keymap* xkb_keymap;
    struct xkb_state* xkb_state;

    struct wl_surface* surface;
    struct xdg_surface* xdg_surface;
    struct xdg_toplevel* xdg_toplevel;
    struct ivi_surface* ivi_surface;
    struct wl_callback* frame;
    struct shm_buffers buffers;

    int width, height; // size of the buffer drawn
    bool swapped;      // colours swapped in the buffer drawn

    // The last xdg_toplevel.configure, applied by the xdg_surface.configure that follows it.
    int configure_width, configure_height;
    bool configure_activated;

    bool committed_buffer;
    bool mapped;
    int frames_done;
    bool frames_reported;

    struct popup popup;

    bool running;
    int exit_status;
};

// Static so that everything stays reachable for LeakSanitizer when exiting on an error.
static struct client client;

const char* const program_name = "tessera-test-client";

static void stop(int status) {
    client.running = false;
    client.exit_status = status;
}

// ---- Command line ----

static void usage(FILE* out) {
    fprintf(
        out,
        "usage: %s [OPTIONS]\n"
        "\n"
        "  --size WxH             buffer size (default 64x48); configure sizes are ignored\n"
        "  --follow-configure     use non-zero configure sizes instead of --size\n"
        "  --pattern solid|checker  (default checker: 8x8 squares, top-left is --color)\n"
        "  --color RRGGBB         first colour (default ff0000)\n"
        "  --color2 RRGGBB        second colour (default 0000ff)\n"
        "  --app-id ID            (default tessera-test-client)\n"
        "  --title TITLE\n"
        "  --popup WxH+X+Y        after mapping, open a popup at toplevel origin + (X,Y)\n"
        "  --popup-color RRGGBB   (default 00ff00)\n"
        "  --crash-mid-frame      after mapping, attach and damage, then SIGKILL itself\n"
        "  --disconnect-mid-frame after mapping, attach and damage, then close the socket\n"
        "  --frames N             after mapping, draw N frames paced by frame callbacks, exit\n"
        "  --print-input          print seat input events\n"
        "  --maximize             ask to be maximized before the first commit\n"
        "  --fullscreen           ask to be fullscreen before the first commit\n"
        "  --ivi-id N             be an ivi-application surface with that id, not a window\n"
        "  --inhibit-idle         keep the session from going idle while shown\n"
        "  --tearing              hint that frames may be shown at once (tearing-control)\n"
        "  --shadow N             draw a grey N-pixel border outside the window geometry, as\n"
        "                         client-side shadows are (the size is the geometry's)\n"
        "  --content-type TYPE    photo, video or game (content-type)\n"
        "  --lock-pointer         (with --print-input) lock the pointer, print relative motion\n"
        "  --cursor-shape NAME    (with --print-input) default, pointer, text or crosshair\n"
        "  --inhibit-shortcuts    (with --print-input) take the compositor's shortcuts\n"
        "  --print-tablet         (implies --print-input) take pens as tablet tools and print\n"
        "                         tablet-in X Y | tablet-motion X Y | tablet-down | tablet-up |\n"
        "                         tablet-pressure P (0..65535) | tablet-out\n"
        "  --help\n"
        "\n"
        "stdout lines: configure W H | activated | mapped | frames N | closed |\n"
        "  popup-configure X Y W H | popup-mapped | popup-done | keyboard-enter |\n"
        "  keyboard-leave | key KEYSYM | pointer-enter X Y | button CODE | touch-down X Y\n",
        program_name);
}

static bool parse_size(const char** text, int* width, int* height) {
    return parse_int(text, 1, MAX_BUFFER_SIDE, width) && *(*text)++ == 'x' &&
           parse_int(text, 1, MAX_BUFFER_SIDE, height);
}

static void parse_size_option(const char* text, int* width, int* height) {
    if (!parse_size(&text, width, height) || *text != '\0')
        fail("--size: expected WxH with 1 <= W, H <= %d", MAX_BUFFER_SIDE);
}

static void parse_popup_option(const char* text, struct options* opt) {
    if (!parse_size(&text, &opt->popup_width, &opt->popup_height) || *text++ != '+' ||
        !parse_int(&text, -MAX_BUFFER_SIDE, MAX_BUFFER_SIDE, &opt->popup_x) || *text++ != '+' ||
        !parse_int(&text, -MAX_BUFFER_SIDE, MAX_BUFFER_SIDE, &opt->popup_y) || *text != '\0')
        fail("--popup: expected WxH+X+Y");
    opt->popup = true;
}

static uint32_t parse_cursor_shape(const char* name) {
    static const struct {
        const char* name;
        uint32_t shape;
    } shapes[] = {
        {"default", WP_CURSOR_SHAPE_DEVICE_V1_SHAPE_DEFAULT},
        {"pointer", WP_CURSOR_SHAPE_DEVICE_V1_SHAPE_POINTER},
        {"text", WP_CURSOR_SHAPE_DEVICE_V1_SHAPE_TEXT},
        {"crosshair", WP_CURSOR_SHAPE_DEVICE_V1_SHAPE_CROSSHAIR},
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        if (strcmp(name, shapes[i].name) == 0)
            return shapes[i].shape;
    }
    fail("--cursor-shape: expected default, pointer, text or crosshair");
}

static void parse_options(int argc, char** argv, struct options* opt) {
    enum {
        OPT_SIZE = 256,
        OPT_FOLLOW_CONFIGURE,
        OPT_PATTERN,
        OPT_COLOR,
        OPT_COLOR2,
        OPT_APP_ID,
        OPT_TITLE,
        OPT_POPUP,
        OPT_POPUP_COLOR,
        OPT_CRASH_MID_FRAME,
        OPT_DISCONNECT_MID_FRAME,
        OPT_FRAMES,
        OPT_PRINT_INPUT,
        OPT_MAXIMIZE,
        OPT_FULLSCREEN,
        OPT_IVI_ID,
        OPT_INHIBIT_IDLE,
        OPT_ALPHA,
        OPT_TEARING,
        OPT_SHADOW,
        OPT_CONTENT_TYPE,
        OPT_LOCK_POINTER,
        OPT_CURSOR_SHAPE,
        OPT_INHIBIT_SHORTCUTS,
        OPT_PRINT_TABLET,
    };
    static const struct option long_options[] = {
        {"size", required_argument, NULL, OPT_SIZE},
        {"follow-configure", no_argument, NULL, OPT_FOLLOW_CONFIGURE},
        {"pattern", required_argument, NULL, OPT_PATTERN},
        {"color", required_argument, NULL, OPT_COLOR},
        {"color2", required_argument, NULL, OPT_COLOR2},
        {"app-id", required_argument, NULL, OPT_APP_ID},
        {"title", required_argument, NULL, OPT_TITLE},
        {"popup", required_argument, NULL, OPT_POPUP},
        {"popup-color", required_argument, NULL, OPT_POPUP_COLOR},
        {"crash-mid-frame", no_argument, NULL, OPT_CRASH_MID_FRAME},
        {"disconnect-mid-frame", no_argument, NULL, OPT_DISCONNECT_MID_FRAME},
        {"frames", required_argument, NULL, OPT_FRAMES},
        {"print-input", no_argument, NULL, OPT_PRINT_INPUT},
        {"maximize", no_argument, NULL, OPT_MAXIMIZE},
        {"fullscreen", no_argument, NULL, OPT_FULLSCREEN},
        {"ivi-id", required_argument, NULL, OPT_IVI_ID},
        {"inhibit-idle", no_argument, NULL, OPT_INHIBIT_IDLE},
        {"alpha", required_argument, NULL, OPT_ALPHA},
        {"tearing", no_argument, NULL, OPT_TEARING},
        {"shadow", required_argument, NULL, OPT_SHADOW},
        {"content-type", required_argument, NULL, OPT_CONTENT_TYPE},
        {"lock-pointer", no_argument, NULL, OPT_LOCK_POINTER},
        {"cursor-shape", required_argument, NULL, OPT_CURSOR_SHAPE},
        {"inhibit-shortcuts", no_argument, NULL, OPT_INHIBIT_SHORTCUTS},
        {"print-tablet", no_argument, NULL, OPT_PRINT_TABLET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };

    *opt = (struct options){
        .width = 64,
        .height = 48,
        .pattern = PATTERN_CHECKER,
        .color = 0xff0000,
        .color2 = 0x0000ff,
        .app_id = "tessera-test-client",
        .popup_color = 0x00ff00,
        .frames = -1,
        .alpha = UINT32_MAX,
        .content_type = -1,
    };

    int c;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_SIZE:
            parse_size_option(optarg, &opt->width, &opt->height);
            break;
        case OPT_FOLLOW_CONFIGURE:
            opt->follow_configure = true;
            break;
        case OPT_PATTERN:
            if (strcmp(optarg, "solid") == 0)
                opt->pattern = PATTERN_SOLID;
            else if (strcmp(optarg, "checker") == 0)
                opt->pattern = PATTERN_CHECKER;
            else
                fail("--pattern: expected solid or checker");
            break;
        case OPT_COLOR:
            opt->color = parse_color("--color", optarg);
            break;
        case OPT_COLOR2:
            opt->color2 = parse_color("--color2", optarg);
            break;
        case OPT_APP_ID:
            opt->app_id = optarg;
            break;
        case OPT_TITLE:
            opt->title = optarg;
            break;
        case OPT_POPUP:
            parse_popup_option(optarg, opt);
            break;
        case OPT_POPUP_COLOR:
            opt->popup_color = parse_color("--popup-color", optarg);
            break;
        case OPT_CRASH_MID_FRAME:
            opt->crash_mid_frame = true;
            break;
        case OPT_DISCONNECT_MID_FRAME:
            opt->disconnect_mid_frame = true;
            break;
        case OPT_FRAMES: {
            const char* text = optarg;
            if (!parse_int(&text, 0, MAX_FRAMES, &opt->frames) || *text != '\0')
                fail("--frames: expected an integer in [0, %d]", MAX_FRAMES);
            break;
        }
        case OPT_PRINT_INPUT:
            opt->print_input = true;
            break;
        case OPT_PRINT_TABLET:
            opt->print_input = true;
            opt->print_tablet = true;
            break;
        case OPT_MAXIMIZE:
            opt->maximize = true;
            break;
        case OPT_FULLSCREEN:
            opt->fullscreen = true;
            break;
        case OPT_IVI_ID:
            opt->ivi = true;
            opt->ivi_id = parse_u32("--ivi-id", optarg);
            break;
        case OPT_INHIBIT_IDLE:
            opt->inhibit_idle = true;
            break;
        case OPT_ALPHA: {
            int percent = 0;
            const char* text = optarg;
            if (!parse_int(&text, 0, 100, &percent) || *text)
                fail("--alpha: expected a percentage in [0, 100]");
            opt->alpha = (uint32_t)((uint64_t)UINT32_MAX * (uint64_t)percent / 100);
            break;
        }
        case OPT_TEARING:
            opt->tearing = true;
            break;
        case OPT_SHADOW: {
            const char* text = optarg;
            if (!parse_int(&text, 1, 256, &opt->shadow) || *text)
                fail("--shadow: expected a width in [1, 256]");
            break;
        }
        case OPT_CONTENT_TYPE:
            if (strcmp(optarg, "photo") == 0)
                opt->content_type = WP_CONTENT_TYPE_V1_TYPE_PHOTO;
            else if (strcmp(optarg, "video") == 0)
                opt->content_type = WP_CONTENT_TYPE_V1_TYPE_VIDEO;
            else if (strcmp(optarg, "game") == 0)
                opt->content_type = WP_CONTENT_TYPE_V1_TYPE_GAME;
            else
                fail("--content-type: expected photo, video or game");
            break;
        case OPT_LOCK_POINTER:
            opt->lock_pointer = true;
            break;
        case OPT_CURSOR_SHAPE:
            opt->cursor_shape = parse_cursor_shape(optarg);
            break;
        case OPT_INHIBIT_SHORTCUTS:
            opt->inhibit_shortcuts = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(1);
        }
    }
    if (optind < argc)
        fail("unexpected argument '%s'", argv[optind]);
    if (opt->crash_mid_frame && opt->disconnect_mid_frame)
        fail("--crash-mid-frame and --disconnect-mid-frame exclude each other");
}

// ---- Buffers ----

enum { SHADOW_COLOR = 0x808080 };

struct fill {
    enum pattern pattern;
    uint32_t color, color2;
    int shadow; // border of SHADOW_COLOR; the pattern starts inside it
};

static void fill_pixels(uint32_t* pixels, int width, int height, const void* data) {
    const struct fill* fill = data;
    // XRGB8888 with the unused byte set, so the pixels read as opaque either way.
    uint32_t first = 0xff000000 | fill->color;
    uint32_t second = 0xff000000 | fill->color2;
    const int s = fill->shadow;
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            if (x < s || y < s || x >= width - s || y >= height - s) {
                pixels[y * width + x] = 0xff000000 | SHADOW_COLOR;
                continue;
            }
            bool odd_square = ((x - s) / CHECKER_SQUARE + (y - s) / CHECKER_SQUARE) % 2 != 0;
            bool use_second = fill->pattern == PATTERN_CHECKER && odd_square;
            pixels[y * width + x] = use_second ? second : first;
        }
    }
}

// A fresh buffer per frame: the compositor may still read the previous one.
static struct wl_buffer* create_buffer(int width, int height, enum pattern pattern, uint32_t color,
                                       uint32_t color2, int shadow) {
    struct fill fill = {pattern, color, color2, shadow};
    return shm_buffer_create(&client.buffers, client.shm, width, height, fill_pixels, &fill);
}

static void attach_buffer(struct wl_surface* surface, struct wl_buffer* buffer, int width,
                          int height) {
    wl_surface_attach(surface, buffer, 0, 0);
    if (client.compositor_version >= WL_SURFACE_DAMAGE_BUFFER_SINCE_VERSION)
        wl_surface_damage_buffer(surface, 0, 0, width, height);
    else
        wl_surface_damage(surface, 0, 0, width, height);
}

// ---- Toplevel ----

static void after_map(void);
static void frame_done(void);
static void check_done(void);

// Attaches and damages a new toplevel buffer; the caller commits (or, on purpose, does not).
static void draw_toplevel(void) {
    const struct options* opt = &client.opt;
    uint32_t color = client.swapped ? opt->color2 : opt->color;
    uint32_t color2 = client.swapped ? opt->color : opt->color2;
    const int s = client.xdg_surface ? opt->shadow : 0;
    struct wl_buffer* buffer =
        create_buffer(client.width + 2 * s, client.height + 2 * s, opt->pattern, color, color2, s);
    attach_buffer(client.surface, buffer, client.width + 2 * s, client.height + 2 * s);
    if (client.xdg_surface)
        xdg_surface_set_window_geometry(client.xdg_surface, s, s, client.width, client.height);
}

static void frame_callback_done(void* data, struct wl_callback* callback, uint32_t time) {
    wl_callback_destroy(callback);
    client.frame = NULL;
    if (!client.mapped) {
        client.mapped = true;
        printf("mapped\n");
        after_map();
    } else {
        frame_done();
    }
}

static const struct wl_callback_listener frame_listener = {
    .done = frame_callback_done,
};

static void request_frame(void) {
    client.frame = wl_surface_frame(client.surface);
    wl_callback_add_listener(client.frame, &frame_listener, NULL);
}

static void draw_next_frame(void) {
    client.swapped = !client.swapped;
    draw_toplevel();
    request_frame();
    wl_surface_commit(client.surface);
}

static void frame_done(void) {
    if (client.opt.frames < 0 || client.frames_reported)
        return;
    client.frames_done++;
    if (client.frames_done < client.opt.frames) {
        draw_next_frame();
        return;
    }
    printf("frames %d\n", client.frames_done);
    client.frames_reported = true;
    check_done();
}

static void toplevel_configure(void* data, struct xdg_toplevel* toplevel, int32_t width,
                               int32_t height, struct wl_array* states) {
    client.configure_width = width;
    client.configure_height = height;
    client.configure_activated = false;
    uint32_t* state;
    wl_array_for_each(state, states) {
        if (*state == XDG_TOPLEVEL_STATE_ACTIVATED)
            client.configure_activated = true;
    }
}

static void toplevel_close(void* data, struct xdg_toplevel* toplevel) {
    printf("closed\n");
    stop(0);
}

static void toplevel_configure_bounds(void* data, struct xdg_toplevel* toplevel, int32_t width,
                                      int32_t height) {}

static void toplevel_wm_capabilities(void* data, struct xdg_toplevel* toplevel,
                                     struct wl_array* capabilities) {}

static const struct xdg_toplevel_listener toplevel_listener = {
    .configure = toplevel_configure,
    .close = toplevel_close,
    .configure_bounds = toplevel_configure_bounds,
    .wm_capabilities = toplevel_wm_capabilities,
};

static void toplevel_surface_configure(void* data, struct xdg_surface* xdg_surface,
                                       uint32_t serial) {
    xdg_surface_ack_configure(xdg_surface, serial);
    printf("configure %d %d\n", client.configure_width, client.configure_height);
    if (client.configure_activated)
        printf("activated\n");

    bool resized = false;
    if (client.opt.follow_configure && client.configure_width > 0 && client.configure_height > 0 &&
        (client.configure_width != client.width || client.configure_height != client.height)) {
        client.width = client.configure_width;
        client.height = client.configure_height;
        resized = true;
    }

    if (!client.committed_buffer) {
        client.committed_buffer = true;
        draw_toplevel();
        request_frame();
    } else if (resized) {
        draw_toplevel();
    }
    // Commit even when nothing changed: the compositor applies the ack on the next commit.
    wl_surface_commit(client.surface);
}

static const struct xdg_surface_listener toplevel_surface_listener = {
    .configure = toplevel_surface_configure,
};

static void create_toplevel(void) {
    client.width = client.opt.width;
    client.height = client.opt.height;
    client.surface = wl_compositor_create_surface(client.compositor);
    client.xdg_surface = xdg_wm_base_get_xdg_surface(client.wm_base, client.surface);
    xdg_surface_add_listener(client.xdg_surface, &toplevel_surface_listener, NULL);
    client.xdg_toplevel = xdg_surface_get_toplevel(client.xdg_surface);
    xdg_toplevel_add_listener(client.xdg_toplevel, &toplevel_listener, NULL);
    xdg_toplevel_set_app_id(client.xdg_toplevel, client.opt.app_id);
    if (client.opt.title)
        xdg_toplevel_set_title(client.xdg_toplevel, client.opt.title);
    if (client.opt.maximize)
        xdg_toplevel_set_maximized(client.xdg_toplevel);
    if (client.opt.fullscreen)
        xdg_toplevel_set_fullscreen(client.xdg_toplevel, NULL);
    if (client.alpha_modifier) { // double-buffered: applies with the commit below
        client.alpha_modifier_surface =
            wp_alpha_modifier_v1_get_surface(client.alpha_modifier, client.surface);
        wp_alpha_modifier_surface_v1_set_multiplier(client.alpha_modifier_surface,
                                                    client.opt.alpha);
    }
    if (client.tearing_manager) { // double-buffered too
        client.tearing_control = wp_tearing_control_manager_v1_get_tearing_control(
            client.tearing_manager, client.surface);
        wp_tearing_control_v1_set_presentation_hint(client.tearing_control,
                                                    WP_TEARING_CONTROL_V1_PRESENTATION_HINT_ASYNC);
    }
    if (client.content_type_manager) {
        client.content_type = wp_content_type_manager_v1_get_surface_content_type(
            client.content_type_manager, client.surface);
        wp_content_type_v1_set_content_type(client.content_type, (uint32_t)client.opt.content_type);
    }
    // The initial commit without a buffer asks for the first configure.
    wl_surface_commit(client.surface);
}

// ---- ivi-application ----

static void ivi_surface_configure(void* data, struct ivi_surface* ivi_surface, int32_t width,
                                  int32_t height) {
    printf("configure %d %d\n", width, height);
    if (client.opt.follow_configure && width > 0 && height > 0 &&
        (width != client.width || height != client.height)) {
        client.width = width;
        client.height = height;
        draw_toplevel();
        wl_surface_commit(client.surface);
    }
}

static const struct ivi_surface_listener ivi_surface_listener = {
    .configure = ivi_surface_configure,
};

// An ivi surface needs no configure before its first buffer.
static void create_ivi_surface(void) {
    client.width = client.opt.width;
    client.height = client.opt.height;
    client.surface = wl_compositor_create_surface(client.compositor);
    client.ivi_surface =
        ivi_application_surface_create(client.ivi_application, client.opt.ivi_id, client.surface);
    ivi_surface_add_listener(client.ivi_surface, &ivi_surface_listener, NULL);
    // Let a configure sent at creation arrive before drawing.
    if (wl_display_roundtrip(client.display) < 0)
        fail("connection lost while creating the ivi surface");
    client.committed_buffer = true;
    draw_toplevel();
    request_frame();
    wl_surface_commit(client.surface);
}

// ---- Popup ----

static void destroy_popup(void) {
    struct popup* popup = &client.popup;
    if (popup->frame)
        wl_callback_destroy(popup->frame);
    if (popup->xdg_popup)
        xdg_popup_destroy(popup->xdg_popup);
    if (popup->xdg_surface)
        xdg_surface_destroy(popup->xdg_surface);
    if (popup->surface)
        wl_surface_destroy(popup->surface);
    popup->frame = NULL;
    popup->xdg_popup = NULL;
    popup->xdg_surface = NULL;
    popup->surface = NULL;
}

static void popup_frame_done(void* data, struct wl_callback* callback, uint32_t time) {
    wl_callback_destroy(callback);
    client.popup.frame = NULL;
    client.popup.mapped = true;
    printf("popup-mapped\n");
    check_done();
}

static const struct wl_callback_listener popup_frame_listener = {
    .done = popup_frame_done,
};

static void popup_surface_configure(void* data, struct xdg_surface* xdg_surface, uint32_t serial) {
    struct popup* popup = &client.popup;
    const struct options* opt = &client.opt;
    xdg_surface_ack_configure(xdg_surface, serial);
    if (!popup->committed_buffer) {
        popup->committed_buffer = true;
        struct wl_buffer* buffer = create_buffer(opt->popup_width, opt->popup_height, PATTERN_SOLID,
                                                 opt->popup_color, 0, 0);
        attach_buffer(popup->surface, buffer, opt->popup_width, opt->popup_height);
        xdg_surface_set_window_geometry(xdg_surface, 0, 0, opt->popup_width, opt->popup_height);
        popup->frame = wl_surface_frame(popup->surface);
        wl_callback_add_listener(popup->frame, &popup_frame_listener, NULL);
    }
    wl_surface_commit(popup->surface);
}

static const struct xdg_surface_listener popup_surface_listener = {
    .configure = popup_surface_configure,
};

static void popup_configure(void* data, struct xdg_popup* xdg_popup, int32_t x, int32_t y,
                            int32_t width, int32_t height) {
    printf("popup-configure %d %d %d %d\n", x, y, width, height);
}

static void popup_done(void* data, struct xdg_popup* xdg_popup) {
    printf("popup-done\n");
    client.popup.dismissed = true;
    destroy_popup();
    check_done();
}

static void popup_repositioned(void* data, struct xdg_popup* xdg_popup, uint32_t token) {}

static const struct xdg_popup_listener popup_listener = {
    .configure = popup_configure,
    .popup_done = popup_done,
    .repositioned = popup_repositioned,
};

// The anchor point (X,Y) of the parent's window geometry becomes the popup's top-left corner.
static void create_popup(void) {
    struct popup* popup = &client.popup;
    const struct options* opt = &client.opt;

    struct xdg_positioner* positioner = xdg_wm_base_create_positioner(client.wm_base);
    xdg_positioner_set_size(positioner, opt->popup_width, opt->popup_height);
    xdg_positioner_set_anchor_rect(positioner, opt->popup_x, opt->popup_y, 1, 1);
    xdg_positioner_set_anchor(positioner, XDG_POSITIONER_ANCHOR_TOP_LEFT);
    xdg_positioner_set_gravity(positioner, XDG_POSITIONER_GRAVITY_BOTTOM_RIGHT);
    xdg_positioner_set_constraint_adjustment(positioner, XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_NONE);

    popup->surface = wl_compositor_create_surface(client.compositor);
    popup->xdg_surface = xdg_wm_base_get_xdg_surface(client.wm_base, popup->surface);
    xdg_surface_add_listener(popup->xdg_surface, &popup_surface_listener, NULL);
    popup->xdg_popup = xdg_surface_get_popup(popup->xdg_surface, client.xdg_surface, positioner);
    xdg_popup_add_listener(popup->xdg_popup, &popup_listener, NULL);
    xdg_positioner_destroy(positioner);
    wl_surface_commit(popup->surface);
}

// ---- Scenarios after the first frame was shown ----

// Writes out every queued request, waiting while the socket is full.
static void flush_all(void) {
    while (wl_display_flush(client.display) < 0) {
        if (errno != EAGAIN)
            fail("flush: %s", strerror(errno));
        struct pollfd pfd = {.fd = wl_display_get_fd(client.display), .events = POLLOUT};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            fail("poll: %s", strerror(errno));
    }
}

// Leaves the compositor with a surface whose new buffer is attached and damaged but never
// committed, then dies without a goodbye.
static _Noreturn void die_mid_frame(bool disconnect) {
    client.swapped = !client.swapped;
    draw_toplevel();
    flush_all();
    if (disconnect) {
        close(wl_display_get_fd(client.display));
        _exit(0);
    }
    kill(getpid(), SIGKILL);
    _exit(1); // not reached
}

static void after_map(void) {
    const struct options* opt = &client.opt;
    if (opt->crash_mid_frame || opt->disconnect_mid_frame)
        die_mid_frame(opt->disconnect_mid_frame);
    if (opt->popup)
        create_popup();
    if (opt->frames == 0) {
        printf("frames 0\n");
        client.frames_reported = true;
        check_done();
    } else if (opt->frames > 0) {
        draw_next_frame();
    }
}

// With --frames, exits once the frames and any popup are done.
static void check_done(void) {
    if (!client.frames_reported)
        return;
    if (client.opt.popup && !client.popup.mapped && !client.popup.dismissed)
        return;
    stop(0);
}

// ---- Input ----

static void set_up_input_extensions(void);

static void pointer_enter(void* data, struct wl_pointer* pointer, uint32_t serial,
                          struct wl_surface* surface, wl_fixed_t x, wl_fixed_t y) {
    printf("pointer-enter %d %d\n", wl_fixed_to_int(x), wl_fixed_to_int(y));
    if (client.cursor_shape_device)
        wp_cursor_shape_device_v1_set_shape(client.cursor_shape_device, serial,
                                            client.opt.cursor_shape);
}

static void pointer_leave(void* data, struct wl_pointer* pointer, uint32_t serial,
                          struct wl_surface* surface) {}

static void pointer_motion(void* data, struct wl_pointer* pointer, uint32_t time, wl_fixed_t x,
                           wl_fixed_t y) {}

static void pointer_button(void* data, struct wl_pointer* pointer, uint32_t serial, uint32_t time,
                           uint32_t button, uint32_t state) {
    if (state == WL_POINTER_BUTTON_STATE_PRESSED)
        printf("button %u\n", button);
}

static void pointer_axis(void* data, struct wl_pointer* pointer, uint32_t time, uint32_t axis,
                         wl_fixed_t value) {}

static void pointer_frame(void* data, struct wl_pointer* pointer) {}

static void pointer_axis_source(void* data, struct wl_pointer* pointer, uint32_t source) {}

static void pointer_axis_stop(void* data, struct wl_pointer* pointer, uint32_t time,
                              uint32_t axis) {}

static void pointer_axis_discrete(void* data, struct wl_pointer* pointer, uint32_t axis,
                                  int32_t discrete) {}

static const struct wl_pointer_listener pointer_listener = {
    .enter = pointer_enter,
    .leave = pointer_leave,
    .motion = pointer_motion,
    .button = pointer_button,
    .axis = pointer_axis,
    .frame = pointer_frame,
    .axis_source = pointer_axis_source,
    .axis_stop = pointer_axis_stop,
    .axis_discrete = pointer_axis_discrete,
};

static void drop_keymap(void) {
    xkb_state_unref(client.xkb_state);
    xkb_keymap_unref(client.xkb_keymap);
    client.xkb_state = NULL;
    client.xkb_keymap = NULL;
}

static void keyboard_keymap(void* data, struct wl_keyboard* keyboard, uint32_t format, int32_t fd,
                            uint32_t size) {
    drop_keymap();
    if (format != WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1) {
        close(fd);
        return;
    }
    // MAP_PRIVATE: from wl_seat version 7 the compositor may share one read-only keymap.
    char* text = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (text == MAP_FAILED)
        fail("mmap keymap: %s", strerror(errno));
    client.xkb_keymap = xkb_keymap_new_from_buffer(
        client.xkb_context, text, size, XKB_KEYMAP_FORMAT_TEXT_V1, XKB_KEYMAP_COMPILE_NO_FLAGS);
    munmap(text, size);
    if (!client.xkb_keymap)
        fail("cannot compile the compositor's keymap");
    client.xkb_state = xkb_state_new(client.xkb_keymap);
    if (!client.xkb_state)
        fail("out of memory");
}

static void keyboard_enter(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                           struct wl_surface* surface, struct wl_array* keys) {
    printf("keyboard-enter\n");
}

static void keyboard_leave(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                           struct wl_surface* surface) {
    printf("keyboard-leave\n");
}

static void keyboard_key(void* data, struct wl_keyboard* keyboard, uint32_t serial, uint32_t time,
                         uint32_t key, uint32_t state) {
    if (state != WL_KEYBOARD_KEY_STATE_PRESSED)
        return;
    if (!client.xkb_state) {
        printf("key code-%u\n", key);
        return;
    }
    // Wayland sends evdev codes; xkb keycodes are offset by 8.
    xkb_keysym_t keysym = xkb_state_key_get_one_sym(client.xkb_state, key + 8);
    char name[64];
    if (xkb_keysym_get_name(keysym, name, sizeof(name)) < 0)
        snprintf(name, sizeof(name), "code-%u", key);
    printf("key %s\n", name);
}

static void keyboard_modifiers(void* data, struct wl_keyboard* keyboard, uint32_t serial,
                               uint32_t depressed, uint32_t latched, uint32_t locked,
                               uint32_t group) {
    if (client.xkb_state)
        xkb_state_update_mask(client.xkb_state, depressed, latched, locked, 0, 0, group);
}

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

static void touch_down(void* data, struct wl_touch* touch, uint32_t serial, uint32_t time,
                       struct wl_surface* surface, int32_t id, wl_fixed_t x, wl_fixed_t y) {
    printf("touch-down %d %d\n", wl_fixed_to_int(x), wl_fixed_to_int(y));
}

static void touch_up(void* data, struct wl_touch* touch, uint32_t serial, uint32_t time,
                     int32_t id) {}

static void touch_motion(void* data, struct wl_touch* touch, uint32_t time, int32_t id,
                         wl_fixed_t x, wl_fixed_t y) {}

static void touch_frame(void* data, struct wl_touch* touch) {}

static void touch_cancel(void* data, struct wl_touch* touch) {}

static void touch_shape(void* data, struct wl_touch* touch, int32_t id, wl_fixed_t major,
                        wl_fixed_t minor) {}

static void touch_orientation(void* data, struct wl_touch* touch, int32_t id,
                              wl_fixed_t orientation) {}

static const struct wl_touch_listener touch_listener = {
    .down = touch_down,
    .up = touch_up,
    .motion = touch_motion,
    .frame = touch_frame,
    .cancel = touch_cancel,
    .shape = touch_shape,
    .orientation = touch_orientation,
};

static void release_pointer(void) {
    if (client.seat_version >= WL_POINTER_RELEASE_SINCE_VERSION)
        wl_pointer_release(client.pointer);
    else
        wl_pointer_destroy(client.pointer);
    client.pointer = NULL;
}

static void release_keyboard(void) {
    if (client.seat_version >= WL_KEYBOARD_RELEASE_SINCE_VERSION)
        wl_keyboard_release(client.keyboard);
    else
        wl_keyboard_destroy(client.keyboard);
    client.keyboard = NULL;
}

static void release_touch(void) {
    if (client.seat_version >= WL_TOUCH_RELEASE_SINCE_VERSION)
        wl_touch_release(client.touch);
    else
        wl_touch_destroy(client.touch);
    client.touch = NULL;
}

static void seat_capabilities(void* data, struct wl_seat* seat, uint32_t capabilities) {
    bool has_pointer = capabilities & WL_SEAT_CAPABILITY_POINTER;
    bool has_keyboard = capabilities & WL_SEAT_CAPABILITY_KEYBOARD;
    bool has_touch = capabilities & WL_SEAT_CAPABILITY_TOUCH;

    if (has_pointer && !client.pointer) {
        client.pointer = wl_seat_get_pointer(seat);
        wl_pointer_add_listener(client.pointer, &pointer_listener, NULL);
        set_up_input_extensions();
    } else if (!has_pointer && client.pointer) {
        release_pointer();
    }
    if (has_keyboard && !client.keyboard) {
        client.keyboard = wl_seat_get_keyboard(seat);
        wl_keyboard_add_listener(client.keyboard, &keyboard_listener, NULL);
    } else if (!has_keyboard && client.keyboard) {
        release_keyboard();
    }
    if (has_touch && !client.touch) {
        client.touch = wl_seat_get_touch(seat);
        wl_touch_add_listener(client.touch, &touch_listener, NULL);
    } else if (!has_touch && client.touch) {
        release_touch();
    }
}

static void seat_name(void* data, struct wl_seat* seat, const char* name) {}

// ---- Tablet tools (--print-tablet) ----

static void tool_type(void* data, struct zwp_tablet_tool_v2* tool, uint32_t type) {}
static void tool_serial(void* data, struct zwp_tablet_tool_v2* tool, uint32_t hi, uint32_t lo) {}
static void tool_wacom(void* data, struct zwp_tablet_tool_v2* tool, uint32_t hi, uint32_t lo) {}
static void tool_capability(void* data, struct zwp_tablet_tool_v2* tool, uint32_t capability) {}
static void tool_done(void* data, struct zwp_tablet_tool_v2* tool) {}
static void tool_removed(void* data, struct zwp_tablet_tool_v2* tool) {
    zwp_tablet_tool_v2_destroy(tool);
}
static bool tool_entering;
static void tool_proximity_in(void* data, struct zwp_tablet_tool_v2* tool, uint32_t serial,
                              struct zwp_tablet_v2* tablet, struct wl_surface* surface) {
    tool_entering = true; // its position comes in the motion of the same frame
}
static void tool_proximity_out(void* data, struct zwp_tablet_tool_v2* tool) {
    printf("tablet-out\n");
}
static void tool_down(void* data, struct zwp_tablet_tool_v2* tool, uint32_t serial) {
    printf("tablet-down\n");
}
static void tool_up(void* data, struct zwp_tablet_tool_v2* tool) {
    printf("tablet-up\n");
}
static void tool_motion(void* data, struct zwp_tablet_tool_v2* tool, wl_fixed_t x, wl_fixed_t y) {
    printf("%s %d %d\n", tool_entering ? "tablet-in" : "tablet-motion", wl_fixed_to_int(x),
           wl_fixed_to_int(y));
    tool_entering = false;
}
static void tool_pressure(void* data, struct zwp_tablet_tool_v2* tool, uint32_t pressure) {
    printf("tablet-pressure %u\n", pressure);
}
static void tool_distance(void* data, struct zwp_tablet_tool_v2* tool, uint32_t distance) {}
static void tool_tilt(void* data, struct zwp_tablet_tool_v2* tool, wl_fixed_t x, wl_fixed_t y) {}
static void tool_rotation(void* data, struct zwp_tablet_tool_v2* tool, wl_fixed_t degrees) {}
static void tool_slider(void* data, struct zwp_tablet_tool_v2* tool, int32_t position) {}
static void tool_wheel(void* data, struct zwp_tablet_tool_v2* tool, wl_fixed_t degrees,
                       int32_t clicks) {}
static void tool_button(void* data, struct zwp_tablet_tool_v2* tool, uint32_t serial,
                        uint32_t button, uint32_t state) {}
static void tool_frame(void* data, struct zwp_tablet_tool_v2* tool, uint32_t time) {}

static const struct zwp_tablet_tool_v2_listener tool_listener = {
    .type = tool_type,
    .hardware_serial = tool_serial,
    .hardware_id_wacom = tool_wacom,
    .capability = tool_capability,
    .done = tool_done,
    .removed = tool_removed,
    .proximity_in = tool_proximity_in,
    .proximity_out = tool_proximity_out,
    .down = tool_down,
    .up = tool_up,
    .motion = tool_motion,
    .pressure = tool_pressure,
    .distance = tool_distance,
    .tilt = tool_tilt,
    .rotation = tool_rotation,
    .slider = tool_slider,
    .wheel = tool_wheel,
    .button = tool_button,
    .frame = tool_frame,
};

static void tablet_added(void* data, struct zwp_tablet_seat_v2* seat,
                         struct zwp_tablet_v2* tablet) {}
static void tablet_tool_added(void* data, struct zwp_tablet_seat_v2* seat,
                              struct zwp_tablet_tool_v2* tool) {
    zwp_tablet_tool_v2_add_listener(tool, &tool_listener, NULL);
}
static void tablet_pad_added(void* data, struct zwp_tablet_seat_v2* seat,
                             struct zwp_tablet_pad_v2* pad) {}

static const struct zwp_tablet_seat_v2_listener tablet_seat_listener = {
    .tablet_added = tablet_added,
    .tool_added = tablet_tool_added,
    .pad_added = tablet_pad_added,
};

static const struct wl_seat_listener seat_listener = {
    .capabilities = seat_capabilities,
    .name = seat_name,
};

// ---- Pointer and keyboard extensions ----

static void relative_motion(void* data, struct zwp_relative_pointer_v1* relative_pointer,
                            uint32_t utime_hi, uint32_t utime_lo, wl_fixed_t dx, wl_fixed_t dy,
                            wl_fixed_t dx_unaccel, wl_fixed_t dy_unaccel) {
    printf("relative-motion %d %d\n", wl_fixed_to_int(dx_unaccel), wl_fixed_to_int(dy_unaccel));
}

static const struct zwp_relative_pointer_v1_listener relative_pointer_listener = {
    .relative_motion = relative_motion,
};

static void pointer_locked(void* data, struct zwp_locked_pointer_v1* locked_pointer) {
    printf("pointer-locked\n");
}

static void pointer_unlocked(void* data, struct zwp_locked_pointer_v1* locked_pointer) {
    printf("pointer-unlocked\n");
}

static const struct zwp_locked_pointer_v1_listener locked_pointer_listener = {
    .locked = pointer_locked,
    .unlocked = pointer_unlocked,
};

static void shortcuts_inhibited(void* data, struct zwp_keyboard_shortcuts_inhibitor_v1* inhibitor) {
    printf("shortcuts-inhibited\n");
}

static void shortcuts_restored(void* data, struct zwp_keyboard_shortcuts_inhibitor_v1* inhibitor) {
    printf("shortcuts-restored\n");
}

static const struct zwp_keyboard_shortcuts_inhibitor_v1_listener shortcuts_inhibitor_listener = {
    .active = shortcuts_inhibited,
    .inactive = shortcuts_restored,
};

// Once the surface and the seat's devices exist: the extensions asked for on them.
static void set_up_input_extensions(void) {
    if (!client.surface)
        return;
    if (client.pointer && client.opt.lock_pointer && !client.locked_pointer) {
        client.relative_pointer = zwp_relative_pointer_manager_v1_get_relative_pointer(
            client.relative_pointer_manager, client.pointer);
        zwp_relative_pointer_v1_add_listener(client.relative_pointer, &relative_pointer_listener,
                                             NULL);
        client.locked_pointer = zwp_pointer_constraints_v1_lock_pointer(
            client.pointer_constraints, client.surface, client.pointer, NULL,
            ZWP_POINTER_CONSTRAINTS_V1_LIFETIME_PERSISTENT);
        zwp_locked_pointer_v1_add_listener(client.locked_pointer, &locked_pointer_listener, NULL);
    }
    if (client.pointer && client.opt.cursor_shape && !client.cursor_shape_device)
        client.cursor_shape_device =
            wp_cursor_shape_manager_v1_get_pointer(client.cursor_shape_manager, client.pointer);
    if (client.seat && client.opt.inhibit_shortcuts && !client.shortcuts_inhibitor) {
        client.shortcuts_inhibitor = zwp_keyboard_shortcuts_inhibit_manager_v1_inhibit_shortcuts(
            client.shortcuts_inhibit_manager, client.surface, client.seat);
        zwp_keyboard_shortcuts_inhibitor_v1_add_listener(client.shortcuts_inhibitor,
                                                         &shortcuts_inhibitor_listener, NULL);
    }
}

static void destroy_input_extensions(void) {
    if (client.locked_pointer)
        zwp_locked_pointer_v1_destroy(client.locked_pointer);
    if (client.relative_pointer)
        zwp_relative_pointer_v1_destroy(client.relative_pointer);
    if (client.cursor_shape_device)
        wp_cursor_shape_device_v1_destroy(client.cursor_shape_device);
    if (client.shortcuts_inhibitor)
        zwp_keyboard_shortcuts_inhibitor_v1_destroy(client.shortcuts_inhibitor);
    if (client.pointer_constraints)
        zwp_pointer_constraints_v1_destroy(client.pointer_constraints);
    if (client.relative_pointer_manager)
        zwp_relative_pointer_manager_v1_destroy(client.relative_pointer_manager);
    if (client.cursor_shape_manager)
        wp_cursor_shape_manager_v1_destroy(client.cursor_shape_manager);
    if (client.shortcuts_inhibit_manager)
        zwp_keyboard_shortcuts_inhibit_manager_v1_destroy(client.shortcuts_inhibit_manager);
}

// ---- Globals ----

static void wm_base_ping(void* data, struct xdg_wm_base* wm_base, uint32_t serial) {
    xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
    .ping = wm_base_ping,
};

static uint32_t min_version(uint32_t a, uint32_t b) {
    return a < b ? a : b;
}

static void registry_global(void* data, struct wl_registry* registry, uint32_t name,
                            const char* interface, uint32_t version) {
    if (strcmp(interface, wl_compositor_interface.name) == 0 && !client.compositor) {
        client.compositor_version = min_version(version, COMPOSITOR_VERSION);
        client.compositor =
            wl_registry_bind(registry, name, &wl_compositor_interface, client.compositor_version);
    } else if (strcmp(interface, wl_shm_interface.name) == 0 && !client.shm) {
        client.shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
    } else if (strcmp(interface, xdg_wm_base_interface.name) == 0 && !client.wm_base) {
        client.wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface,
                                          min_version(version, XDG_WM_BASE_VERSION));
        xdg_wm_base_add_listener(client.wm_base, &wm_base_listener, NULL);
    } else if (strcmp(interface, ivi_application_interface.name) == 0 && client.opt.ivi &&
               !client.ivi_application) {
        client.ivi_application = wl_registry_bind(registry, name, &ivi_application_interface, 1);
    } else if (strcmp(interface, zwp_idle_inhibit_manager_v1_interface.name) == 0 &&
               client.opt.inhibit_idle && !client.idle_inhibit_manager) {
        client.idle_inhibit_manager =
            wl_registry_bind(registry, name, &zwp_idle_inhibit_manager_v1_interface, 1);
    } else if (strcmp(interface, wp_tearing_control_manager_v1_interface.name) == 0 &&
               client.opt.tearing) {
        client.tearing_manager =
            wl_registry_bind(registry, name, &wp_tearing_control_manager_v1_interface, 1);
    } else if (strcmp(interface, wp_content_type_manager_v1_interface.name) == 0 &&
               client.opt.content_type >= 0) {
        client.content_type_manager =
            wl_registry_bind(registry, name, &wp_content_type_manager_v1_interface, 1);
    } else if (strcmp(interface, wp_alpha_modifier_v1_interface.name) == 0 &&
               client.opt.alpha != UINT32_MAX) {
        client.alpha_modifier =
            wl_registry_bind(registry, name, &wp_alpha_modifier_v1_interface, 1);
    } else if (strcmp(interface, zwp_pointer_constraints_v1_interface.name) == 0 &&
               client.opt.lock_pointer) {
        client.pointer_constraints =
            wl_registry_bind(registry, name, &zwp_pointer_constraints_v1_interface, 1);
    } else if (strcmp(interface, zwp_relative_pointer_manager_v1_interface.name) == 0 &&
               client.opt.lock_pointer) {
        client.relative_pointer_manager =
            wl_registry_bind(registry, name, &zwp_relative_pointer_manager_v1_interface, 1);
    } else if (strcmp(interface, wp_cursor_shape_manager_v1_interface.name) == 0 &&
               client.opt.cursor_shape) {
        client.cursor_shape_manager =
            wl_registry_bind(registry, name, &wp_cursor_shape_manager_v1_interface, 1);
    } else if (strcmp(interface, zwp_keyboard_shortcuts_inhibit_manager_v1_interface.name) == 0 &&
               client.opt.inhibit_shortcuts) {
        client.shortcuts_inhibit_manager = wl_registry_bind(
            registry, name, &zwp_keyboard_shortcuts_inhibit_manager_v1_interface, 1);
    } else if (strcmp(interface, zwp_tablet_manager_v2_interface.name) == 0 &&
               client.opt.print_tablet) {
        client.tablet_manager =
            wl_registry_bind(registry, name, &zwp_tablet_manager_v2_interface, 1);
    } else if (strcmp(interface, wl_seat_interface.name) == 0 && client.opt.print_input &&
               !client.seat) {
        client.seat_version = min_version(version, SEAT_VERSION);
        client.seat = wl_registry_bind(registry, name, &wl_seat_interface, client.seat_version);
        wl_seat_add_listener(client.seat, &seat_listener, NULL);
    }
}

static void registry_global_remove(void* data, struct wl_registry* registry, uint32_t name) {}

static const struct wl_registry_listener registry_listener = {
    .global = registry_global,
    .global_remove = registry_global_remove,
};

static _Noreturn void fail_connection(void) {
    int error = wl_display_get_error(client.display);
    if (error == EPROTO) {
        const struct wl_interface* interface = NULL;
        uint32_t id = 0;
        uint32_t code = wl_display_get_protocol_error(client.display, &interface, &id);
        fail("protocol error %u on %s@%u", code, interface ? interface->name : "unknown", id);
    }
    fail("connection lost: %s", strerror(error ? error : errno));
}

static void connect_display(void) {
    client.display = wl_display_connect(NULL);
    if (!client.display)
        fail("cannot connect to the Wayland display: %s", strerror(errno));
    if (client.opt.print_input) {
        client.xkb_context = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
        if (!client.xkb_context)
            fail("cannot create an xkb context");
    }
    client.registry = wl_display_get_registry(client.display);
    wl_registry_add_listener(client.registry, &registry_listener, NULL);
    if (wl_display_roundtrip(client.display) < 0)
        fail_connection();
    if (!client.compositor || !client.shm || !client.wm_base)
        fail("the compositor lacks wl_compositor, wl_shm or xdg_wm_base");
    if (client.opt.ivi && !client.ivi_application)
        fail("the compositor lacks ivi_application");
    if (client.opt.inhibit_idle && !client.idle_inhibit_manager)
        fail("the compositor lacks zwp_idle_inhibit_manager_v1");
    if (client.opt.alpha != UINT32_MAX && !client.alpha_modifier)
        fail("the compositor lacks wp_alpha_modifier_v1");
    if (client.opt.print_tablet && (!client.tablet_manager || !client.seat))
        fail("the compositor lacks zwp_tablet_manager_v2 or wl_seat");
    if (client.opt.print_tablet) {
        client.tablet_seat =
            zwp_tablet_manager_v2_get_tablet_seat(client.tablet_manager, client.seat);
        zwp_tablet_seat_v2_add_listener(client.tablet_seat, &tablet_seat_listener, NULL);
    }
    if (client.opt.tearing && !client.tearing_manager)
        fail("the compositor lacks wp_tearing_control_manager_v1");
    if (client.opt.content_type >= 0 && !client.content_type_manager)
        fail("the compositor lacks wp_content_type_manager_v1");
    if (client.opt.lock_pointer &&
        (!client.pointer_constraints || !client.relative_pointer_manager))
        fail("the compositor lacks pointer constraints or relative pointers");
    if (client.opt.cursor_shape && !client.cursor_shape_manager)
        fail("the compositor lacks wp_cursor_shape_manager_v1");
    if (client.opt.inhibit_shortcuts && !client.shortcuts_inhibit_manager)
        fail("the compositor lacks zwp_keyboard_shortcuts_inhibit_manager_v1");
    if (client.opt.print_input && !client.seat)
        fprintf(stderr, "%s: no wl_seat, input is not printed\n", program_name);
}

// Destroys everything in reverse order, so that a leak checker sees a clean exit.
static void disconnect_display(void) {
    destroy_popup();
    destroy_input_extensions();
    if (client.tablet_seat)
        zwp_tablet_seat_v2_destroy(client.tablet_seat);
    if (client.tablet_manager)
        zwp_tablet_manager_v2_destroy(client.tablet_manager);
    if (client.content_type)
        wp_content_type_v1_destroy(client.content_type);
    if (client.content_type_manager)
        wp_content_type_manager_v1_destroy(client.content_type_manager);
    if (client.tearing_control)
        wp_tearing_control_v1_destroy(client.tearing_control);
    if (client.tearing_manager)
        wp_tearing_control_manager_v1_destroy(client.tearing_manager);
    if (client.alpha_modifier_surface)
        wp_alpha_modifier_surface_v1_destroy(client.alpha_modifier_surface);
    if (client.alpha_modifier)
        wp_alpha_modifier_v1_destroy(client.alpha_modifier);
    if (client.idle_inhibitor)
        zwp_idle_inhibitor_v1_destroy(client.idle_inhibitor);
    if (client.idle_inhibit_manager)
        zwp_idle_inhibit_manager_v1_destroy(client.idle_inhibit_manager);
    if (client.frame)
        wl_callback_destroy(client.frame);
    if (client.xdg_toplevel)
        xdg_toplevel_destroy(client.xdg_toplevel);
    if (client.ivi_surface)
        ivi_surface_destroy(client.ivi_surface);
    if (client.ivi_application)
        ivi_application_destroy(client.ivi_application);
    if (client.xdg_surface)
        xdg_surface_destroy(client.xdg_surface);
    if (client.surface)
        wl_surface_destroy(client.surface);
    shm_buffers_destroy(&client.buffers);
    if (client.pointer)
        release_pointer();
    if (client.keyboard)
        release_keyboard();
    if (client.touch)
        release_touch();
    if (client.seat && client.seat_version >= WL_SEAT_RELEASE_SINCE_VERSION)
        wl_seat_release(client.seat);
    else if (client.seat)
        wl_seat_destroy(client.seat);
    drop_keymap();
    xkb_context_unref(client.xkb_context);
    if (client.wm_base)
        xdg_wm_base_destroy(client.wm_base);
    if (client.shm)
        wl_shm_destroy(client.shm);
    if (client.compositor)
        wl_compositor_destroy(client.compositor);
    if (client.registry)
        wl_registry_destroy(client.registry);
    wl_display_flush(client.display);
    wl_display_disconnect(client.display);
}

int main(int argc, char** argv) {
    // Tests read stdout through a pipe and wait for lines: never hold one back.
    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_options(argc, argv, &client.opt);
    connect_display();
    if (client.opt.ivi)
        create_ivi_surface();
    else
        create_toplevel();
    set_up_input_extensions();
    if (client.opt.inhibit_idle)
        client.idle_inhibitor = zwp_idle_inhibit_manager_v1_create_inhibitor(
            client.idle_inhibit_manager, client.surface);

    client.running = true;
    while (client.running) {
        if (wl_display_dispatch(client.display) < 0)
            fail_connection();
    }
    disconnect_display();
    return client.exit_status;
}
