/*
 * What the static /init programs of the test VMs share (tests/vm/guest/flipper.c,
 * tests/vm/rig/vm-init.c): a clock, console lines, the console itself, and loading the
 * initramfs's modules. Include after defining LOG_PREFIX (each console line starts with it);
 * the including program defines fail(), which must not return.
 */
#ifndef TESSERA_VM_INIT_COMMON_H
#define TESSERA_VM_INIT_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char* fmt, ...);

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 1, 2))) static void logmsg(const char* fmt, ...) {
    char line[1024];
    size_t n = sizeof(LOG_PREFIX) - 1;
    memcpy(line, LOG_PREFIX, n);
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (r < 0)
        r = 0;
    n += (size_t)r < sizeof(line) - n - 2 ? (size_t)r : sizeof(line) - n - 2;
    line[n++] = '\n';
    // One write per line, so that kernel messages do not split it.
    ssize_t w = write(STDOUT_FILENO, line, n);
    (void)w;
}

static void setup_console(void) {
    // The kernel gives init /dev/console from the initramfs; if it could not, open it
    // from devtmpfs.
    if (fcntl(STDOUT_FILENO, F_GETFD) != -1)
        return;
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return;
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
}

// Loads /modules/FILE for each line "FILE [PARAMS...]" of /modules.order, in order (".ko"
// appended when missing; already loaded is fine). Returns how many; none without the file
// (the drivers may be built in).
static int load_modules(void) {
    FILE* f = fopen("/modules.order", "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        fail("open /modules.order: %s", strerror(errno));
    }
    char line[1024];
    int count = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char* name = line + strspn(line, " \t");
        if (name[0] == '\0' || name[0] == '#')
            continue;
        char* params = name + strcspn(name, " \t");
        if (*params) {
            *params++ = '\0';
            params += strspn(params, " \t");
        }
        char path[sizeof(line) + 16];
        size_t len = strlen(name);
        const char* ext = len >= 3 && strcmp(name + len - 3, ".ko") == 0 ? "" : ".ko";
        snprintf(path, sizeof(path), "/modules/%s%s", name, ext);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail("open module %s: %s", path, strerror(errno));
        if (syscall(SYS_finit_module, fd, params, 0) != 0 && errno != EEXIST)
            fail("load module %s%s%s: %s (see the kernel log above)", path, *params ? " " : "",
                 params, strerror(errno));
        close(fd);
        count++;
    }
    fclose(f);
    return count;
}

#endif
