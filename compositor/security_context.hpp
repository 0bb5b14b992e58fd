#pragma once

#include "wlr.hpp"

#include <span>
#include <string_view>

namespace tessera::compositor {

// security-context-v1: a sandbox engine (Flatpak, say) opens a socket for the sandboxed app
// through a security context. Clients that connect through it do not see the privileged
// globals: those that read the screen, inject input, change outputs or the session, draw
// above other windows, or place surfaces in tessera's zones.
class SecurityContext {
public:
    explicit SecurityContext(wl_display* display);
    SecurityContext(const SecurityContext&) = delete;
    SecurityContext& operator=(const SecurityContext&) = delete;

    // Whether a client connected through a security context.
    [[nodiscard]] bool sandboxed(const wl_client* client) const;

private:
    static bool filter(const wl_client* client, const wl_global* global, void* data);

    wlr_security_context_manager_v1* manager_;
};

// Interface names of the globals a sandboxed client does not see.
std::span<const std::string_view> privileged_interfaces();
bool is_privileged_interface(std::string_view interface);

} // namespace tessera::compositor
