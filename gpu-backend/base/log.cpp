#include "log.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <mutex>
#include <ranges>
#include <vector>

namespace tessera::log {
namespace {

struct Rule {
    std::string pattern; // "*", "name" or "prefix.*"
    Level level;
};

struct Registry {
    std::mutex mutex;
    std::vector<Scope*> scopes;
    std::vector<Rule> rules{{"*", Level::info}};
    Sink sink = nullptr;
    std::string prefix;
    timespec start{};

    Registry() { clock_gettime(CLOCK_MONOTONIC, &start); }
};

Registry& registry() {
    static Registry instance;
    return instance;
}

bool matches(std::string_view pattern, std::string_view name) {
    if (pattern == "*") {
        return true;
    }
    if (pattern.ends_with(".*")) {
        auto prefix = pattern.substr(0, pattern.size() - 2);
        return name == prefix || (name.starts_with(prefix) && name.size() > prefix.size() &&
                                  name[prefix.size()] == '.');
    }
    return pattern == name;
}

Level level_for(const std::vector<Rule>& rules, std::string_view name) {
    Level level = Level::info;
    for (const auto& rule : rules) {
        if (matches(rule.pattern, name)) {
            level = rule.level;
        }
    }
    return level;
}

constexpr std::array level_names{"silent", "error", "warn", "info", "debug", "trace"};

} // namespace

std::optional<Level> parse_level(std::string_view name) {
    for (size_t i = 0; i < level_names.size(); ++i) {
        if (name == level_names[i]) {
            return static_cast<Level>(i);
        }
    }
    if (name == "warning") {
        return Level::warn;
    }
    return std::nullopt;
}

std::string_view level_name(Level level) {
    auto index = static_cast<size_t>(level);
    return index < level_names.size() ? level_names[index] : "?";
}

Scope::Scope(std::string_view name) : name_(name), level_(Level::info) {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    level_.store(level_for(reg.rules, name_));
    reg.scopes.push_back(this);
}

Scope::~Scope() {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    std::erase(reg.scopes, this);
}

std::optional<std::string> configure(std::string_view spec) {
    std::vector<Rule> rules;
    for (auto part : spec | std::views::split(',')) {
        std::string_view item(part.begin(), part.end());
        if (item.empty()) {
            continue;
        }
        auto eq = item.find('=');
        std::string_view pattern = eq == std::string_view::npos ? "*" : item.substr(0, eq);
        std::string_view level = eq == std::string_view::npos ? item : item.substr(eq + 1);
        auto parsed = parse_level(level);
        if (!parsed) {
            return std::format("unknown log level '{}' (expected silent, error, warn, info, "
                               "debug or trace)",
                               level);
        }
        if (pattern.empty()) {
            return std::format("empty scope name in '{}'", item);
        }
        rules.push_back({std::string(pattern), *parsed});
    }
    if (rules.empty()) {
        return std::string("empty log level specification");
    }

    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    // A spec without a catch-all keeps the previous rules underneath it.
    bool has_catch_all = std::ranges::any_of(rules, [](const Rule& r) { return r.pattern == "*"; });
    if (has_catch_all) {
        reg.rules.clear();
    }
    std::ranges::move(rules, std::back_inserter(reg.rules));
    for (auto* scope : reg.scopes) {
        scope->set_level(level_for(reg.rules, scope->name()));
    }
    return std::nullopt;
}

std::string current_spec() {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    std::string spec;
    for (const auto& rule : reg.rules) {
        spec +=
            std::format("{}{}={}", spec.empty() ? "" : ",", rule.pattern, level_name(rule.level));
    }
    return spec;
}

void set_sink(Sink sink) {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    reg.sink = sink;
}

void set_prefix(std::string prefix) {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    reg.prefix = std::move(prefix);
}

uint64_t clock_origin_ns() {
    const auto& start = registry().start;
    return static_cast<uint64_t>(start.tv_sec) * 1'000'000'000ull +
           static_cast<uint64_t>(start.tv_nsec);
}

void set_clock_origin_ns(uint64_t origin) {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    reg.start.tv_sec = static_cast<time_t>(origin / 1'000'000'000ull);
    reg.start.tv_nsec = static_cast<long>(origin % 1'000'000'000ull);
}

void write(const Scope& scope, Level level, std::string_view message) {
    auto& reg = registry();
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    double seconds = static_cast<double>(now.tv_sec - reg.start.tv_sec) +
                     static_cast<double>(now.tv_nsec - reg.start.tv_nsec) / 1e9;
    while (!message.empty() && message.back() == '\n') {
        message.remove_suffix(1);
    }
    std::lock_guard lock(reg.mutex);
    auto line = std::format("[{:10.3f}] {:<9} {:<5} {}{}\n", seconds, scope.name(),
                            level_name(level), reg.prefix, message);
    if (reg.sink) {
        reg.sink(line);
    } else {
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
}

} // namespace tessera::log
