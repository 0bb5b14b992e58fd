#include "log_scopes.hpp"
#include "wlr.hpp"

#include <cstdio>
#include <string>

namespace tessera::compositor {
namespace {

log::Level to_level(wlr_log_importance importance) {
    switch (importance) {
    case WLR_ERROR:
        return log::Level::error;
    case WLR_INFO:
        return log::Level::info;
    case WLR_DEBUG:
        return log::Level::debug;
    default:
        return log::Level::silent;
    }
}

wlr_log_importance to_importance(log::Level level) {
    if (level >= log::Level::debug) {
        return WLR_DEBUG;
    }
    if (level >= log::Level::info) {
        return WLR_INFO;
    }
    if (level >= log::Level::error) {
        return WLR_ERROR;
    }
    return WLR_SILENT;
}

void forward(wlr_log_importance importance, const char* fmt, va_list args) {
    auto level = to_level(importance);
    if (!wlroots_log.enabled(level)) {
        return;
    }
    char buffer[1024];
    int n = std::vsnprintf(buffer, sizeof(buffer), fmt, args);
    if (n < 0) {
        return;
    }
    log::write(wlroots_log, level,
               std::string_view(buffer, std::min<size_t>(n, sizeof(buffer) - 1)));
}

} // namespace

void route_wlroots_log() {
    // wlroots filters before formatting, so give it the scope's level; the callback filters
    // again in case the level changed since.
    wlr_log_init(to_importance(wlroots_log.level()), &forward);
}

} // namespace tessera::compositor
