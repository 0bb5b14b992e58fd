#include "drm_lease.hpp"

#include "log_scopes.hpp"
#include "server.hpp"

#include <string>

namespace tessera::compositor {

std::unique_ptr<DrmLease> DrmLease::create(Server& server) {
    auto* manager = wlr_drm_lease_v1_manager_create(server.display(), server.backend());
    if (!manager) {
        log::info(comp_log, "drm-lease not offered: no DRM device");
        return nullptr;
    }
    return std::unique_ptr<DrmLease>(new DrmLease(server, manager));
}

DrmLease::DrmLease(Server& server, wlr_drm_lease_v1_manager* manager)
    : server_(server), manager_(manager) {
    on_request_.connect(&manager_->events.request,
                        [this](wlr_drm_lease_request_v1* request) { this->request(request); });
}

bool DrmLease::offer(wlr_output* output) {
    bool ok = wlr_drm_lease_v1_manager_offer_output(manager_, output);
    log::info(comp_log, "output {}: non-desktop, {}", output->name,
              ok ? "offered for lease" : "cannot be leased");
    return ok;
}

void DrmLease::request(wlr_drm_lease_request_v1* request) {
    std::string names;
    for (size_t i = 0; i < request->n_connectors; ++i) {
        names += std::string(names.empty() ? "" : ", ") + request->connectors[i]->output->name;
    }
    if (!wlr_drm_lease_request_v1_grant(request)) {
        log::warn(comp_log, "lease of {} refused by the DRM device", names);
        wlr_drm_lease_request_v1_reject(request);
        return;
    }
    log::info(comp_log, "leased {}", names);
    server_.health().publish("output-leased", {{"outputs", names}});
}

} // namespace tessera::compositor
