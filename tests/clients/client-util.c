#include "client-util.h"

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
