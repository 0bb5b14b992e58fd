#pragma once

#include <atomic>
#include <format>
#include <optional>
#include <string>
#include <string_view>

// Logging with one scope per subsystem ("comp", "wlr", "ivi", "gpu.vhost", ...), each with its
// own level, changeable at run time. Lines go to stderr as
//   [   12.345] comp    info  message
namespace tessera::log {

enum class Level { silent = 0, error, warn, info, debug, trace };

std::optional<Level> parse_level(std::string_view name);
std::string_view level_name(Level level);

class Scope {
public:
    explicit Scope(std::string_view name);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

    [[nodiscard]] std::string_view name() const { return name_; }
    [[nodiscard]] Level level() const { return level_.load(std::memory_order_relaxed); }
    [[nodiscard]] bool enabled(Level level) const { return level <= this->level(); }
    void set_level(Level level) { level_.store(level, std::memory_order_relaxed); }

private:
    std::string name_;
    std::atomic<Level> level_;
};

// Applies a level spec to all scopes, present and future: either one level for everything
// ("debug") or a comma-separated list of "scope=level" items where a scope may end in ".*"
// or be "*" ("info,gpu.*=debug,wlr=error"). Returns an error message for a bad spec and changes
// nothing then.
std::optional<std::string> configure(std::string_view spec);
// The rules in force as one spec (with its catch-all first), which configure() on a fresh
// process turns into the same levels: what a child process is started or updated with.
std::string current_spec();

// Where lines go; stderr by default. Tests capture them.
using Sink = void (*)(std::string_view line);
void set_sink(Sink sink);
// Put before every message: a guest's device process names its guest ("guest cluster: ").
void set_prefix(std::string prefix);
// Lines carry seconds since this CLOCK_MONOTONIC instant (ns), by default the process's start:
// a device process counts from the compositor's, so that their lines interleave in order.
uint64_t clock_origin_ns();
void set_clock_origin_ns(uint64_t origin);

void write(const Scope& scope, Level level, std::string_view message);

template <typename... Args>
void emit(const Scope& scope, Level level, std::format_string<Args...> fmt, Args&&... args) {
    if (scope.enabled(level)) {
        write(scope, level, std::format(fmt, std::forward<Args>(args)...));
    }
}

template <typename... Args>
void error(const Scope& s, std::format_string<Args...> fmt, Args&&... args) {
    emit(s, Level::error, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(const Scope& s, std::format_string<Args...> fmt, Args&&... args) {
    emit(s, Level::warn, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void info(const Scope& s, std::format_string<Args...> fmt, Args&&... args) {
    emit(s, Level::info, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void debug(const Scope& s, std::format_string<Args...> fmt, Args&&... args) {
    emit(s, Level::debug, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void trace(const Scope& s, std::format_string<Args...> fmt, Args&&... args) {
    emit(s, Level::trace, fmt, std::forward<Args>(args)...);
}

} // namespace tessera::log
