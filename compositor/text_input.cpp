#include "text_input.hpp"

#include "log_scopes.hpp"
#include "server.hpp"
#include "toplevel.hpp"

namespace tessera::compositor {

namespace {

bool same_client(wl_resource* a, wl_resource* b) {
    return a && b && wl_resource_get_client(a) == wl_resource_get_client(b);
}

} // namespace

TextInputRelay::TextInputRelay(Server& server, wlr_seat* seat)
    : server_(server), seat_(seat),
      text_inputs_manager_(wlr_text_input_manager_v3_create(server.display())),
      input_methods_manager_(wlr_input_method_manager_v2_create(server.display())) {
    on_new_text_input_.connect(&text_inputs_manager_->events.text_input,
                               [this](wlr_text_input_v3* ti) { add_text_input(ti); });
    on_new_input_method_.connect(&input_methods_manager_->events.input_method,
                                 [this](wlr_input_method_v2* im) { add_input_method(im); });
}

wlr_text_input_v3* TextInputRelay::active() const {
    auto* focus = seat_->keyboard_state.focused_surface;
    for (const auto& [ti, _] : text_inputs_) {
        if (ti->current_enabled && focus && ti->focused_surface == focus) {
            return ti;
        }
    }
    return nullptr;
}

void TextInputRelay::focus_changed(wlr_surface* surface) {
    for (const auto& [ti, _] : text_inputs_) {
        if (ti->focused_surface == surface) {
            continue;
        }
        if (ti->focused_surface) {
            if (ti->current_enabled && input_method_) {
                wlr_input_method_v2_send_deactivate(input_method_);
                wlr_input_method_v2_send_done(input_method_);
            }
            wlr_text_input_v3_send_leave(ti);
        }
        if (surface && same_client(ti->resource, surface->resource)) {
            wlr_text_input_v3_send_enter(ti, surface);
        }
    }
    place_popups();
}

void TextInputRelay::add_text_input(wlr_text_input_v3* ti) {
    auto& entry = *(text_inputs_[ti] = std::make_unique<TextInput>());
    entry.on_enable.connect(&ti->events.enable, [this, ti](void*) {
        if (ti == active() && input_method_) {
            wlr_input_method_v2_send_activate(input_method_);
            send_state(ti);
        }
    });
    entry.on_commit.connect(&ti->events.commit, [this, ti](void*) {
        if (ti == active() && input_method_) {
            send_state(ti);
            place_popups();
        }
    });
    entry.on_disable.connect(&ti->events.disable, [this, ti](void*) {
        if (input_method_ && ti->focused_surface &&
            ti->focused_surface == seat_->keyboard_state.focused_surface) {
            wlr_input_method_v2_send_deactivate(input_method_);
            wlr_input_method_v2_send_done(input_method_);
        }
    });
    entry.on_destroy.connect(&ti->events.destroy, [this, ti](void*) {
        TextInputRelay* self = this; // erasing destroys this lambda
        self->remove_text_input(ti);
    });
    if (ti->seat != seat_) {
        return; // another seat's (tessera has one)
    }
    auto* focus = seat_->keyboard_state.focused_surface;
    if (focus && same_client(ti->resource, focus->resource)) {
        wlr_text_input_v3_send_enter(ti, focus);
    }
}

void TextInputRelay::remove_text_input(wlr_text_input_v3* ti) {
    if (ti == active() && input_method_) {
        wlr_input_method_v2_send_deactivate(input_method_);
        wlr_input_method_v2_send_done(input_method_);
    }
    text_inputs_.erase(ti);
    place_popups();
}

void TextInputRelay::send_state(wlr_text_input_v3* ti) {
    if (ti->active_features & WLR_TEXT_INPUT_V3_FEATURE_SURROUNDING_TEXT) {
        const auto& surrounding = ti->current.surrounding;
        wlr_input_method_v2_send_surrounding_text(input_method_,
                                                  surrounding.text ? surrounding.text : "",
                                                  surrounding.cursor, surrounding.anchor);
    }
    wlr_input_method_v2_send_text_change_cause(input_method_, ti->current.text_change_cause);
    if (ti->active_features & WLR_TEXT_INPUT_V3_FEATURE_CONTENT_TYPE) {
        wlr_input_method_v2_send_content_type(input_method_, ti->current.content_type.hint,
                                              ti->current.content_type.purpose);
    }
    wlr_input_method_v2_send_done(input_method_);
}

void TextInputRelay::add_input_method(wlr_input_method_v2* im) {
    if (input_method_) {
        log::info(input_log, "a second input method: told it is unavailable");
        wlr_input_method_v2_send_unavailable(im);
        return;
    }
    input_method_ = im;
    log::info(input_log, "input method connected");
    on_input_method_commit_.connect(&im->events.commit, [this](void*) { input_method_commit(); });
    on_grab_.connect(&im->events.grab_keyboard, [this](wlr_input_method_keyboard_grab_v2* grab) {
        grab_ = grab;
        if (auto* keyboard = wlr_seat_get_keyboard(seat_)) {
            wlr_input_method_keyboard_grab_v2_set_keyboard(grab, keyboard);
        }
        on_grab_destroy_.connect(&grab->events.destroy, [this](void*) {
            grab_ = nullptr;
            on_grab_destroy_.disconnect();
            // The window gets the modifiers as they are now.
            if (auto* keyboard = wlr_seat_get_keyboard(seat_)) {
                wlr_seat_keyboard_notify_modifiers(seat_, &keyboard->modifiers);
            }
        });
    });
    on_new_popup_.connect(&im->events.new_popup_surface,
                          [this](wlr_input_popup_surface_v2* popup) { add_popup(popup); });
    on_input_method_destroy_.connect(&im->events.destroy, [this](void*) {
        log::info(input_log, "input method gone");
        input_method_ = nullptr;
        grab_ = nullptr;
        on_grab_destroy_.disconnect();
        on_input_method_commit_.disconnect();
        on_grab_.disconnect();
        on_new_popup_.disconnect();
        on_input_method_destroy_.disconnect();
        if (auto* ti = active()) { // its composition is gone with it
            wlr_text_input_v3_send_preedit_string(ti, nullptr, 0, 0);
            wlr_text_input_v3_send_done(ti);
        }
    });
    if (auto* ti = active()) {
        wlr_input_method_v2_send_activate(im);
        send_state(ti);
    }
}

void TextInputRelay::input_method_commit() {
    auto* ti = active();
    if (!ti || !input_method_) {
        return;
    }
    const auto& state = input_method_->current;
    if (state.preedit.text) {
        wlr_text_input_v3_send_preedit_string(ti, state.preedit.text, state.preedit.cursor_begin,
                                              state.preedit.cursor_end);
    }
    if (state.commit_text) {
        wlr_text_input_v3_send_commit_string(ti, state.commit_text);
    }
    if (state.delete_.before_length || state.delete_.after_length) {
        wlr_text_input_v3_send_delete_surrounding_text(ti, state.delete_.before_length,
                                                       state.delete_.after_length);
    }
    wlr_text_input_v3_send_done(ti);
}

void TextInputRelay::add_popup(wlr_input_popup_surface_v2* popup) {
    auto& entry = *(popups_[popup] = std::make_unique<Popup>());
    entry.tree = wlr_scene_subsurface_tree_create(server_.layers().overlay, popup->surface);
    if (!entry.tree) {
        popups_.erase(popup);
        return;
    }
    entry.on_tree_destroy.connect(&entry.tree->node.events.destroy,
                                  [&entry](void*) { entry.tree = nullptr; });
    entry.on_commit.connect(&popup->surface->events.commit, [this](void*) { place_popups(); });
    entry.on_destroy.connect(&popup->events.destroy, [this, popup](void*) {
        TextInputRelay* self = this; // erasing destroys this lambda
        auto it = self->popups_.find(popup);
        if (it->second->tree) {
            it->second->on_tree_destroy.disconnect();
            wlr_scene_node_destroy(&it->second->tree->node);
        }
        self->popups_.erase(it);
    });
    place_popups();
}

void TextInputRelay::place_popups() {
    auto* ti = active();
    // The field's window, and the scene buffer that shows its surface: free, or placed by a
    // zone (cropped to the window's geometry, maybe scaled).
    const Toplevel* window =
        ti ? Toplevel::from_surface(wlr_surface_get_root_surface(ti->focused_surface)) : nullptr;
    wlr_scene_buffer* shown = window && window->mapped() ? window->main_buffer() : nullptr;
    for (auto& [popup, entry] : popups_) {
        if (!entry->tree) {
            continue;
        }
        wlr_scene_node_set_enabled(&entry->tree->node, shown != nullptr);
        if (!shown) {
            continue;
        }
        // The field's cursor rectangle from surface to layout coordinates, through the part of
        // the surface the buffer shows and the size it shows it at.
        wlr_box cursor = ti->current.cursor_rectangle;
        int bx = 0, by = 0;
        wlr_scene_node_coords(&shown->node, &bx, &by);
        const wlr_fbox& source = shown->src_box;
        bool cropped = !wlr_fbox_empty(&source);
        double scale_x = cropped && shown->dst_width > 0 ? shown->dst_width / source.width : 1;
        double scale_y = cropped && shown->dst_height > 0 ? shown->dst_height / source.height : 1;
        int x = bx + static_cast<int>((cursor.x - (cropped ? source.x : 0)) * scale_x);
        int y =
            by + static_cast<int>((cursor.y + cursor.height - (cropped ? source.y : 0)) * scale_y);
        wlr_scene_node_set_position(&entry->tree->node, x, y);
        // The field's cursor rectangle as the popup sees it: just above its top-left corner.
        wlr_box relative{0, -cursor.height, cursor.width, cursor.height};
        wlr_input_popup_surface_v2_send_text_input_rectangle(popup, &relative);
    }
}

bool TextInputRelay::from_input_method(wlr_keyboard* keyboard) const {
    auto* virtual_keyboard = wlr_input_device_get_virtual_keyboard(&keyboard->base);
    return virtual_keyboard && grab_ && same_client(virtual_keyboard->resource, grab_->resource);
}

bool TextInputRelay::grab_key(wlr_keyboard* keyboard, uint32_t time_msec, uint32_t keycode,
                              uint32_t state) {
    if (!grab_ || from_input_method(keyboard)) {
        return false;
    }
    wlr_input_method_keyboard_grab_v2_set_keyboard(grab_, keyboard);
    wlr_input_method_keyboard_grab_v2_send_key(grab_, time_msec, keycode, state);
    return true;
}

bool TextInputRelay::grab_modifiers(wlr_keyboard* keyboard) {
    if (!grab_ || from_input_method(keyboard)) {
        return false;
    }
    wlr_input_method_keyboard_grab_v2_set_keyboard(grab_, keyboard);
    wlr_input_method_keyboard_grab_v2_send_modifiers(grab_, &keyboard->modifiers);
    return true;
}

} // namespace tessera::compositor
