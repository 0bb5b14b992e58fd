#include "idle.hpp"

#include "log_scopes.hpp"
#include "seat.hpp"
#include "server.hpp"
#include "session_lock.hpp"

namespace tessera::compositor {

struct Idle::Inhibitor {
    Listener<void> on_map;
    Listener<void> on_unmap;
    Listener<void> on_destroy;
};

Idle::Idle(Server& server)
    : server_(server), notifier_(wlr_idle_notifier_v1_create(server.display())),
      inhibit_manager_(wlr_idle_inhibit_v1_create(server.display())) {
    on_new_inhibitor_.connect(
        &inhibit_manager_->events.new_inhibitor, [this](wlr_idle_inhibitor_v1* inhibitor) {
            auto& watch = *(inhibitors_[inhibitor] = std::make_unique<Inhibitor>());
            watch.on_map.connect(&inhibitor->surface->events.map,
                                 [this](void*) { update_inhibited(); });
            watch.on_unmap.connect(&inhibitor->surface->events.unmap,
                                   [this](void*) { update_inhibited(); });
            watch.on_destroy.connect(&inhibitor->events.destroy, [this, inhibitor](void*) {
                Idle* self = this; // erasing destroys this lambda with its captures
                self->inhibitors_.erase(inhibitor);
                self->update_inhibited();
            });
            update_inhibited();
        });
}

Idle::~Idle() {
    inhibitors_.clear();
}

void Idle::activity() {
    wlr_idle_notifier_v1_notify_activity(notifier_, server_.seat().wlr());
}

void Idle::update_inhibited() {
    auto* lock = server_.session_lock();
    bool locked = lock && lock->locked();
    bool inhibited = false;
    for (const auto& [inhibitor, watch] : inhibitors_) {
        auto* surface = inhibitor->surface;
        if (surface->mapped && (!locked || lock->is_lock_surface(surface))) {
            inhibited = true;
            break;
        }
    }
    if (inhibited != inhibited_) {
        inhibited_ = inhibited;
        log::info(session_log, "idleness {}", inhibited ? "inhibited" : "no longer inhibited");
        wlr_idle_notifier_v1_set_inhibited(notifier_, inhibited);
    }
}

} // namespace tessera::compositor
