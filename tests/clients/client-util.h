// What the test clients share: fatal errors and colour options.
#pragma once

#include <stdint.h>

// Defined by each client: the name its errors start with.
extern const char* const program_name;

// Prints "program_name: message" on stderr and exits with status 1.
_Noreturn void fail(const char* format, ...) __attribute__((format(printf, 1, 2)));

// RRGGBB in hexadecimal, or fail() naming the option.
uint32_t parse_color(const char* option, const char* text);
