#pragma once

#include <wayland-server-core.h>

#include <functional>
#include <utility>

namespace tessera {

// A wl_listener as a member: connects to a wl_signal, disconnects in its destructor, can be
// neither copied nor moved (the signal holds its address). The callback may destroy the object
// that owns the listener, as destroy handlers do, as long as it touches nothing afterwards.
template <typename Data = void> class Listener {
public:
    using Callback = std::function<void(Data*)>;

    Listener() {
        hook_.listener.notify = &Listener::notify;
        wl_list_init(&hook_.listener.link);
        hook_.owner = this;
    }
    ~Listener() { disconnect(); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Replaces any previous connection.
    void connect(wl_signal* signal, Callback callback) {
        disconnect();
        callback_ = std::move(callback);
        wl_signal_add(signal, &hook_.listener);
    }

    void disconnect() {
        wl_list_remove(&hook_.listener.link);
        wl_list_init(&hook_.listener.link);
    }

    [[nodiscard]] bool connected() const { return !wl_list_empty(&hook_.listener.link); }

private:
    // wl_listener first, so the notify pointer converts back to the hook.
    struct Hook {
        wl_listener listener;
        Listener* owner;
    };
    static_assert(std::is_standard_layout_v<Hook>);

    static void notify(wl_listener* listener, void* data) {
        auto* hook = reinterpret_cast<Hook*>(listener);
        hook->owner->callback_(static_cast<Data*>(data));
    }

    Hook hook_{};
    Callback callback_;
};

} // namespace tessera
