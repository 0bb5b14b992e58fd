#include "gpu-backend/device_host/sandbox.hpp"

#include <linux/udmabuf.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <format>
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

// Opened paths get an error, not death: a library probing a file copes with EACCES.
constexpr int refused_with_eacces[] = {
    SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
};

struct FilterDeleter {
    void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

std::optional<std::string> load_filter() {
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
        if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, call, 0); rc != 0) {
            return std::format("seccomp rule for call {}: {}", call, std::strerror(-rc));
        }
    }
#if defined(TESSERA_SANITIZED)
    // UBSan's vptr check probes memory by writing it into a pipe: without one every check of a
    // type not seen before the sandbox fails ("invalid vptr").
    for (int call : {SCMP_SYS(pipe), SCMP_SYS(pipe2)}) {
        if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, call, 0); rc != 0) {
            return std::format("seccomp rule for call {}: {}", call, std::strerror(-rc));
        }
    }
#endif
    for (int call : refused_with_eacces) {
        if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EACCES), call, 0); rc != 0) {
            return std::format("seccomp rule for call {}: {}", call, std::strerror(-rc));
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
    return load_filter();
}

} // namespace tessera::gpu
