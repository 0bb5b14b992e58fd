// libFuzzer target for the vhost-user message decoder: what a hostile frontend controls.
//
// Input: one byte giving the number of fds to attach (mod 10, so also more than a message may
// carry), then the 12-byte header, then the payload. Every fd handed to decode() must be
// closed once the decoded message is gone, whatever the input: a leak aborts.
#include <sys/eventfd.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "gpu-backend/vhost_user/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tessera::gpu;
    auto input = std::as_bytes(std::span(data, size));
    if (input.size() < 1 + vhost::header_size) {
        return 0;
    }
    size_t fd_count = std::to_integer<size_t>(input[0]) % 10;
    auto header = vhost::parse_header(input.subspan<1, vhost::header_size>());
    if (!header) {
        return 0;
    }
    auto payload = input.subspan(1 + vhost::header_size);
    payload = payload.first(std::min<size_t>(payload.size(), header->size));

    std::vector<int> raw;
    {
        std::vector<tessera::UniqueFd> fds;
        for (size_t i = 0; i < fd_count; ++i) {
            int fd = eventfd(0, EFD_CLOEXEC);
            if (fd < 0) {
                std::abort();
            }
            raw.push_back(fd);
            fds.emplace_back(fd);
        }
        auto message = vhost::decode(*header, payload, std::move(fds));
        (void)message;
    }
    for (int fd : raw) {
        if (fcntl(fd, F_GETFD) != -1) {
            std::abort(); // decode() leaked an fd
        }
    }
    return 0;
}
