#include "security_context.hpp"

#include "log_scopes.hpp"

#include <algorithm>
#include <array>

namespace tessera::compositor {
namespace {

// By interface name, so that a global added later is covered wherever it is created.
constexpr std::array<std::string_view, 20> privileged{
    // the screen's pixels
    "zwlr_screencopy_manager_v1",
    "zwlr_export_dmabuf_manager_v1",
    "ext_image_copy_capture_manager_v1",
    // input on behalf of the user, and what the user types elsewhere
    "zwp_virtual_keyboard_manager_v1",
    "zwlr_virtual_pointer_manager_v1",
    "zwp_input_method_manager_v2",
    "zwp_keyboard_shortcuts_inhibit_manager_v1",
    "zwlr_data_control_manager_v1",
    "ext_idle_notifier_v1",
    // outputs and the session
    "zwlr_output_manager_v1",
    "zwlr_output_power_manager_v1",
    "zwlr_gamma_control_manager_v1",
    "wp_drm_lease_device_v1",
    "ext_session_lock_manager_v1",
    // surfaces above or beside other clients', and other clients' windows
    "zwlr_layer_shell_v1",
    "ivi_application",
    "ext_foreign_toplevel_list_v1",
    "zwlr_foreign_toplevel_manager_v1",
    // no nesting of sandboxes, no new seats
    "wp_security_context_manager_v1",
    "ext_transient_seat_manager_v1",
};

} // namespace

std::span<const std::string_view> privileged_interfaces() {
    return privileged;
}

bool is_privileged_interface(std::string_view interface) {
    return std::ranges::find(privileged, interface) != privileged.end();
}

SecurityContext::SecurityContext(wl_display* display)
    : manager_(wlr_security_context_manager_v1_create(display)) {
    wl_display_set_global_filter(display, &SecurityContext::filter, this);
}

bool SecurityContext::sandboxed(const wl_client* client) const {
    // wlroots takes a non-const client but only looks it up.
    return wlr_security_context_manager_v1_lookup_client(manager_, const_cast<wl_client*>(client));
}

bool SecurityContext::filter(const wl_client* client, const wl_global* global, void* data) {
    auto* self = static_cast<SecurityContext*>(data);
    if (!self->manager_ || !self->sandboxed(client)) {
        return true;
    }
    return !is_privileged_interface(wl_global_get_interface(global)->name);
}

} // namespace tessera::compositor
