#pragma once

#include <wayland-server-core.h>

#include <chrono>
#include <functional>
#include <memory>

namespace tessera {

// Runs a callback once, the next time the event loop is idle. Cancelled on destruction.
class IdleCall {
public:
    IdleCall() = default;
    ~IdleCall() { cancel(); }
    IdleCall(const IdleCall&) = delete;
    IdleCall& operator=(const IdleCall&) = delete;

    // Replaces a pending call.
    void schedule(wl_event_loop* loop, std::function<void()> callback);
    void cancel();
    [[nodiscard]] bool pending() const { return source_ != nullptr; }

private:
    static void dispatch(void* data);
    wl_event_source* source_ = nullptr;
    std::function<void()> callback_;
};

// A one-shot timer on the event loop; re-arm it from the callback for periodic work.
class Timer {
public:
    Timer(wl_event_loop* loop, std::function<void()> callback);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void arm(std::chrono::milliseconds delay);
    void disarm();
    [[nodiscard]] bool armed() const { return armed_; }

private:
    static int dispatch(void* data);
    wl_event_source* source_ = nullptr;
    std::function<void()> callback_;
    bool armed_ = false;
};

// Watches a file descriptor for readability/writability (WL_EVENT_READABLE, ...). The callback
// may destroy the watch.
class FdWatch {
public:
    using Callback = std::function<void(uint32_t mask)>;
    // Throws when the loop cannot watch the fd: for fds of tessera's own.
    FdWatch(wl_event_loop* loop, int fd, uint32_t mask, Callback callback);
    // Null when the loop cannot watch the fd (epoll refuses regular files, directories):
    // for fds a peer handed in.
    static std::unique_ptr<FdWatch> try_create(wl_event_loop* loop, int fd, uint32_t mask,
                                               Callback callback);
    ~FdWatch();
    FdWatch(const FdWatch&) = delete;
    FdWatch& operator=(const FdWatch&) = delete;

    void set_mask(uint32_t mask);

private:
    struct NoThrow {};
    FdWatch(NoThrow, wl_event_loop* loop, int fd, uint32_t mask, Callback callback);
    static int dispatch(int fd, uint32_t mask, void* data);
    wl_event_source* source_ = nullptr;
    Callback callback_;
};

// Handles a POSIX signal on the event loop (through signalfd), instead of in a signal handler.
class SignalWatch {
public:
    SignalWatch(wl_event_loop* loop, int signal, std::function<void()> callback);
    ~SignalWatch();
    SignalWatch(const SignalWatch&) = delete;
    SignalWatch& operator=(const SignalWatch&) = delete;

private:
    static int dispatch(int signal, void* data);
    wl_event_source* source_ = nullptr;
    std::function<void()> callback_;
};

} // namespace tessera
