#include "gpu-backend/device_host/sandbox.hpp"

#include <linux/sched.h>
#include <linux/udmabuf.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <format>
#include <initializer_list>
#include <iterator>
#include <memory>

namespace tessera::gpu {

namespace {

// The system calls of the device process: its event loop, the VMM's and the compositor's
// sockets and eventfds, guest memory mappings, memfds for shared pixels, udmabuf, logging.
constexpr int allowed[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),
    SCMP_SYS(fcntl),
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendmsg),
    SCMP_SYS(recvfrom),
    SCMP_SYS(sendto),
    SCMP_SYS(epoll_create1),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_pwait2),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(eventfd2),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(mprotect),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    SCMP_SYS(memfd_create),
    SCMP_SYS(ftruncate),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(getrusage),
    SCMP_SYS(getrandom),
    SCMP_SYS(futex),
    SCMP_SYS(sched_yield),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
};

// What a GL driver does after it was loaded: worker threads (clone, with CLONE_THREAD only; below),
// their bookkeeping, and the CPU set it sizes its thread pool by.
constexpr int allowed_for_renderer[] = {
    SCMP_SYS(set_robust_list),   SCMP_SYS(rseq),       SCMP_SYS(sched_getaffinity),
    SCMP_SYS(sched_setaffinity), SCMP_SYS(membarrier), SCMP_SYS(getcpu),
    SCMP_SYS(sysinfo),           SCMP_SYS(uname),      SCMP_SYS(getuid),
    SCMP_SYS(geteuid),           SCMP_SYS(getgid),     SCMP_SYS(getegid),
};

// Opened paths get an error, not death: a library probing a file copes with EACCES.
constexpr int refused_with_eacces[] = {
    SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
};

struct FilterDeleter {
    void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

std::optional<std::string> add_rule(scmp_filter_ctx ctx, uint32_t action, int call,
                                    std::initializer_list<scmp_arg_cmp> args = {}) {
    int rc = seccomp_rule_add_array(ctx, action, call, static_cast<unsigned>(args.size()),
                                    args.size() != 0 ? std::data(args) : nullptr);
    if (rc != 0) {
        return std::format("seccomp rule for call {}: {}", call, std::strerror(-rc));
    }
    return std::nullopt;
}

std::optional<std::string> allow_renderer(scmp_filter_ctx ctx, uint32_t default_action,
                                          bool render_node) {
    for (int call : allowed_for_renderer) {
        if (auto error = add_rule(ctx, SCMP_ACT_ALLOW, call)) {
            return error;
        }
    }
    // Threads, never processes: clone with CLONE_THREAD; clone3 hides its flags in memory, so
    // it answers ENOSYS and glibc falls back to clone.
    if (auto error = add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone),
                              {SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)})) {
        return error;
    }
    if (default_action != SCMP_ACT_ERRNO(ENOSYS)) { // libseccomp refuses a rule that is the default
        if (auto error = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3))) {
            return error;
        }
    }
    // Thread names only.
    if (auto error =
            add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), {SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME)})) {
        return error;
    }
    if (render_node) { // DRM's ioctls ('d'), on the render node the renderer opened
        constexpr scmp_datum_t type_mask = 0xff00;
        constexpr scmp_datum_t drm_type = static_cast<scmp_datum_t>('d') << 8;
        if (auto error = add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
                                  {SCMP_A1(SCMP_CMP_MASKED_EQ, type_mask, drm_type)})) {
            return error;
        }
    }
    return std::nullopt;
}

std::optional<std::string> load_filter(const SandboxLimits& limits) {
#if defined(TESSERA_SANITIZED)
    // Sanitizer runtimes make calls of their own (reports, symbolization): they get ENOSYS
    // rather than death, so that a report still comes out.
    const uint32_t default_action = SCMP_ACT_ERRNO(ENOSYS);
#else
    const uint32_t default_action = SCMP_ACT_KILL_PROCESS;
#endif
    std::unique_ptr<void, FilterDeleter> ctx(seccomp_init(default_action));
    if (!ctx) {
        return "seccomp_init failed";
    }
    for (int call : allowed) {
        if (auto error = add_rule(ctx.get(), SCMP_ACT_ALLOW, call)) {
            return error;
        }
    }
#if defined(TESSERA_SANITIZED)
    // UBSan's vptr check probes memory by writing it into a pipe: without one every check of a
    // type not seen before the sandbox fails ("invalid vptr").
    for (int call : {SCMP_SYS(pipe), SCMP_SYS(pipe2)}) {
        if (auto error = add_rule(ctx.get(), SCMP_ACT_ALLOW, call)) {
            return error;
        }
    }
#endif
    for (int call : refused_with_eacces) {
        if (auto error = add_rule(ctx.get(), SCMP_ACT_ERRNO(EACCES), call)) {
            return error;
        }
    }
    // ioctl: udmabuf's two requests only.
    for (unsigned long request : {static_cast<unsigned long>(UDMABUF_CREATE),
                                  static_cast<unsigned long>(UDMABUF_CREATE_LIST)}) {
        if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                      SCMP_A1(SCMP_CMP_EQ, request));
            rc != 0) {
            return std::format("seccomp rule for ioctl: {}", std::strerror(-rc));
        }
    }
    if (limits.renderer) {
        if (auto error = allow_renderer(ctx.get(), default_action, limits.render_node)) {
            return error;
        }
    }
    // Signals to itself only (abort() raises SIGABRT with tgkill).
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                                  SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(getpid())));
        rc != 0) {
        return std::format("seccomp rule for tgkill: {}", std::strerror(-rc));
    }
    if (int rc = seccomp_load(ctx.get()); rc != 0) {
        return std::format("seccomp_load: {}", std::strerror(-rc));
    }
    return std::nullopt;
}

std::optional<std::string> limit(int resource, const char* name, uint64_t value) {
    rlimit current{};
    getrlimit(resource, &current);
    rlim_t wanted = value == 0 ? current.rlim_max : static_cast<rlim_t>(value);
    if (current.rlim_max != RLIM_INFINITY && wanted > current.rlim_max) {
        wanted = current.rlim_max;
    }
    rlimit next{wanted, wanted}; // hard too: it cannot raise them again
    if (setrlimit(resource, &next) != 0) {
        return std::format("setrlimit({}): {}", name, std::strerror(errno));
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> enter_sandbox(const SandboxLimits& limits) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return std::format("PR_SET_NO_NEW_PRIVS: {}", std::strerror(errno));
    }
    rlimit no_core{0, 0};
    if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
        return std::format("setrlimit(RLIMIT_CORE): {}", std::strerror(errno));
    }
    if (limits.memory_bytes != 0) {
        if (auto error = limit(RLIMIT_DATA, "RLIMIT_DATA", limits.memory_bytes)) {
            return error;
        }
    }
    if (limits.file_bytes != 0) {
        if (auto error = limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", limits.file_bytes)) {
            return error;
        }
    }
    if (auto error = limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", limits.open_files)) {
        return error;
    }
    return load_filter(limits);
}

} // namespace tessera::gpu
