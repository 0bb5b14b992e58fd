#include "keyboard.hpp"

#include "log_scopes.hpp"
#include "seat.hpp"
#include "server.hpp"

#include <memory>

namespace tessera::compositor {
namespace {

struct KeymapDeleter {
    void operator()(xkb_keymap* keymap) const { xkb_keymap_unref(keymap); }
};
struct ContextDeleter {
    void operator()(xkb_context* context) const { xkb_context_unref(context); }
};

const char* or_null(const std::string& text) {
    return text.empty() ? nullptr : text.c_str();
}

std::unique_ptr<xkb_keymap, KeymapDeleter> make_keymap(const KeymapOptions& options) {
    std::unique_ptr<xkb_context, ContextDeleter> context(xkb_context_new(XKB_CONTEXT_NO_FLAGS));
    if (!context) {
        return nullptr;
    }
    xkb_rule_names names{or_null(options.rules), or_null(options.model), or_null(options.layout),
                         or_null(options.variant), or_null(options.options)};
    std::unique_ptr<xkb_keymap, KeymapDeleter> keymap(
        xkb_keymap_new_from_names(context.get(), &names, XKB_KEYMAP_COMPILE_NO_FLAGS));
    if (!keymap) {
        log::error(input_log,
                   "cannot compile the keymap (layout '{}', variant '{}', options "
                   "'{}'); using the default one",
                   options.layout, options.variant, options.options);
        keymap.reset(
            xkb_keymap_new_from_names(context.get(), nullptr, XKB_KEYMAP_COMPILE_NO_FLAGS));
    }
    return keymap;
}

} // namespace

Keyboard::Keyboard(Seat& seat, wlr_keyboard* keyboard, bool own_keymap)
    : seat_(seat), keyboard_(keyboard) {
    if (!own_keymap) {
        if (auto keymap = make_keymap(seat.server().options().keymap)) {
            wlr_keyboard_set_keymap(keyboard, keymap.get());
        }
        wlr_keyboard_set_repeat_info(keyboard, 25, 600);
    }
    on_modifiers_.connect(&keyboard->events.modifiers, [this](void*) {
        if (seat_.text_input().grab_modifiers(keyboard_)) {
            return; // the input method composes with them
        }
        wlr_seat_set_keyboard(seat_.wlr(), keyboard_);
        wlr_seat_keyboard_notify_modifiers(seat_.wlr(), &keyboard_->modifiers);
    });
    on_key_.connect(&keyboard->events.key,
                    [this](wlr_keyboard_key_event* event) { handle_key(*event); });
    on_destroy_.connect(&keyboard->base.events.destroy,
                        [this](void*) { seat_.remove_keyboard(this); });
    wlr_seat_set_keyboard(seat.wlr(), keyboard);
}

bool Keyboard::handle_binding(xkb_keysym_t sym) {
    if (sym >= XKB_KEY_XF86Switch_VT_1 && sym <= XKB_KEY_XF86Switch_VT_12) {
        if (auto* session = seat_.server().session()) {
            wlr_session_change_vt(session, sym - XKB_KEY_XF86Switch_VT_1 + 1);
        }
        return true;
    }
    if (sym == XKB_KEY_Terminate_Server && !seat_.session_locked()) {
        log::info(input_log, "Terminate_Server pressed: shutting down");
        seat_.server().terminate();
        return true;
    }
    return false;
}

void Keyboard::handle_key(const wlr_keyboard_key_event& event) {
    seat_.notify_activity();
    // A client that inhibits shortcuts (a remote desktop, a VM viewer) gets them all itself.
    if (event.state == WL_KEYBOARD_KEY_STATE_PRESSED && keyboard_->xkb_state &&
        !seat_.shortcuts_inhibited()) {
        // libinput keycodes are evdev codes; xkb's are offset by 8.
        const xkb_keysym_t* syms = nullptr;
        int count = xkb_state_key_get_syms(keyboard_->xkb_state, event.keycode + 8, &syms);
        for (int i = 0; i < count; ++i) {
            if (handle_binding(syms[i])) {
                return;
            }
        }
    }
    wlr_seat_set_keyboard(seat_.wlr(), keyboard_);
    if (seat_.guest_input().key(event.keycode, event.state == WL_KEYBOARD_KEY_STATE_PRESSED)) {
        return; // a guest has the keyboard
    }
    if (seat_.text_input().grab_key(keyboard_, event.time_msec, event.keycode, event.state)) {
        return; // the input method composes text from it
    }
    wlr_seat_keyboard_notify_key(seat_.wlr(), event.time_msec, event.keycode, event.state);
}

} // namespace tessera::compositor
