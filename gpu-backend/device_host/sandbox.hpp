#pragma once

#include <cstdint>
#include <optional>
#include <string>

// The walls of a guest's device process, raised by the process itself once it holds the fds it
// was started with (the VMM's socket and the channel to the compositor), before it reads a byte
// from either:
// - PR_SET_NO_NEW_PRIVS;
// - resource limits: private memory (RLIMIT_DATA, the guest's quota plus the process's own
//   needs), the size of a file it makes (RLIMIT_FSIZE: a 2D resource's shared pixels), open
//   fds, no core files;
// - a seccomp filter (libseccomp) allowing the system calls the device needs and nothing else.
//   Opening files answers EACCES; any call outside the list kills the process (SIGSYS), which
//   the compositor reports. The only calls it keeps that name a path are fstat's (glibc's
//   fstat is newfstatat): metadata, never contents.
// It runs with no Wayland socket, no other guest's memory and no inherited fds beyond its own:
// the compositor starts it with exactly fds 0-4 and an empty environment.
namespace tessera::gpu {

struct SandboxLimits {
    uint64_t memory_bytes = 0; // RLIMIT_DATA; 0: unlimited (sanitizer builds need it)
    uint64_t file_bytes = 0;   // RLIMIT_FSIZE
    uint64_t open_files = 1024;
    // A 3D renderer runs in the process (its GL driver loaded already): it also gets threads
    // (the driver's workers), naming them, and the CPU set queries of its scheduler; with
    // `render_node`, the DRM ioctls on the render node it opened.
    bool renderer = false;
    bool render_node = false;
};

// Enters the sandbox; the error says which wall could not be raised (the process must not
// go on then).
std::optional<std::string> enter_sandbox(const SandboxLimits& limits);

} // namespace tessera::gpu
