/*
 * drm-lease-open.so: preloaded into a program the flipper leases a screen to (flipper.c,
 * --lease-scanout), it gives that program's open() of a DRM card node the lease's fd
 * (TESSERA_DRM_LEASE_FD, duplicated) instead of a new file on the card, of which the flipper is
 * the master. Every other open() is glibc's own.
 *
 * Build: cc -shared -fPIC -O2 -o drm-lease-open.so drm-lease-open.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

// The lease, duplicated, when `path` is a card node and there is one; else -1.
static int lease_for(const char* path) {
    const char* lease = getenv("TESSERA_DRM_LEASE_FD");
    if (lease == NULL || path == NULL || strncmp(path, "/dev/dri/card", 13) != 0)
        return -1;
    return fcntl(atoi(lease), F_DUPFD_CLOEXEC, 3);
}

// The mode argument open() takes after `last` when `flags` create a file; 0 otherwise.
#define MODE_AFTER(last, flags)                                                                    \
    ({                                                                                             \
        va_list ap;                                                                                \
        va_start(ap, last);                                                                        \
        mode_t mode = ((flags) & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;                  \
        va_end(ap);                                                                                \
        mode;                                                                                      \
    })

// glibc's own function of that name, called with these arguments.
#define PASS_ON(name, ...) ((int (*)())dlsym(RTLD_NEXT, name))(__VA_ARGS__)

int open(const char* path, int flags, ...) {
    int fd = lease_for(path);
    return fd >= 0 ? fd : PASS_ON("open", path, flags, MODE_AFTER(flags, flags));
}

int open64(const char* path, int flags, ...) {
    int fd = lease_for(path);
    return fd >= 0 ? fd : PASS_ON("open64", path, flags, MODE_AFTER(flags, flags));
}

int openat(int dir, const char* path, int flags, ...) {
    int fd = lease_for(path);
    return fd >= 0 ? fd : PASS_ON("openat", dir, path, flags, MODE_AFTER(flags, flags));
}

int __open_2(const char* path, int flags) {
    int fd = lease_for(path);
    return fd >= 0 ? fd : PASS_ON("__open_2", path, flags);
}

int __open64_2(const char* path, int flags) {
    int fd = lease_for(path);
    return fd >= 0 ? fd : PASS_ON("__open64_2", path, flags);
}
