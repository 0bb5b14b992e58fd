/*
 * vm-init: /init of the "run a command in a Linux VM" rig (see README.md, run-in-vm.py).
 *
 * Build: cc -static -O2 -Wall -Wextra -o vm-init vm-init.c
 *
 * As pid 1 it
 *   1. mounts /proc, /sys, devtmpfs on /dev, debugfs on /sys/kernel/debug;
 *   2. loads /modules/FILE for each line "FILE [PARAMS...]" of /modules.order, in order,
 *      with finit_module(PARAMS) (".ko" appended when missing; EEXIST is fine);
 *   3. mounts the 9p share tagged "root" (the Debian 13 root) read-only on /newroot,
 *      tmpfs on its writable places (/tmp /run /root /var/tmp /dev/shm), devpts, and the
 *      9p share tagged "work" read-write at the path given by tessera.work=PATH on the
 *      kernel command line (optional);
 *   4. moves /dev /proc /sys into /newroot, makes /newroot the root (switch_root style)
 *      and runs "/bin/sh /run/tessera-vm/cmd.sh" (a copy of the initramfs's /cmd.sh) with
 *      a fixed environment, stdin /dev/null, stdout and stderr on the console;
 *   5. when the command ends: terminates what is left, syncs, prints
 *          tessera-vm: exit N
 *      (N = exit status, 128 + signal number if killed) and powers off.
 *
 * Any failure of its own prints "tessera-vm: error: ..." and powers off: pid 1 must
 * never exit (that panics the kernel) and a test must never hang on a silent guest.
 * Other console lines: "tessera-vm: start t=S", "tessera-vm: command t=S" (starting it),
 * "tessera-vm: command ended t=S"; t is CLOCK_BOOTTIME seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "tessera-vm: "
#define NEWROOT "/newroot"
#define CMD_SRC "/cmd.sh"
#define CMD_DIR "/run/tessera-vm"
#define CMD_PATH CMD_DIR "/cmd.sh"
// Large 9p messages: far fewer round trips through QEMU (the kernel caps it for virtio).
#define P9_OPTS "trans=virtio,version=9p2000.L,msize=512000"

#include "../init-common.h"

__attribute__((noreturn)) static void power_off(void) {
    sync();
    reboot(RB_POWER_OFF);
    // No ACPI power-off: a reboot also ends QEMU when it runs with -no-reboot.
    reboot(RB_AUTOBOOT);
    for (;;)
        pause();
}

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char* fmt, ...) {
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    logmsg("error: %s", msg);
    power_off();
}

static void mkdir_p(const char* dir, mode_t mode) {
    char path[4096];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        fail("path too long: %s", dir);
    for (char* p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, mode) != 0 && errno != EEXIST)
                fail("mkdir %s: %s", path, strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
}

static void do_mount(const char* src, const char* dir, const char* type, unsigned long flags,
                     const char* data) {
    if (mount(src, dir, type, flags, data) != 0)
        fail("mount %s (%s%s%s) on %s: %s", src, type ? type : "move", data ? ", " : "",
             data ? data : "", dir, strerror(errno));
}

static void mount_tmpfs(const char* dir, const char* mode) {
    char opts[64];
    snprintf(opts, sizeof(opts), "mode=%s", mode);
    // The read-only root cannot take new mount points: the directory must exist there.
    if (access(dir, F_OK) != 0)
        fail("%s does not exist in the root share", dir);
    do_mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

// The value of KEY=VALUE on the kernel command line (the last one wins), or NULL.
static char* cmdline_value(const char* key) {
    static char buf[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open /proc/cmdline: %s", strerror(errno));
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        fail("read /proc/cmdline: %s", strerror(errno));
    buf[n] = '\0';
    size_t klen = strlen(key);
    char* value = NULL;
    for (char* tok = strtok(buf, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
        if (strncmp(tok, key, klen) == 0 && tok[klen] == '=')
            value = tok + klen + 1;
    }
    return value;
}

static char* read_file(const char* path, size_t* size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open %s: %s (the runner puts the command there)", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0)
        fail("stat %s: %s", path, strerror(errno));
    char* data = malloc((size_t)st.st_size + 1);
    if (!data)
        fail("out of memory reading %s", path);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            fail("read %s: %s", path, r < 0 ? strerror(errno) : "short read");
        got += (size_t)r;
    }
    close(fd);
    *size = got;
    return data;
}

static void write_file(const char* path, const char* data, size_t size, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        fail("create %s: %s", path, strerror(errno));
    for (size_t done = 0; done < size;) {
        ssize_t w = write(fd, data + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            fail("write %s: %s", path, strerror(errno));
        done += (size_t)w;
    }
    close(fd);
}

// Some programs expect a working loopback interface (localhost sockets).
static void loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return;
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
            logmsg("warning: cannot bring up lo: %s", strerror(errno));
    }
    close(s);
}

static void setup_root(const char* work) {
    mkdir_p(NEWROOT, 0755);
    do_mount("root", NEWROOT, "9p", MS_RDONLY, P9_OPTS ",cache=loose");
    if (access(NEWROOT "/bin/sh", X_OK) != 0)
        fail("%s/bin/sh: %s (is the 'root' share the Debian root?)", NEWROOT, strerror(errno));

    // The early mounts move along with their submounts (debugfs stays under /sys).
    do_mount("/dev", NEWROOT "/dev", NULL, MS_MOVE, NULL);
    do_mount("/proc", NEWROOT "/proc", NULL, MS_MOVE, NULL);
    do_mount("/sys", NEWROOT "/sys", NULL, MS_MOVE, NULL);

    mount_tmpfs(NEWROOT "/tmp", "1777");
    mount_tmpfs(NEWROOT "/run", "0755");
    mount_tmpfs(NEWROOT "/root", "0700");
    mount_tmpfs(NEWROOT "/var/tmp", "1777");
    mkdir_p(NEWROOT "/dev/shm", 0755);
    mount_tmpfs(NEWROOT "/dev/shm", "1777");
    mkdir_p(NEWROOT "/dev/pts", 0755);
    do_mount("devpts", NEWROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
             "gid=5,mode=620,ptmxmode=666");
    // devtmpfs lacks these conventional links (bash's <(...) needs /dev/fd).
    static const char* const links[][2] = {
        {"/proc/self/fd", NEWROOT "/dev/fd"},
        {"/proc/self/fd/0", NEWROOT "/dev/stdin"},
        {"/proc/self/fd/1", NEWROOT "/dev/stdout"},
        {"/proc/self/fd/2", NEWROOT "/dev/stderr"},
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        if (symlink(links[i][0], links[i][1]) != 0 && errno != EEXIST)
            fail("symlink %s: %s", links[i][1], strerror(errno));
    }
    mkdir_p(NEWROOT "/run/user/0", 0700);
    chmod(NEWROOT "/run/user/0", 0700);
    mkdir_p(NEWROOT CMD_DIR, 0755);

    if (work) {
        char dir[4096];
        if (work[0] != '/' || snprintf(dir, sizeof(dir), NEWROOT "%s", work) >= (int)sizeof(dir))
            fail("tessera.work=%s: not an absolute path", work);
        // A work tree under one of the guest's tmpfs (a clone in /tmp) gets its mount point
        // made there; elsewhere it must exist in the read-only root share.
        if (access(dir, F_OK) != 0)
            mkdir_p(dir, 0755);
        // cache=mmap: shared writable mmap works; data still goes straight to the host.
        do_mount("work", dir, "9p", 0, P9_OPTS ",cache=mmap");
    }
}

static void switch_root(void) {
    if (chdir(NEWROOT) != 0)
        fail("chdir %s: %s", NEWROOT, strerror(errno));
    do_mount(".", "/", NULL, MS_MOVE, NULL);
    if (chroot(".") != 0)
        fail("chroot %s: %s", NEWROOT, strerror(errno));
    if (chdir("/") != 0)
        fail("chdir /: %s", strerror(errno));
}

static pid_t start_command(void) {
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid > 0)
        return pid;
    // The child: its own session, stdin /dev/null (nobody types on the console).
    setsid();
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0 && null != STDIN_FILENO) {
        dup2(null, STDIN_FILENO);
        close(null);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char* const argv[] = {"/bin/sh", CMD_PATH, NULL};
    char* const envp[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root",
        "USER=root",
        "LOGNAME=root",
        "SHELL=/bin/sh",
        "LANG=C.UTF-8",
        "TERM=dumb",
        "XDG_RUNTIME_DIR=/run/user/0",
        "TESSERA_IN_VM=1",
        NULL,
    };
    execve(argv[0], argv, envp);
    logmsg("error: exec /bin/sh: %s", strerror(errno));
    _exit(127);
}

// Waits for pid, reaping every other child on the way (pid 1 inherits orphans).
static int wait_command(pid_t pid) {
    for (;;) {
        int status;
        pid_t r = waitpid(-1, &status, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fail("waitpid: %s", strerror(errno));
        }
        if (r != pid)
            continue;
        if (WIFEXITED(status))
            return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
            return 128 + WTERMSIG(status);
    }
}

// Ends whatever the command left running, so that its output is complete before the
// marker and its files are closed (flushed to the 9p share) before the power-off. Every
// process left descends from init, so "no children" means "nothing left".
static int have_children(void) {
    for (;;) {
        pid_t r = waitpid(-1, NULL, WNOHANG);
        if (r > 0)
            continue; // reaped one: look again
        return r == 0 || errno == EINTR;
    }
}

static void end_leftovers(void) {
    if (!have_children())
        return;
    kill(-1, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (!have_children())
            return;
        usleep(10000);
    }
    logmsg("warning: killing processes that ignored SIGTERM for 1 s");
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
}

int main(void) {
    setup_console();
    if (getpid() != 1) {
        fprintf(stderr, "vm-init: must run as pid 1 (the /init of a VM)\n");
        return 1;
    }
    mkdir("/proc", 0755);
    mkdir("/sys", 0755);
    mkdir("/dev", 0755);
    do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    do_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") != 0 && errno != EBUSY)
        fail("mount devtmpfs on /dev: %s", strerror(errno));
    setup_console();
    logmsg("start t=%.3f", now_s());
    do_mount("debugfs", "/sys/kernel/debug", "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

    int modules = load_modules();
    logmsg("%d modules loaded t=%.3f", modules, now_s());
    size_t cmd_size;
    char* cmd = read_file(CMD_SRC, &cmd_size);
    setup_root(cmdline_value("tessera.work"));
    write_file(NEWROOT CMD_PATH, cmd, cmd_size, 0644);
    free(cmd);
    switch_root();
    loopback_up();
    sethostname("tessera-vm", strlen("tessera-vm"));

    logmsg("command t=%.3f", now_s());
    int status = wait_command(start_command());
    end_leftovers();
    sync();
    logmsg("command ended t=%.3f", now_s());
    logmsg("exit %d", status);
    power_off();
}
