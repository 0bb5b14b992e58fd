#include "zone_content.hpp"

namespace tessera::compositor {

namespace {
constexpr auto fps_window = std::chrono::seconds(1);
}

uint64_t ZoneContent::next_id() {
    static uint64_t counter = 0;
    return ++counter;
}

void ZoneContent::count_frame() {
    ++frames_;
    auto now = std::chrono::steady_clock::now();
    recent_frames_.push_back(now);
    while (!recent_frames_.empty() && now - recent_frames_.front() > fps_window) {
        recent_frames_.pop_front();
    }
}

double ZoneContent::fps() const {
    auto now = std::chrono::steady_clock::now();
    size_t count = 0;
    for (auto it = recent_frames_.rbegin(); it != recent_frames_.rend(); ++it) {
        if (now - *it > fps_window) {
            break;
        }
        ++count;
    }
    return static_cast<double>(count);
}

} // namespace tessera::compositor
