#pragma once

#include "listener.hpp"
#include "wlr.hpp"

namespace tessera::compositor {

class Seat;

// One keyboard device: keymap, repeat, modifiers, and the compositor's own key bindings
// (VT switching, Terminate_Server when the keymap has it).
class Keyboard {
public:
    // `own_keymap`: the device brings its keymap (virtual keyboards) and keeps it.
    Keyboard(Seat& seat, wlr_keyboard* keyboard, bool own_keymap);
    Keyboard(const Keyboard&) = delete;
    Keyboard& operator=(const Keyboard&) = delete;

    [[nodiscard]] wlr_keyboard* wlr() const { return keyboard_; }

private:
    bool handle_binding(xkb_keysym_t sym);
    void handle_key(const wlr_keyboard_key_event& event);

    Seat& seat_;
    wlr_keyboard* keyboard_;
    Listener<void> on_modifiers_;
    Listener<wlr_keyboard_key_event> on_key_;
    Listener<void> on_destroy_;
};

} // namespace tessera::compositor
