#include "gpu-backend/device_host/channel.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <format>

namespace tessera::gpu::channel {

namespace {

// Room for a lend and a few messages behind it (the kernel caps it at net.core.wmem_max).
constexpr int socket_buffer = 1 << 20;

} // namespace

std::expected<std::pair<UniqueFd, UniqueFd>, std::string> make_pair() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0) {
        return std::unexpected(std::format("socketpair: {}", std::strerror(errno)));
    }
    UniqueFd a(fds[0]);
    UniqueFd b(fds[1]);
    for (int fd : fds) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &socket_buffer, sizeof(socket_buffer));
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &socket_buffer, sizeof(socket_buffer));
    }
    return std::pair{std::move(a), std::move(b)};
}

SendResult send(int socket, const Outgoing& message) {
    Header header{version, static_cast<uint16_t>(message.type()),
                  static_cast<uint32_t>(message.body().size())};
    iovec iov[2] = {
        {&header, sizeof(header)},
        {const_cast<std::byte*>(message.body().data()), message.body().size()},
    };
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    alignas(cmsghdr) std::byte control[CMSG_SPACE(sizeof(int) * max_fds)]{};
    if (!message.fds().empty()) {
        if (message.fds().size() > max_fds) {
            return SendResult::failed;
        }
        size_t bytes = sizeof(int) * message.fds().size();
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(bytes);
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(bytes);
        std::memcpy(CMSG_DATA(cmsg), message.fds().data(), bytes);
    }
    ssize_t n = 0;
    do {
        n = sendmsg(socket, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? SendResult::full : SendResult::failed;
    }
    return static_cast<size_t>(n) == sizeof(header) + message.body().size() ? SendResult::sent
                                                                            : SendResult::failed;
}

std::expected<std::optional<Message>, ReceiveError> receive(int socket) {
    // One buffer for every message: receiving happens for each frame.
    static thread_local std::vector<std::byte> buffer(sizeof(Header) + max_message);
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) std::byte control[CMSG_SPACE(sizeof(int) * max_fds)]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = 0;
    do {
        n = recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return std::nullopt;
        }
        return std::unexpected(
            ReceiveError{errno == ECONNRESET, std::format("receive: {}", std::strerror(errno))});
    }
    Message message;
    // Every fd goes into a UniqueFd first, so no error below leaks one.
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
            size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd = -1;
                std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                message.fds.emplace_back(fd);
            }
        }
    }
    if (n == 0) {
        return std::unexpected(ReceiveError{true, "the other end hung up"});
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        return std::unexpected(
            ReceiveError{false, "a message or its fds were larger than the channel allows"});
    }
    Header header{};
    if (static_cast<size_t>(n) < sizeof(header)) {
        return std::unexpected(
            ReceiveError{false, std::format("a message of {} bytes, shorter than its header", n)});
    }
    std::memcpy(&header, buffer.data(), sizeof(header));
    if (header.version != version) {
        return std::unexpected(ReceiveError{
            false, std::format("channel version {}, not {}", header.version, version)});
    }
    if (header.size != static_cast<size_t>(n) - sizeof(header)) {
        return std::unexpected(
            ReceiveError{false, std::format("a body of {} bytes that says it has {}",
                                            static_cast<size_t>(n) - sizeof(header), header.size)});
    }
    message.type = static_cast<Type>(header.type);
    message.body.assign(buffer.begin() + sizeof(header), buffer.begin() + n);
    return message;
}

} // namespace tessera::gpu::channel
