#include "event_loop.hpp"

#include <algorithm>
#include <stdexcept>

namespace tessera {

void IdleCall::schedule(wl_event_loop* loop, std::function<void()> callback) {
    cancel();
    callback_ = std::move(callback);
    source_ = wl_event_loop_add_idle(loop, &IdleCall::dispatch, this);
}

void IdleCall::cancel() {
    if (source_) {
        wl_event_source_remove(source_);
        source_ = nullptr;
    }
}

void IdleCall::dispatch(void* data) {
    auto* self = static_cast<IdleCall*>(data);
    // The idle source is freed by the loop after this call; forget it first so that the
    // callback may schedule again or destroy this object.
    self->source_ = nullptr;
    auto callback = std::move(self->callback_);
    callback();
}

Timer::Timer(wl_event_loop* loop, std::function<void()> callback)
    : source_(wl_event_loop_add_timer(loop, &Timer::dispatch, this)),
      callback_(std::move(callback)) {
    if (!source_) {
        throw std::runtime_error("cannot create an event loop timer");
    }
}

Timer::~Timer() {
    wl_event_source_remove(source_);
}

void Timer::arm(std::chrono::milliseconds delay) {
    // 0 would disarm a timerfd; the shortest real delay is 1 ms.
    auto ms = static_cast<int>(std::max<std::chrono::milliseconds::rep>(delay.count(), 1));
    wl_event_source_timer_update(source_, ms);
    armed_ = true;
}

void Timer::disarm() {
    wl_event_source_timer_update(source_, 0);
    armed_ = false;
}

int Timer::dispatch(void* data) {
    auto* self = static_cast<Timer*>(data);
    self->armed_ = false;
    self->callback_();
    return 0;
}

FdWatch::FdWatch(wl_event_loop* loop, int fd, uint32_t mask, Callback callback)
    : FdWatch(NoThrow{}, loop, fd, mask, std::move(callback)) {
    if (!source_) {
        throw std::runtime_error("cannot watch a file descriptor on the event loop");
    }
}

FdWatch::FdWatch(NoThrow, wl_event_loop* loop, int fd, uint32_t mask, Callback callback)
    : source_(wl_event_loop_add_fd(loop, fd, mask, &FdWatch::dispatch, this)),
      callback_(std::move(callback)) {}

std::unique_ptr<FdWatch> FdWatch::try_create(wl_event_loop* loop, int fd, uint32_t mask,
                                             Callback callback) {
    std::unique_ptr<FdWatch> watch(new FdWatch(NoThrow{}, loop, fd, mask, std::move(callback)));
    return watch->source_ ? std::move(watch) : nullptr;
}

FdWatch::~FdWatch() {
    if (source_) {
        wl_event_source_remove(source_);
    }
}

void FdWatch::set_mask(uint32_t mask) {
    wl_event_source_fd_update(source_, mask);
}

int FdWatch::dispatch(int fd, uint32_t mask, void* data) {
    // A copy: the callback may destroy this watch (wayland then skips its pending events).
    Callback callback = static_cast<FdWatch*>(data)->callback_;
    callback(mask);
    return 0;
}

SignalWatch::SignalWatch(wl_event_loop* loop, int signal, std::function<void()> callback)
    : source_(wl_event_loop_add_signal(loop, signal, &SignalWatch::dispatch, this)),
      callback_(std::move(callback)) {
    if (!source_) {
        throw std::runtime_error("cannot watch a signal on the event loop");
    }
}

SignalWatch::~SignalWatch() {
    wl_event_source_remove(source_);
}

int SignalWatch::dispatch(int, void* data) {
    static_cast<SignalWatch*>(data)->callback_();
    return 0;
}

} // namespace tessera
