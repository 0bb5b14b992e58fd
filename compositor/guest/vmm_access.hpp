#pragma once

#include "ivi/layout.hpp"

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

// Who may connect to a guest's socket. The socket's mode and group only decide who can reach
// it; this decides, on the kernel's record of the peer (SO_PEERCRED, SO_PEERGROUPS: taken when
// it connected, not claimed by it), whether a connection becomes the guest's VMM.
namespace tessera::compositor {

struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups; // supplementary
};

// The credentials of a connected unix socket's peer.
std::expected<PeerCredentials, std::string> peer_credentials(int socket);

class VmmAccess {
public:
    // `owner`: tessera's own user, who may always connect (as root may).
    VmmAccess(uid_t owner, const ivi::GuestSpec& spec);

    [[nodiscard]] bool allows(const PeerCredentials& peer) const;
    // For the log: who is let in ("uid 1000, root, users 64055, group 994").
    [[nodiscard]] std::string describe() const;

private:
    uid_t owner_;
    std::vector<uint32_t> users_;
    std::optional<uint32_t> group_;
};

} // namespace tessera::compositor
