#pragma once

#include <optional>
#include <string>

// What an fd a peer handed in must be before it is used. Each check answers with the reason it
// refused (for the log and the closed connection), or nullopt when the fd is what it must be.
// None needs the filesystem: a sandboxed process can run them.
namespace tessera::fd_kind {

// An eventfd's kind of fd (a ring's kick, call or err fd): an anonymous-inode fd, which every
// eventfd is, and no file, pipe, socket, device or directory. Other anonymous-inode kinds
// (timerfd, epoll, signalfd) pass; of those, a kick fd is refused when its first read yields
// no 8-byte counter, and a call fd only fails the guest's own notifications. Probing further
// would mean writing to it, and a call fd is often KVM's irqfd: that would interrupt the guest.
std::optional<std::string> check_eventfd(int fd);
// A socket (the vhost-user GPU socket, the backend channel).
std::optional<std::string> check_socket(int fd);
// A regular file (a memfd, a file in /dev/shm or hugetlbfs) of at least `size` bytes, which can
// be mapped without touching pages past its end.
std::optional<std::string> check_mappable(int fd, unsigned long long size);

} // namespace tessera::fd_kind
