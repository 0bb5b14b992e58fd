// tessera-rogue-device: started by tessera in tessera-device's place (TESSERA_DEVICE_PROGRAM).
// It reads the name of a misdeed from the "VMM" socket (fd 3: the test is the VMM), commits it
// on the channel to tessera (fd 4), and then waits for tessera to end it, reading and ignoring
// whatever tessera sends (its pings go unanswered). An unknown name exits with status 2.
#include "gpu-backend/base/unique_fd.hpp"
#include "gpu-backend/device_host/channel.hpp"
#include "gpu-backend/device_host/exit_codes.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace tessera;
namespace channel = tessera::gpu::channel;

namespace {

constexpr int vmm = gpu::device_exit::vmm_fd;
constexpr int channel_fd = gpu::device_exit::channel_fd; // to tessera

// Sends raw bytes, with fds, as one datagram of the channel.
void send_raw(const void* bytes, size_t size, const std::vector<int>& fds = {}) {
    iovec iov{const_cast<void*>(bytes), size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<std::byte> control(CMSG_SPACE(sizeof(int) * fds.size()));
    if (!fds.empty()) {
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
    }
    (void)sendmsg(channel_fd, &msg, MSG_NOSIGNAL);
}

// A well-framed message; the channel's send() would refuse more than max_fds.
void send(const channel::Outgoing& message) {
    channel::Header header{channel::version, static_cast<uint16_t>(message.type()),
                           static_cast<uint32_t>(message.body().size())};
    std::vector<std::byte> bytes(sizeof(header));
    std::memcpy(bytes.data(), &header, sizeof(header));
    bytes.insert(bytes.end(), message.body().begin(), message.body().end());
    send_raw(bytes.data(), bytes.size(), {message.fds().begin(), message.fds().end()});
}

// A memfd of `size` bytes, sealed against shrinking as tessera requires of lent memory.
int sealed_memfd(uint64_t size) {
    int fd = memfd_create("rogue", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    (void)ftruncate(fd, static_cast<off_t>(size));
    (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
    return fd;
}

int a_pipe() {
    int fds[2];
    (void)pipe2(fds, O_CLOEXEC);
    return fds[0];
}

channel::Outgoing lend_pixels(uint32_t id, uint64_t size, int fd) {
    channel::Outgoing out(channel::Type::lend);
    out.add(channel::Lend{id, channel::LendKind::pixels, 0, 0, size});
    if (fd >= 0) {
        out.add_fd(fd);
    }
    return out;
}

channel::Outgoing scanout(uint32_t lend_id, channel::ScanoutSource source, channel::Image image) {
    channel::Outgoing out(channel::Type::scanout);
    out.add(channel::Scanout{0, 1, lend_id, 1, source, image});
    return out;
}

// A 64x64 XRGB image at offset 0 (proto::Format B8G8R8X8 is 2).
constexpr channel::Image image_64{2, 64, 64, 256, 0, 0, 0, 64, 64};

channel::Outgoing cursor(uint32_t width, uint32_t height, uint32_t pixel_bytes, size_t sent) {
    channel::Outgoing out(channel::Type::cursor);
    out.add(channel::CursorHeader{0, 1, 1, 0, 0, 0, 0, width, height, 2, pixel_bytes});
    out.add_bytes(std::vector<std::byte>(sent));
    return out;
}

const std::map<std::string, std::function<void()>> misdeeds = {
    // The framing.
    {"short", [] { send_raw("ab", 2); }},
    {"version",
     [] {
         channel::Header h{channel::version + 1, static_cast<uint16_t>(channel::Type::stats), 0};
         send_raw(&h, sizeof(h));
     }},
    {"size",
     [] {
         std::array<uint32_t, 3> m{};
         channel::Header h{channel::version, static_cast<uint16_t>(channel::Type::state), 100};
         std::memcpy(m.data(), &h, sizeof(h));
         send_raw(m.data(), sizeof(m));
     }},
    {"too-many-fds",
     [] {
         channel::Outgoing out(channel::Type::memory);
         out.add(channel::Memory{1, 8, {}});
         for (size_t i = 0; i <= channel::max_fds; ++i) {
             out.add_fd(sealed_memfd(4096));
         }
         send(out);
     }},
    // The messages.
    {"unknown-type", [] { send(channel::Outgoing(static_cast<channel::Type>(999))); }},
    {"compositor-type", [] { send(channel::Outgoing(channel::Type::ping).add(channel::Ping{1})); }},
    {"state-size", [] { send(channel::Outgoing(channel::Type::state).add(uint8_t{1})); }},
    {"state-value",
     [] {
         send(channel::Outgoing(channel::Type::state)
                  .add(channel::State{static_cast<channel::DeviceState>(7)}));
     }},
    {"fds-where-none",
     [] {
         send(channel::Outgoing(channel::Type::state)
                  .add(channel::State{channel::DeviceState::running})
                  .add_fd(a_pipe()));
     }},
    {"stats-size", [] { send(channel::Outgoing(channel::Type::stats).add(uint64_t{0})); }},
    {"flush-index",
     [] { send(channel::Outgoing(channel::Type::flush).add(channel::Flush{16, 1, 0, 0, 1, 1})); }},
    {"fence-index",
     [] { send(channel::Outgoing(channel::Type::fence).add(channel::Fence{99, 0, 7})); }},
    {"closed-length",
     [] { send(channel::Outgoing(channel::Type::closed).add(channel::Closed{300})); }},
    {"stats-inputs",
     [] {
         channel::Stats stats{};
         stats.input_count = channel::max_input_devices + 1;
         send(channel::Outgoing(channel::Type::stats).add(stats));
     }},
    {"input-slot",
     [] {
         send(channel::Outgoing(channel::Type::input_state)
                  .add(channel::InputState{channel::max_input_devices,
                                           channel::InputDeviceState::running, 0}));
     }},
    {"input-state",
     [] {
         send(channel::Outgoing(channel::Type::input_state)
                  .add(channel::InputState{0, static_cast<channel::InputDeviceState>(7), 0}));
     }},
    // Memory it lends.
    {"memory-count",
     [] {
         send(channel::Outgoing(channel::Type::memory)
                  .add(channel::Memory{1, 2, {4096, 4096}})
                  .add_fd(sealed_memfd(4096)));
     }},
    {"lend-huge", [] { send(lend_pixels(1, uint64_t{1} << 60, sealed_memfd(4096))); }},
    {"lend-pipe", [] { send(lend_pixels(1, 4096, a_pipe())); }},
    {"lend-unsealed",
     [] {
         int fd = memfd_create("rogue", MFD_CLOEXEC);
         (void)ftruncate(fd, 4096);
         send(lend_pixels(1, 4096, fd));
     }},
    {"lend-small", [] { send(lend_pixels(1, 1 << 20, sealed_memfd(4096))); }},
    {"lend-no-fd", [] { send(lend_pixels(1, 4096, -1)); }},
    {"lend-twice",
     [] {
         send(lend_pixels(1, 4096, sealed_memfd(4096)));
         send(lend_pixels(1, 4096, sealed_memfd(4096)));
     }},
    {"lend-kind",
     [] {
         send(channel::Outgoing(channel::Type::lend)
                  .add(channel::Lend{1, static_cast<channel::LendKind>(9), 0, 0, 4096}));
     }},
    {"pieces-unknown-memory",
     [] {
         send(channel::Outgoing(channel::Type::lend)
                  .add(channel::Lend{1, channel::LendKind::pieces, 5, 1, 4096})
                  .add(channel::LendPiece{0, 0, 0, 4096}));
     }},
    {"pieces-outside",
     [] {
         send(channel::Outgoing(channel::Type::memory)
                  .add(channel::Memory{1, 1, {1 << 20}})
                  .add_fd(sealed_memfd(1 << 20)));
         send(channel::Outgoing(channel::Type::lend)
                  .add(channel::Lend{1, channel::LendKind::pieces, 1, 1, 4096})
                  .add(channel::LendPiece{0, 0, 2 << 20, 4096}));
     }},
    {"pieces-count",
     [] {
         send(channel::Outgoing(channel::Type::lend)
                  .add(channel::Lend{1, channel::LendKind::pieces, 1, 1'000'000, 4096}));
     }},
    // Scanouts and cursors.
    {"scanout-never-lent", [] { send(scanout(77, channel::ScanoutSource::in_place, image_64)); }},
    {"scanout-source",
     [] {
         send(lend_pixels(1, 64 * 256, sealed_memfd(64 * 256)));
         send(scanout(1, static_cast<channel::ScanoutSource>(7), image_64));
     }},
    {"scanout-image",
     [] {
         send(lend_pixels(1, 64 * 256, sealed_memfd(64 * 256)));
         auto image = image_64;
         image.stride = 4; // shorter than a row
         send(scanout(1, channel::ScanoutSource::in_place, image));
     }},
    {"scanout-outside",
     [] {
         send(lend_pixels(1, 4096, sealed_memfd(4096)));
         send(scanout(1, channel::ScanoutSource::in_place, image_64));
     }},
    {"cursor-size", [] { send(cursor(64, 64, 64 * 64 * 4, 100)); }},
    {"cursor-big", [] { send(cursor(65, 64, 65 * 64 * 4, 65 * 64 * 4)); }},
    // Never a wrong message, only too many, and no answer to a ping.
    {"flood",
     [] {
         fcntl(channel_fd, F_SETFL, fcntl(channel_fd, F_GETFL) | O_NONBLOCK);
         channel::Outgoing stats(channel::Type::stats);
         stats.add(channel::Stats{});
         for (;;) {
             pollfd p{channel_fd, POLLOUT, 0};
             if (poll(&p, 1, -1) != 1 || (p.revents & (POLLERR | POLLHUP))) {
                 return;
             }
             send(stats);
         }
     }},
};

std::string read_misdeed() {
    pollfd p{vmm, POLLIN, 0};
    if (poll(&p, 1, 10'000) != 1) {
        return {};
    }
    std::array<char, 64> name{};
    ssize_t n = read(vmm, name.data(), name.size() - 1);
    std::string text(name.data(), n > 0 ? static_cast<size_t>(n) : 0);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

} // namespace

int main() {
    auto misdeed = misdeeds.find(read_misdeed());
    if (misdeed == misdeeds.end()) {
        return gpu::device_exit::bad_start;
    }
    misdeed->second();
    // Until tessera ends it: it hears nothing more from this process.
    std::array<std::byte, 4096> sink{};
    for (;;) {
        pollfd p{channel_fd, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 || (p.revents & (POLLHUP | POLLERR))) {
            return gpu::device_exit::failed;
        }
        if (recv(channel_fd, sink.data(), sink.size(), 0) <= 0) {
            return gpu::device_exit::failed;
        }
    }
}
