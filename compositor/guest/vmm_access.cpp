#include "vmm_access.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <format>

namespace tessera::compositor {

namespace {

// More than any real process has (Linux's NGROUPS_MAX is 65536): a peer cannot make tessera
// allocate without bound.
constexpr size_t max_peer_groups = 65536;

std::expected<std::vector<gid_t>, std::string> peer_groups(int socket) {
    std::vector<gid_t> groups(64);
    for (;;) {
        auto length = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (getsockopt(socket, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) == 0) {
            groups.resize(length / sizeof(gid_t));
            return groups;
        }
        size_t needed = length / sizeof(gid_t);
        if (errno != ERANGE || needed <= groups.size() || needed > max_peer_groups) {
            return std::unexpected(std::format("SO_PEERGROUPS: {}", std::strerror(errno)));
        }
        groups.resize(needed);
    }
}

} // namespace

std::expected<PeerCredentials, std::string> peer_credentials(int socket) {
    ucred credentials{};
    socklen_t length = sizeof(credentials);
    if (getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0 ||
        length != sizeof(credentials)) {
        return std::unexpected(std::format("SO_PEERCRED: {}", std::strerror(errno)));
    }
    auto groups = peer_groups(socket);
    if (!groups) {
        return std::unexpected(groups.error());
    }
    return PeerCredentials{credentials.pid, credentials.uid, credentials.gid, std::move(*groups)};
}

VmmAccess::VmmAccess(uid_t owner, const ivi::GuestSpec& spec)
    : owner_(owner), users_(spec.allow_users), group_(spec.socket_group) {}

bool VmmAccess::allows(const PeerCredentials& peer) const {
    if (peer.uid == owner_ || peer.uid == 0 || std::ranges::contains(users_, peer.uid)) {
        return true;
    }
    return group_ && (peer.gid == *group_ || std::ranges::contains(peer.groups, *group_));
}

std::string VmmAccess::describe() const {
    auto text = owner_ == 0 ? std::string("root") : std::format("uid {}, root", owner_);
    for (auto user : users_) {
        text += std::format(", uid {}", user);
    }
    if (group_) {
        text += std::format(", group {}", *group_);
    }
    return text;
}

} // namespace tessera::compositor
