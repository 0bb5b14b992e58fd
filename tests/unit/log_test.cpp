#include "gpu-backend/base/log.hpp"

#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

using namespace tessera;

namespace {

std::vector<std::string>& captured() {
    static std::vector<std::string> lines;
    return lines;
}

void capture(std::string_view line) {
    captured().emplace_back(line);
}

struct CaptureLog {
    CaptureLog() {
        captured().clear();
        log::set_sink(&capture);
        REQUIRE_FALSE(log::configure("info"));
    }
    ~CaptureLog() {
        log::set_sink(nullptr);
        (void)log::configure("info");
    }
};

} // namespace

TEST_CASE("log levels parse by name", "[log]") {
    CHECK(log::parse_level("debug") == log::Level::debug);
    CHECK(log::parse_level("warning") == log::Level::warn);
    CHECK(log::parse_level("silent") == log::Level::silent);
    CHECK_FALSE(log::parse_level("loud"));
    CHECK(log::level_name(log::Level::trace) == "trace");
}

TEST_CASE("each scope has its own level", "[log]") {
    CaptureLog guard;
    log::Scope gpu_vhost("gpu.vhost"), gpu_cmd("gpu.cmd"), comp("comp.test");
    REQUIRE_FALSE(log::configure("warn,gpu.*=debug,comp.test=error"));
    CHECK(gpu_vhost.level() == log::Level::debug);
    CHECK(gpu_cmd.level() == log::Level::debug);
    CHECK(comp.level() == log::Level::error);

    log::debug(gpu_vhost, "kick {}", 3);
    log::warn(comp, "hidden");
    log::error(comp, "shown");
    REQUIRE(captured().size() == 2);
    CHECK(captured()[0].find("gpu.vhost") != std::string::npos);
    CHECK(captured()[0].find("debug") != std::string::npos);
    CHECK(captured()[0].ends_with("kick 3\n"));
    CHECK(captured()[1].ends_with("shown\n"));
}

TEST_CASE("scopes created later pick up the configured level", "[log]") {
    CaptureLog guard;
    REQUIRE_FALSE(log::configure("late.*=trace"));
    log::Scope late("late.scope");
    CHECK(late.level() == log::Level::trace);
    log::Scope other("other");
    CHECK(other.level() == log::Level::info);
}

TEST_CASE("a bad level spec is refused and changes nothing", "[log]") {
    CaptureLog guard;
    log::Scope scope("bad.spec");
    REQUIRE_FALSE(log::configure("debug"));
    auto error = log::configure("error,bad.spec=verbose");
    REQUIRE(error);
    CHECK(error->find("verbose") != std::string::npos);
    CHECK(scope.level() == log::Level::debug);
    CHECK(log::configure("=debug"));
    CHECK(log::configure(""));
}

TEST_CASE("level changes apply at run time", "[log]") {
    CaptureLog guard;
    log::Scope scope("runtime");
    log::debug(scope, "before");
    REQUIRE_FALSE(log::configure("runtime=debug"));
    log::debug(scope, "after");
    REQUIRE(captured().size() == 1);
    CHECK(captured()[0].ends_with("after\n"));
}

TEST_CASE("the levels in force read back as one spec that sets them again", "[log]") {
    CaptureLog guard;
    log::Scope gpu("gpu.vhost");
    log::Scope comp("comp");
    REQUIRE_FALSE(log::configure("warn,gpu.*=debug"));
    REQUIRE_FALSE(log::configure("comp=trace")); // on top of the rules before
    auto spec = log::current_spec();
    CHECK(spec == "*=warn,gpu.*=debug,comp=trace");
    // What a device process started with the spec (or told it later) ends up with.
    REQUIRE_FALSE(log::configure("silent"));
    CHECK(gpu.level() == log::Level::silent);
    REQUIRE_FALSE(log::configure(spec));
    CHECK(gpu.level() == log::Level::debug);
    CHECK(comp.level() == log::Level::trace);
    log::Scope other("planes");
    CHECK(other.level() == log::Level::warn);
}
