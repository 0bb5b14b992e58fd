#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <map>
#include <memory>

namespace tessera::compositor {

class Server;

// ext-idle-notify-v1 and idle-inhibit-unstable-v1: idle daemons (swayidle) learn when the user
// has not touched any input for their timeout. Every input event of the seat is activity; a
// mapped surface with an idle inhibitor (a video player) holds idleness off, and while the
// session is locked only the locker's surfaces can.
class Idle {
public:
    explicit Idle(Server& server);
    ~Idle();
    Idle(const Idle&) = delete;
    Idle& operator=(const Idle&) = delete;

    // The user did something on the seat.
    void activity();
    // Mapped surfaces, or the session lock, changed: whether idleness is inhibited may have.
    void update_inhibited();

    [[nodiscard]] bool inhibited() const { return inhibited_; }
    [[nodiscard]] size_t inhibitors() const { return inhibitors_.size(); }

private:
    struct Inhibitor;

    Server& server_;
    wlr_idle_notifier_v1* notifier_;
    wlr_idle_inhibit_manager_v1* inhibit_manager_;
    std::map<wlr_idle_inhibitor_v1*, std::unique_ptr<Inhibitor>> inhibitors_;
    bool inhibited_ = false;

    Listener<wlr_idle_inhibitor_v1> on_new_inhibitor_;
};

} // namespace tessera::compositor
