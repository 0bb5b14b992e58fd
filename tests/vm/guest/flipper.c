/*
 * flipper: the /init of a test initramfs for tessera's virtio-gpu backend.
 *
 * Build (static, kernel uapi headers only, no libdrm):
 *     gcc -static -O2 -Wall -Wextra -o flipper flipper.c
 *
 * What it does, as pid 1:
 *   1. mounts /proc, /sys and devtmpfs on /dev;
 *   2. loads the kernel modules named one per line in /modules.order (file names
 *      relative to /modules/, ".ko" appended when missing) with finit_module, in
 *      order (EEXIST is fine);
 *   3. waits up to 20 s for /dev/dri/card0;
 *   4. takes the first connected connector, its preferred mode (else its first), a CRTC
 *      reachable through its encoder, creates two XRGB8888 dumb buffers, ADDFB2, SETCRTC
 *      with frame 0, then forever: draw the next frame into the back buffer, PAGE_FLIP
 *      with DRM_MODE_PAGE_FLIP_EVENT, read() the flip event;
 *   5. every 30 flips probes the connector again, as a desktop does on a hotplug event: when
 *      its preferred mode changed (the host resized the display), it takes the new mode with
 *      new buffers and logs the mode line again.
 *
 * Console log (/dev/console; boot the kernel with console=ttyS0), every line starts
 * with "tessera-guest: ":
 *     tessera-guest: start t=S.mmm                    (t = CLOCK_BOOTTIME seconds)
 *     tessera-guest: card0 after N ms
 *     tessera-guest: mode WxH@HZ                       (HZ = the mode's vrefresh, once)
 *     tessera-guest: first frame t=S.mmm               (first page flip completed)
 *     tessera-guest: frame N t=S.mmm fps=F             (every 60 completed flips)
 *     tessera-guest: rebooting                         (see tessera.reboot_after)
 *     tessera-guest: error: ...                        (then it sleeps forever: pid 1
 *                                                       must never exit)
 * Kernel command line: tessera.reboot_after=N reboots (reboot(RB_AUTOBOOT)) after N
 * completed page flips; absent or 0 means never. Run QEMU with -no-reboot to make
 * QEMU exit instead. tessera.mode=WxH takes the connector's first mode of that size
 * instead of its preferred one (a user picking another resolution); none: an error.
 *
 * tessera.input=N: waits for N of tessera's virtio-input devices and logs their events, and
 * draws a 16x16 magenta marker centred on the last touch or pointer position (guest-input.h).
 *
 * Not pid 1 (in a prepared system, e.g. the VM rig's shared root, tests/vm/rig/), it mounts and
 * loads nothing and takes options instead of the kernel command line:
 *     flipper [--scanout N] [--inputs N] [--lease-scanout M -- PROGRAM [ARGS...]]
 *   --scanout N        drives connector N (in the card's order; a virtio-gpu scanout's index)
 *   --inputs N         as tessera.input=N
 *   --lease-scanout M  leases connector M, its CRTC and their planes to PROGRAM (a DRM lease:
 *                      the card has one master, and PROGRAM gets an fd that is master of just
 *                      those), started with the lease in TESSERA_DRM_LEASE_FD and
 *                      drm-lease-open.so (beside it) preloaded, which hands that fd to
 *                      PROGRAM's open() of /dev/dri/card0. Lets a program that knows nothing of
 *                      leases (kmscube) have one screen while the flipper shows the other.
 *
 * Frame numbering: frame 0 is the one shown by SETCRTC; frame n (n >= 1) is the one
 * shown by the n-th page flip. "frame N" is logged when flip N has completed.
 *
 * The pattern of frame n, for a W x H mode (all divisions are integer divisions):
 *   - quadrants, split at x = W/2 and y = H/2:
 *         top-left  (x <  W/2, y <  H/2)  red   0xff0000
 *         top-right (x >= W/2, y <  H/2)  green 0x00ff00
 *         bottom-left  (x <  W/2, y >= H/2)  blue  0x0000ff
 *         bottom-right (x >= W/2, y >= H/2)  white 0xffffff
 *   - the frame counter, over the top strip 0 <= y < H/16: 16 cells, cell i covering
 *     i*(W/16) <= x < (i+1)*(W/16) (the last cell also takes the W%16 rightmost
 *     columns); cell i is white 0xffffff when bit (15 - i) of (n & 0xffff) is set, else
 *     black 0x000000 (most significant bit in the leftmost cell);
 *   - a moving black bar 0x000000 in the middle band 3*H/8 <= y < 5*H/8: W/16 wide,
 *     at x = (n % 16) * (W/16), i.e. it steps one bar width (one counter cell) to the
 *     right per frame and wraps after 16 frames. Its position therefore repeats the
 *     counter's low 4 bits. Outside the bar the band shows the quadrant colours.
 *   The quadrant centres (W/4 or 3W/4, H/4 or 3H/4) are never covered by the strip or
 *   the bar. To decode a (possibly scaled) screenshot: sample each cell at its centre,
 *   ((i + 0.5) * W/16, H/32), bright = 1.
 */
#define _GNU_SOURCE
#include <drm/drm.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_mode.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "tessera-guest: "

#include "../init-common.h"

#define CARD_PATH "/dev/dri/card0"
#define CARD_WAIT_MS 20000
#define FLIP_WARN_MS 5000
#define FLIP_GIVE_UP_MS 30000

#define RED 0xff0000u
#define GREEN 0x00ff00u
#define BLUE 0x0000ffu
#define WHITE 0xffffffu
#define BLACK 0x000000u

// pid 1 must never exit (the kernel panics): report and sleep.
__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char* fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    logmsg("error: %s", msg);
    if (getpid() != 1)
        exit(1);
    for (;;)
        pause();
}

static void mount_fs(const char* src, const char* dir, const char* type) {
    mkdir(dir, 0755);
    if (mount(src, dir, type, MS_NOSUID | MS_NOEXEC, NULL) != 0 && errno != EBUSY)
        fail("mount %s on %s: %s", type, dir, strerror(errno));
}

static void wait_for_card(void) {
    double start = now_s();
    for (;;) {
        if (access(CARD_PATH, F_OK) == 0)
            break;
        double waited_ms = (now_s() - start) * 1000.0;
        if (waited_ms >= CARD_WAIT_MS)
            fail("%s did not appear within %d s (no virtio-gpu device, or its "
                 "driver failed: see the kernel log)",
                 CARD_PATH, CARD_WAIT_MS / 1000);
        usleep(10000);
    }
    logmsg("card0 after %.0f ms", (now_s() - start) * 1000.0);
}

// The value of the last `key` (ending in '=') on the kernel command line, copied into out;
// NULL when absent.
static const char* cmdline_value(const char* key, char* out, size_t size) {
    char buf[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    const char* found = NULL;
    for (char* tok = strtok(buf, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
        if (strncmp(tok, key, strlen(key)) == 0) {
            snprintf(out, size, "%s", tok + strlen(key)); // the last one wins, like the kernel's
            found = out;
        }
    }
    return found;
}

static uint64_t read_reboot_after(void) {
    char value[64];
    if (!cmdline_value("tessera.reboot_after=", value, sizeof(value)))
        return 0;
    char* end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno != 0 || *end != '\0')
        fail("bad kernel command line option 'tessera.reboot_after=%s'", value);
    return v;
}

// tessera.mode=WxH: the size asked for, or 0 x 0.
static void read_wanted_mode(uint32_t* width, uint32_t* height) {
    char value[64];
    *width = *height = 0;
    if (!cmdline_value("tessera.mode=", value, sizeof(value)))
        return;
    char tail;
    if (sscanf(value, "%ux%u%c", width, height, &tail) != 2)
        fail("bad kernel command line option 'tessera.mode=%s'", value);
}

struct options {
    int scanout;       // -1: the first connected connector
    int inputs;        // -1: from the kernel command line
    int lease_scanout; // -1: no lease
    char** program;    // what gets the lease
};

static struct options parse_options(int argc, char** argv) {
    struct options o = {-1, -1, -1, NULL};
    for (int i = 1; i < argc; i++) {
        int* value = strcmp(argv[i], "--scanout") == 0         ? &o.scanout
                     : strcmp(argv[i], "--inputs") == 0        ? &o.inputs
                     : strcmp(argv[i], "--lease-scanout") == 0 ? &o.lease_scanout
                                                               : NULL;
        if (value && i + 1 < argc) {
            *value = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc) {
            o.program = &argv[i + 1];
            break;
        } else {
            fail("usage: flipper [--scanout N] [--inputs N] [--lease-scanout M -- PROGRAM...]");
        }
    }
    if ((o.lease_scanout >= 0) != (o.program != NULL) || o.scanout < -1 || o.inputs < -1 ||
        o.inputs > 8 || (o.lease_scanout >= 0 && o.lease_scanout == o.scanout))
        fail("--lease-scanout M needs -- PROGRAM and another --scanout");
    return o;
}

static int drm_ioctl(int fd, unsigned long req, void* arg) {
    int r;
    do
        r = ioctl(fd, req, arg);
    while (r == -1 && (errno == EINTR || errno == EAGAIN));
    return r;
}

static void* xcalloc(size_t n, size_t size) {
    void* p = calloc(n ? n : 1, size);
    if (!p)
        fail("out of memory");
    return p;
}

struct connector_info {
    uint32_t id;
    struct drm_mode_modeinfo mode;
    uint32_t encoder_id;
    uint32_t* encoders;
    uint32_t count_encoders;
};

// Fills info for connector id; returns 1 if it is connected and has modes.
static uint32_t wanted_width, wanted_height; // tessera.mode, 0: the preferred mode

static int get_connector(int fd, uint32_t id, struct connector_info* info) {
    for (;;) {
        struct drm_mode_get_connector c = {.connector_id = id};
        // With count_modes == 0 this probes the connector and returns the counts.
        if (drm_ioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, &c) != 0)
            fail("GETCONNECTOR %u: %s", id, strerror(errno));
        if (c.connection != 1 /* DRM_MODE_CONNECTED */ || c.count_modes == 0)
            return 0;
        uint32_t count_modes = c.count_modes, count_encoders = c.count_encoders;
        struct drm_mode_modeinfo* modes = xcalloc(count_modes, sizeof(*modes));
        uint32_t* encoders = xcalloc(count_encoders, sizeof(*encoders));
        struct drm_mode_get_connector c2 = {
            .connector_id = id,
            .modes_ptr = (uintptr_t)modes,
            .count_modes = count_modes,
            .encoders_ptr = (uintptr_t)encoders,
            .count_encoders = count_encoders,
        };
        if (drm_ioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, &c2) != 0)
            fail("GETCONNECTOR %u: %s", id, strerror(errno));
        if (c2.count_modes > count_modes || c2.count_encoders > count_encoders) {
            free(modes); // changed in between: again
            free(encoders);
            continue;
        }
        if (c2.connection != 1 || c2.count_modes == 0) {
            free(modes);
            free(encoders);
            return 0;
        }
        uint32_t pick = 0;
        for (uint32_t i = 0; i < c2.count_modes; i++) {
            if (modes[i].type & DRM_MODE_TYPE_PREFERRED) {
                pick = i;
                break;
            }
        }
        if (wanted_width != 0) {
            uint32_t i = 0;
            while (i < c2.count_modes &&
                   (modes[i].hdisplay != wanted_width || modes[i].vdisplay != wanted_height))
                i++;
            if (i == c2.count_modes)
                fail("no %ux%u mode among the connector's %u modes", wanted_width, wanted_height,
                     c2.count_modes);
            pick = i;
        }
        info->id = id;
        info->mode = modes[pick];
        info->encoder_id = c2.encoder_id;
        info->encoders = encoders;
        info->count_encoders = c2.count_encoders;
        free(modes);
        return 1;
    }
}

static uint32_t find_crtc(int fd, const struct connector_info* conn, const uint32_t* crtcs,
                          uint32_t count_crtcs) {
    // The encoder currently in use and its CRTC, if any.
    if (conn->encoder_id) {
        struct drm_mode_get_encoder e = {.encoder_id = conn->encoder_id};
        if (drm_ioctl(fd, DRM_IOCTL_MODE_GETENCODER, &e) == 0 && e.crtc_id)
            return e.crtc_id;
    }
    // Else the first CRTC any of its encoders can drive.
    for (uint32_t i = 0; i < conn->count_encoders; i++) {
        struct drm_mode_get_encoder e = {.encoder_id = conn->encoders[i]};
        if (drm_ioctl(fd, DRM_IOCTL_MODE_GETENCODER, &e) != 0)
            continue;
        for (uint32_t j = 0; j < count_crtcs && j < 32; j++) {
            if (e.possible_crtcs & (1u << j))
                return crtcs[j];
        }
    }
    return 0;
}

struct buffer {
    uint32_t handle, fb_id, pitch;
    uint64_t size;
    uint8_t* map;
    int static_drawn; // the parts that never change are in place
};

static void create_buffer(int fd, uint32_t w, uint32_t h, struct buffer* b) {
    struct drm_mode_create_dumb create = {.width = w, .height = h, .bpp = 32};
    if (drm_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) != 0)
        fail("CREATE_DUMB %ux%u: %s", w, h, strerror(errno));
    b->handle = create.handle;
    b->pitch = create.pitch;
    b->size = create.size;

    struct drm_mode_fb_cmd2 fb = {
        .width = w,
        .height = h,
        .pixel_format = DRM_FORMAT_XRGB8888,
        .handles = {b->handle},
        .pitches = {b->pitch},
        .offsets = {0},
    };
    if (drm_ioctl(fd, DRM_IOCTL_MODE_ADDFB2, &fb) != 0)
        fail("ADDFB2 %ux%u XRGB8888: %s", w, h, strerror(errno));
    b->fb_id = fb.fb_id;

    struct drm_mode_map_dumb map = {.handle = b->handle};
    if (drm_ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map) != 0)
        fail("MAP_DUMB: %s", strerror(errno));
    void* p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)map.offset);
    if (p == MAP_FAILED)
        fail("mmap dumb buffer (%llu bytes): %s", (unsigned long long)b->size, strerror(errno));
    b->map = p;
    b->static_drawn = 0;
}

static void destroy_buffer(int fd, struct buffer* b) {
    drm_ioctl(fd, DRM_IOCTL_MODE_RMFB, &b->fb_id);
    munmap(b->map, b->size);
    struct drm_mode_destroy_dumb destroy = {.handle = b->handle};
    drm_ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
}

// Row templates, each W pixels.
struct pattern {
    uint32_t w, h;
    uint32_t *top, *bottom; // plain quadrant rows
    uint32_t* strip;        // the counter strip, rebuilt per frame
    uint32_t* band;         // a middle-band row, rebuilt per frame
};

static void fill(uint32_t* row, uint32_t from, uint32_t to, uint32_t color) {
    for (uint32_t x = from; x < to; x++)
        row[x] = color;
}

static void pattern_init(struct pattern* p, uint32_t w, uint32_t h) {
    p->w = w;
    p->h = h;
    p->top = xcalloc(w, sizeof(uint32_t));
    p->bottom = xcalloc(w, sizeof(uint32_t));
    p->strip = xcalloc(w, sizeof(uint32_t));
    p->band = xcalloc(w, sizeof(uint32_t));
    fill(p->top, 0, w / 2, RED);
    fill(p->top, w / 2, w, GREEN);
    fill(p->bottom, 0, w / 2, BLUE);
    fill(p->bottom, w / 2, w, WHITE);
}

#include "guest-input.h"

#define MAGENTA 0xff00ffu
#define MARKER 16 // the touch marker's side, in pixels

static void draw_frame(const struct pattern* p, struct buffer* b, uint64_t frame) {
    const uint32_t w = p->w, h = p->h, cell = w / 16;
    const uint32_t strip_end = h / 16, band_begin = 3 * h / 8, band_end = 5 * h / 8;
    const size_t row_bytes = (size_t)w * 4;

    // Counter strip: 16 cells, MSB first.
    const uint32_t counter = (uint32_t)(frame & 0xffff);
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t from = i * cell, to = i == 15 ? w : (i + 1) * cell;
        fill(p->strip, from, to, (counter >> (15 - i)) & 1 ? WHITE : BLACK);
    }
    // Middle band: quadrant colours plus the bar (rows above and below H/2 differ
    // only in colour, so build one row per half).
    const uint32_t bar = (uint32_t)(frame % 16) * cell;

    for (uint32_t y = 0; y < h; y++) {
        uint8_t* dst = b->map + (size_t)y * b->pitch;
        if (y < strip_end) {
            memcpy(dst, p->strip, row_bytes);
        } else if (y >= band_begin && y < band_end) {
            if (y == band_begin || y == h / 2) {
                memcpy(p->band, y < h / 2 ? p->top : p->bottom, row_bytes);
                fill(p->band, bar, bar + cell < w ? bar + cell : w, BLACK);
            }
            memcpy(dst, p->band, row_bytes);
        } else if (!b->static_drawn) {
            memcpy(dst, y < h / 2 ? p->top : p->bottom, row_bytes);
        }
    }
    b->static_drawn = 1;
    // The last touch or pointer position: a magenta square centred on it.
    if (marker_x >= 0) {
        for (int y = marker_y - MARKER / 2; y < marker_y + MARKER / 2; y++) {
            if (y < 0 || y >= (int)h)
                continue;
            uint32_t* row = (uint32_t*)(b->map + (size_t)y * b->pitch);
            for (int x = marker_x - MARKER / 2; x < marker_x + MARKER / 2; x++)
                if (x >= 0 && x < (int)w)
                    row[x] = MAGENTA;
        }
        b->static_drawn = 0; // the marker may move: draw everything again next time
    }
}

static int wait_flip(int fd) {
    double start = now_s();
    int warned = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, 1000);
        if (r < 0 && errno != EINTR)
            fail("poll on %s: %s", CARD_PATH, strerror(errno));
        if (r > 0) {
            char buf[1024];
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                    continue;
                fail("read DRM event: %s", strerror(errno));
            }
            for (ssize_t off = 0; off + (ssize_t)sizeof(struct drm_event) <= n;) {
                struct drm_event ev;
                memcpy(&ev, buf + off, sizeof(ev));
                if (ev.length < sizeof(ev))
                    fail("malformed DRM event (length %u)", ev.length);
                if (ev.type == DRM_EVENT_FLIP_COMPLETE)
                    return 0;
                off += ev.length;
            }
            continue;
        }
        double waited_ms = (now_s() - start) * 1000.0;
        if (waited_ms >= FLIP_GIVE_UP_MS)
            fail("no page flip event within %d s", FLIP_GIVE_UP_MS / 1000);
        if (waited_ms >= FLIP_WARN_MS * (warned + 1)) {
            warned++;
            logmsg("warning: still waiting for a page flip event (%.0f s)", waited_ms / 1000.0);
        }
    }
}

// Shows frame `frame` in the connector's mode with two new buffers; logs the mode.
static void set_mode(int fd, uint32_t crtc, struct connector_info* conn, struct buffer bufs[2],
                     struct pattern* pat, uint64_t frame) {
    const uint32_t w = conn->mode.hdisplay, h = conn->mode.vdisplay;
    logmsg("mode %ux%u@%u", w, h, conn->mode.vrefresh);
    if (w < 16 || h < 16)
        fail("mode %ux%u too small for the pattern", w, h);
    create_buffer(fd, w, h, &bufs[0]);
    create_buffer(fd, w, h, &bufs[1]);
    free(pat->top); // the previous mode's rows, if any
    free(pat->bottom);
    free(pat->strip);
    free(pat->band);
    pattern_init(pat, w, h);
    draw_frame(pat, &bufs[frame & 1], frame);
    struct drm_mode_crtc set = {
        .set_connectors_ptr = (uintptr_t)&conn->id,
        .count_connectors = 1,
        .crtc_id = crtc,
        .fb_id = bufs[frame & 1].fb_id,
        .mode_valid = 1,
        .mode = conn->mode,
    };
    if (drm_ioctl(fd, DRM_IOCTL_MODE_SETCRTC, &set) != 0)
        fail("SETCRTC crtc %u connector %u %ux%u: %s", crtc, conn->id, w, h, strerror(errno));
}

// The planes that can show on CRTC number `crtc_index`, into ids (at most max); their count.
static uint32_t planes_of_crtc(int fd, uint32_t crtc_index, uint32_t* ids, uint32_t max) {
    struct drm_set_client_cap universal = {.capability = DRM_CLIENT_CAP_UNIVERSAL_PLANES,
                                           .value = 1};
    if (drm_ioctl(fd, DRM_IOCTL_SET_CLIENT_CAP, &universal) != 0)
        fail("universal planes: %s", strerror(errno));
    uint32_t all[64];
    struct drm_mode_get_plane_res res = {.plane_id_ptr = (uintptr_t)all, .count_planes = 64};
    if (drm_ioctl(fd, DRM_IOCTL_MODE_GETPLANERESOURCES, &res) != 0)
        fail("GETPLANERESOURCES: %s", strerror(errno));
    uint32_t count = 0;
    for (uint32_t i = 0; i < res.count_planes && i < 64 && count < max; i++) {
        struct drm_mode_get_plane plane = {.plane_id = all[i]};
        if (drm_ioctl(fd, DRM_IOCTL_MODE_GETPLANE, &plane) == 0 &&
            (plane.possible_crtcs & (1u << crtc_index)))
            ids[count++] = all[i];
    }
    return count;
}

// Leases connector `index` (with the first CRTC it can use and that CRTC's planes) to
// `program`, started with the lease's fd and drm-lease-open.so (see the top of this file).
static void start_leased(int fd, const uint32_t* connectors, uint32_t count_connectors,
                         const uint32_t* crtcs, uint32_t count_crtcs, int index, char** program) {
    struct connector_info conn = {0};
    if ((uint32_t)index >= count_connectors || !get_connector(fd, connectors[index], &conn))
        fail("connector %d to lease is not connected", index);
    uint32_t crtc = find_crtc(fd, &conn, crtcs, count_crtcs);
    uint32_t crtc_index = 0;
    while (crtc_index < count_crtcs && crtcs[crtc_index] != crtc)
        crtc_index++;
    if (!crtc || crtc_index == count_crtcs)
        fail("no CRTC for connector %d to lease", index);
    uint32_t objects[16] = {conn.id, crtc};
    uint32_t count = 2 + planes_of_crtc(fd, crtc_index, objects + 2, 14);
    struct drm_mode_create_lease lease = {.object_ids = (uintptr_t)objects, .object_count = count};
    if (drm_ioctl(fd, DRM_IOCTL_MODE_CREATE_LEASE, &lease) != 0)
        fail("CREATE_LEASE of connector %d: %s", index, strerror(errno));
    // Its stdin: a pipe that never has a byte (kmscube ends at the first key).
    int keys[2];
    char self[512], preload[600], lease_fd[16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (pipe(keys) != 0 || n <= 0)
        fail("pipe or /proc/self/exe: %s", strerror(errno));
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(preload, sizeof(preload), "%s/drm-lease-open.so", self);
    snprintf(lease_fd, sizeof(lease_fd), "%u", lease.fd);
    pid_t child = fork();
    if (child < 0)
        fail("fork: %s", strerror(errno));
    if (child == 0) {
        dup2(keys[0], STDIN_FILENO);
        setenv("TESSERA_DRM_LEASE_FD", lease_fd, 1);
        setenv("LD_PRELOAD", preload, 1);
        execvp(program[0], program);
        fail("exec %s: %s", program[0], strerror(errno));
    }
    close(keys[0]); // the write end stays open, unused, for as long as the flipper runs
    close((int)lease.fd);
    logmsg("leased connector %u (crtc %u, %u planes) to %s, pid %d", conn.id, crtc, count - 2,
           program[0], (int)child);
    free(conn.encoders);
}

int main(int argc, char** argv) {
    setup_console();
    const int init = getpid() == 1;
    const struct options options =
        init ? (struct options){-1, -1, -1, NULL} : parse_options(argc, argv);
    if (init) {
        mount_fs("proc", "/proc", "proc");
        mount_fs("sysfs", "/sys", "sysfs");
        mkdir("/dev", 0755);
        if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL) != 0 && errno != EBUSY)
            fail("mount devtmpfs on /dev: %s", strerror(errno));
        setup_console();
    }
    logmsg("start t=%.3f", now_s());

    const uint64_t reboot_after = read_reboot_after();
    read_wanted_mode(&wanted_width, &wanted_height);
    const int input_wanted = options.inputs >= 0 ? options.inputs : wanted_inputs();
    if (init)
        (void)load_modules();
    wait_for_card();

    int fd = open(CARD_PATH, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        fail("open %s: %s", CARD_PATH, strerror(errno));

    struct drm_mode_card_res res = {0};
    if (drm_ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res) != 0)
        fail("GETRESOURCES: %s (not a KMS device?)", strerror(errno));
    uint32_t* connectors = xcalloc(res.count_connectors, sizeof(uint32_t));
    uint32_t* crtcs = xcalloc(res.count_crtcs, sizeof(uint32_t));
    struct drm_mode_card_res res2 = {
        .connector_id_ptr = (uintptr_t)connectors,
        .count_connectors = res.count_connectors,
        .crtc_id_ptr = (uintptr_t)crtcs,
        .count_crtcs = res.count_crtcs,
    };
    if (drm_ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res2) != 0)
        fail("GETRESOURCES: %s", strerror(errno));
    uint32_t count_connectors =
        res2.count_connectors < res.count_connectors ? res2.count_connectors : res.count_connectors;
    uint32_t count_crtcs = res2.count_crtcs < res.count_crtcs ? res2.count_crtcs : res.count_crtcs;

    if (options.lease_scanout >= 0)
        start_leased(fd, connectors, count_connectors, crtcs, count_crtcs, options.lease_scanout,
                     options.program);

    struct connector_info conn = {0};
    int found = 0;
    if (options.scanout >= 0) {
        if ((uint32_t)options.scanout >= count_connectors)
            fail("no connector %d (%u connectors)", options.scanout, count_connectors);
        found = get_connector(fd, connectors[options.scanout], &conn);
    }
    for (uint32_t i = 0; i < count_connectors && !found && options.scanout < 0; i++)
        found = get_connector(fd, connectors[i], &conn);
    if (!found)
        fail("no connected connector with modes (%u connectors)", count_connectors);

    uint32_t crtc = find_crtc(fd, &conn, crtcs, count_crtcs);
    if (!crtc)
        fail("no CRTC for connector %u", conn.id);

    struct buffer bufs[2];
    struct pattern pat = {0};
    uint64_t frame = 0;
    set_mode(fd, crtc, &conn, bufs, &pat, frame);
    open_inputs(input_wanted);

    double last_t = now_s();
    for (;;) {
        if (frame % 30 == 29 && wanted_width == 0) {
            struct connector_info probed = {0};
            if (get_connector(fd, conn.id, &probed) &&
                (probed.mode.hdisplay != conn.mode.hdisplay ||
                 probed.mode.vdisplay != conn.mode.vdisplay)) {
                struct buffer old[2] = {bufs[0], bufs[1]};
                free(conn.encoders);
                conn = probed;
                set_mode(fd, crtc, &conn, bufs, &pat, frame);
                destroy_buffer(fd, &old[0]);
                destroy_buffer(fd, &old[1]);
            } else {
                free(probed.encoders);
            }
        }
        frame++;
        struct buffer* b = &bufs[frame & 1];
        draw_frame(&pat, b, frame);
        struct drm_mode_crtc_page_flip flip = {
            .crtc_id = crtc,
            .fb_id = b->fb_id,
            .flags = DRM_MODE_PAGE_FLIP_EVENT,
            .user_data = frame,
        };
        if (drm_ioctl(fd, DRM_IOCTL_MODE_PAGE_FLIP, &flip) != 0)
            fail("PAGE_FLIP frame %llu: %s", (unsigned long long)frame, strerror(errno));
        wait_flip(fd);
        read_inputs(conn.mode.hdisplay, conn.mode.vdisplay);

        double t = now_s();
        if (frame == 1)
            logmsg("first frame t=%.3f", t);
        if (frame % 60 == 0) {
            logmsg("frame %llu t=%.3f fps=%.1f", (unsigned long long)frame, t, 60.0 / (t - last_t));
            last_t = t;
        }
        if (reboot_after && frame >= reboot_after) {
            logmsg("rebooting");
            reboot(RB_AUTOBOOT);
            fail("reboot: %s", strerror(errno));
        }
    }
}
