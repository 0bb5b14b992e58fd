#pragma once

#include "listener.hpp"
#include "wlr.hpp"

#include <map>
#include <memory>

namespace tessera::compositor {

class Server;

// text-input-v3 and input-method-v2: an input method (fcitx5, an on-screen keyboard) composes
// text for the text field of the window with the keyboard. A text input enters the surface
// with the keyboard focus when it belongs to its client; while one is enabled there, the input
// method is active and learns the field's state (surrounding text, content type), and what it
// commits (preedit, text, deletions) goes to that field. While it grabs the keyboard, keys go
// to it instead of the window (except those it types itself through a virtual keyboard). Its
// popups (candidate lists) show under the field's cursor rectangle. One input method at a time;
// a second is told it is unavailable.
class TextInputRelay {
public:
    TextInputRelay(Server& server, wlr_seat* seat);
    TextInputRelay(const TextInputRelay&) = delete;
    TextInputRelay& operator=(const TextInputRelay&) = delete;

    // The keyboard focus is now `surface` (null: none).
    void focus_changed(wlr_surface* surface);
    // Whether the input method takes this key event (it grabs the keyboard); `keyboard` is the
    // device it came from.
    bool grab_key(wlr_keyboard* keyboard, uint32_t time_msec, uint32_t keycode, uint32_t state);
    bool grab_modifiers(wlr_keyboard* keyboard);

private:
    struct TextInput {
        Listener<void> on_enable, on_commit, on_disable, on_destroy;
    };
    struct Popup {
        wlr_scene_tree* tree = nullptr;
        Listener<void> on_commit, on_destroy, on_tree_destroy;
    };

    void add_text_input(wlr_text_input_v3* text_input);
    void remove_text_input(wlr_text_input_v3* text_input);
    void add_input_method(wlr_input_method_v2* input_method);
    void input_method_commit();
    void add_popup(wlr_input_popup_surface_v2* popup);
    // The enabled text input on the keyboard's surface, if any.
    [[nodiscard]] wlr_text_input_v3* active() const;
    // Tells the input method the field's state and closes it with `done`.
    void send_state(wlr_text_input_v3* text_input);
    // Places the popups under the active field's cursor rectangle.
    void place_popups();
    [[nodiscard]] bool from_input_method(wlr_keyboard* keyboard) const;

    Server& server_;
    wlr_seat* seat_;
    wlr_text_input_manager_v3* text_inputs_manager_;
    wlr_input_method_manager_v2* input_methods_manager_;
    std::map<wlr_text_input_v3*, std::unique_ptr<TextInput>> text_inputs_;
    wlr_input_method_v2* input_method_ = nullptr;
    wlr_input_method_keyboard_grab_v2* grab_ = nullptr;
    std::map<wlr_input_popup_surface_v2*, std::unique_ptr<Popup>> popups_;
    Listener<wlr_text_input_v3> on_new_text_input_;
    Listener<wlr_input_method_v2> on_new_input_method_;
    Listener<void> on_input_method_commit_;
    Listener<void> on_input_method_destroy_;
    Listener<wlr_input_method_keyboard_grab_v2> on_grab_;
    Listener<void> on_grab_destroy_;
    Listener<wlr_input_popup_surface_v2> on_new_popup_;
};

} // namespace tessera::compositor
