#include "client-util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void fail(const char* format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "%s: ", program_name);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

uint32_t parse_color(const char* option, const char* text) {
    if (strlen(text) != 6 || strspn(text, "0123456789abcdefABCDEF") != 6)
        fail("%s: expected RRGGBB in hexadecimal", option);
    return (uint32_t)strtoul(text, NULL, 16);
}

bool parse_int(const char** text, long min, long max, int* out) {
    char* end;
    errno = 0;
    long value = strtol(*text, &end, 10);
    if (end == *text || errno != 0 || value < min || value > max)
        return false;
    *out = (int)value;
    *text = end;
    return true;
}

void parse_pair(const char* option, const char* text, char separator, int min, int max, int* a,
                int* b) {
    if (!parse_int(&text, min, max, a) || *text++ != separator || !parse_int(&text, min, max, b) ||
        *text != '\0')
        fail("%s: expected two integers in [%d, %d] separated by '%c'", option, min, max,
             separator);
}

uint32_t parse_u32(const char* option, const char* text) {
    char* end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (*text == '\0' || *text == '-' || *end != '\0' || errno != 0 || value > UINT32_MAX)
        fail("%s: expected an integer in [0, %u]", option, UINT32_MAX);
    return (uint32_t)value;
}

struct wl_display* connect_and_list_globals(const struct wl_registry_listener* listener,
                                            struct wl_registry** registry) {
    struct wl_display* display = wl_display_connect(NULL);
    if (!display)
        fail("cannot connect to the Wayland display: %s", strerror(errno));
    *registry = wl_display_get_registry(display);
    wl_registry_add_listener(*registry, listener, NULL);
    if (wl_display_roundtrip(display) < 0)
        fail("connection lost while listing the globals: %s", strerror(errno));
    return display;
}
