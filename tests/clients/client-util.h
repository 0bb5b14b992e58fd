// What the test clients share: fatal errors and option parsing.
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <wayland-client.h>

// Defined by each client: the name its errors start with.
extern const char* const program_name;

// Prints "program_name: message" on stderr and exits with status 1.
_Noreturn void fail(const char* format, ...) __attribute__((format(printf, 1, 2)));

// RRGGBB in hexadecimal, or fail() naming the option.
uint32_t parse_color(const char* option, const char* text);

// Parses a decimal integer in [min, max] at *text and moves *text past it.
bool parse_int(const char** text, long min, long max, int* out);

// Two integers in [min, max] with `separator` between them ("640x480", "10,20"), or fail()
// naming the option.
void parse_pair(const char* option, const char* text, char separator, int min, int max, int* a,
                int* b);

// A decimal integer in [0, UINT32_MAX], or fail() naming the option.
uint32_t parse_u32(const char* option, const char* text);

// Connects to $WAYLAND_DISPLAY and reads the globals once, each handed to `listener`; fail()s
// when there is no compositor. The registry goes to *registry.
struct wl_display* connect_and_list_globals(const struct wl_registry_listener* listener,
                                            struct wl_registry** registry);
