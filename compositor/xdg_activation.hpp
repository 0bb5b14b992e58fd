#pragma once

#include "listener.hpp"
#include "wlr.hpp"

namespace tessera::compositor {

class Server;

// xdg-activation-v1: a client hands focus to another window (a launcher to the program it
// started, a chat link to the browser) with a token. wlroots only gives a token a seat when it
// was asked for with the serial of a real input event on a focused surface; only such a token
// activates (raises and focuses) a window. A token without one would let any client steal the
// keyboard, so it is refused and said in the log.
class XdgActivation {
public:
    explicit XdgActivation(Server& server);
    XdgActivation(const XdgActivation&) = delete;
    XdgActivation& operator=(const XdgActivation&) = delete;

    [[nodiscard]] uint64_t activated() const { return activated_; }
    [[nodiscard]] uint64_t refused() const { return refused_; }

private:
    void request_activate(const wlr_xdg_activation_v1_request_activate_event& event);

    Server& server_;
    wlr_xdg_activation_v1* activation_;
    Listener<wlr_xdg_activation_v1_request_activate_event> on_request_activate_;
    uint64_t activated_ = 0;
    uint64_t refused_ = 0;
};

} // namespace tessera::compositor
