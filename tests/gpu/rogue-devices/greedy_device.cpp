// tessera-greedy-device: started by tessera in tessera-device's place (TESSERA_DEVICE_PROGRAM)
// with the same arguments. It raises the same sandbox with the limits tessera asked for, then
// allocates and touches memory a megabyte at a time, as a device with a leak a guest can drive
// would. The kernel must stop it at its limit: then it exits as tessera-device does when an
// allocation fails. Should it get past the limit, it stops there and exits with a status that
// says the limit did not hold.
#include "gpu-backend/base/log.hpp"
#include "gpu-backend/device_host/exit_codes.hpp"
#include "gpu-backend/device_host/sandbox.hpp"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <vector>

using namespace tessera;

namespace {

log::Scope greedy_log("gpu.device");

constexpr int limit_did_not_hold = 9;
constexpr size_t chunk_bytes = 1 << 20;

} // namespace

int main(int argc, char** argv) {
    gpu::SandboxLimits limits;
    for (int i = 1; i + 1 < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--memory-limit") {
            limits.memory_bytes = std::strtoull(argv[++i], nullptr, 10);
        } else if (arg == "--file-limit") {
            limits.file_bytes = std::strtoull(argv[++i], nullptr, 10);
        }
    }
    if (limits.memory_bytes == 0) {
        log::error(greedy_log, "no memory limit to grow past");
        return gpu::device_exit::failed;
    }
    if (auto error = gpu::enter_sandbox(limits)) {
        log::error(greedy_log, "cannot enter the sandbox: {}", *error);
        return gpu::device_exit::no_sandbox;
    }
    std::vector<std::unique_ptr<char[]>> held;
    held.reserve(limits.memory_bytes / chunk_bytes + 1);
    try {
        for (size_t total = 0; total <= limits.memory_bytes; total += chunk_bytes) {
            held.emplace_back(new char[chunk_bytes]);
            std::memset(held.back().get(), 0x5a, chunk_bytes); // really used, not only reserved
        }
    } catch (const std::bad_alloc&) {
        log::error(greedy_log, "out of memory after {} MiB: over its limit of {} bytes",
                   held.size(), limits.memory_bytes);
        return gpu::device_exit::out_of_memory;
    }
    log::error(greedy_log, "allocated {} MiB past a limit of {} bytes", held.size(),
               limits.memory_bytes);
    return limit_did_not_hold;
}
