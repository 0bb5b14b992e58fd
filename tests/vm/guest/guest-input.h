/*
 * The flipper's input (tessera.input=N on the kernel command line): it waits for N evdev
 * devices (virtio-input, /dev/input/event*), logs what a guest compositor asks of each with
 * ioctls, then logs every event it reads and keeps the last touch or pointer position, where
 * the flipper draws a marker. Include after flipper.c's logmsg() and fail().
 *
 * Console lines:
 *     tessera-guest: input-device TAG name="NAME" props=HEX x=MIN..MAX y=MIN..MAX slots=N
 *     tessera-guest: input TAG TYPE CODE VALUE     (decimal, one per event)
 *     tessera-guest: touch X Y                     (at each touch report: in mode pixels)
 * TAG is the device name's second word (tessera's devices: touchscreen, pointer, keyboard).
 */
#include <linux/input.h>

#define INPUT_MAX 8
#define INPUT_WAIT_MS 20000

struct input_device {
    int fd;
    char tag[32];
    struct input_absinfo x, y;
    int abs_x, abs_y; // latest, in axis units
};

static struct input_device inputs[INPUT_MAX];
static int input_count;
static int marker_x = -1, marker_y = -1; // mode pixels; -1: never touched

static int wanted_inputs(void) {
    char value[16];
    if (!cmdline_value("tessera.input=", value, sizeof(value)))
        return 0;
    int n = atoi(value);
    if (n < 0 || n > INPUT_MAX)
        fail("bad kernel command line option 'tessera.input=%s'", value);
    return n;
}

// Opens an event device; kept (and logged) when it is one of tessera's, else closed. True
// when kept.
static int open_input(const char* path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0; // not there yet
    char name[256] = {0};
    if (ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name) < 0 || strncmp(name, "tessera ", 8) != 0 ||
        input_count == INPUT_MAX) {
        close(fd); // the machine's own (PS/2 keyboard, power button...)
        return 0;
    }
    struct input_device* d = &inputs[input_count++];
    memset(d, 0, sizeof(*d));
    d->fd = fd;
    snprintf(d->tag, sizeof(d->tag), "%.31s", name + 8);
    char* end = strchr(d->tag, ' ');
    if (end)
        *end = 0;
    uint8_t props[INPUT_PROP_CNT / 8] = {0};
    if (ioctl(fd, EVIOCGPROP(sizeof(props)), props) < 0)
        fail("EVIOCGPROP %s: %s", path, strerror(errno));
    struct input_absinfo slot = {0};
    ioctl(fd, EVIOCGABS(ABS_X), &d->x); // a keyboard has none: zeros
    ioctl(fd, EVIOCGABS(ABS_Y), &d->y);
    ioctl(fd, EVIOCGABS(ABS_MT_SLOT), &slot);
    logmsg("input-device %s name=\"%s\" props=%02x x=%d..%d y=%d..%d slots=%d", d->tag, name,
           props[0], d->x.minimum, d->x.maximum, d->y.minimum, d->y.maximum,
           slot.maximum > 0 ? slot.maximum + 1 : 0);
    return 1;
}

// Opens tessera's event devices until `wanted` are open, waiting for the driver to probe them.
static void open_inputs(int wanted) {
    static char tried[64];
    double start = now_s();
    while (input_count < wanted) {
        for (int i = 0; i < (int)sizeof(tried); i++) {
            char path[64];
            snprintf(path, sizeof(path), "/dev/input/event%d", i);
            if (!tried[i] && access(path, F_OK) == 0) {
                tried[i] = 1;
                usleep(50000); // the driver registers the node before it is usable
                open_input(path);
            }
        }
        if ((now_s() - start) * 1000 > INPUT_WAIT_MS)
            fail("%d of %d input devices after %d s", input_count, wanted, INPUT_WAIT_MS / 1000);
        usleep(20000);
    }
}

// The axis value as a pixel of a `size`-pixel mode, as a compositor maps a touchscreen.
static int to_pixel(int value, const struct input_absinfo* axis, uint32_t size) {
    long span = (long)axis->maximum - axis->minimum + 1;
    return span > 0 ? (int)(((long)value - axis->minimum) * (long)size / span) : 0;
}

// Reads what the devices have; true when the marker moved. `w`, `h`: the mode.
static int read_inputs(uint32_t w, uint32_t h) {
    int moved = 0;
    for (int i = 0; i < input_count; i++) {
        struct input_device* d = &inputs[i];
        struct input_event events[64];
        ssize_t n;
        while ((n = read(d->fd, events, sizeof(events))) > 0) {
            for (size_t k = 0; k < (size_t)n / sizeof(events[0]); k++) {
                const struct input_event* ev = &events[k];
                logmsg("input %s %u %u %d", d->tag, ev->type, ev->code, ev->value);
                if (ev->type == EV_ABS && ev->code == ABS_X)
                    d->abs_x = ev->value;
                if (ev->type == EV_ABS && ev->code == ABS_Y)
                    d->abs_y = ev->value;
                if (ev->type == EV_SYN && ev->code == SYN_REPORT && d->x.maximum > 0) {
                    int x = to_pixel(d->abs_x, &d->x, w), y = to_pixel(d->abs_y, &d->y, h);
                    if (x != marker_x || y != marker_y) {
                        marker_x = x;
                        marker_y = y;
                        moved = 1;
                        if (strcmp(d->tag, "touchscreen") == 0)
                            logmsg("touch %d %d", x, y);
                    }
                }
            }
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            fail("read %s input: %s", d->tag, strerror(errno));
    }
    return moved;
}
