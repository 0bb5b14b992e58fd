#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <memory>

namespace tessera::compositor {

class Server;

// drm-lease-v1 (DRM backend only): outputs that are not for the desktop (VR headsets, which
// the kernel marks non-desktop) are offered for lease instead of being shown; a client (a VR
// runtime) that asks gets the connector and CRTC for itself until it lets go.
class DrmLease {
public:
    // Null when the backend has no DRM device (headless, nested): no global then.
    static std::unique_ptr<DrmLease> create(Server& server);
    DrmLease(const DrmLease&) = delete;
    DrmLease& operator=(const DrmLease&) = delete;

    // Offers a non-desktop output; false when it cannot be leased.
    bool offer(wlr_output* output);

private:
    DrmLease(Server& server, wlr_drm_lease_v1_manager* manager);
    void request(wlr_drm_lease_request_v1* request);

    Server& server_;
    wlr_drm_lease_v1_manager* manager_;
    Listener<wlr_drm_lease_request_v1> on_request_;
};

} // namespace tessera::compositor
