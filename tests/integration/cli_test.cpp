// The tessera binary itself: command line, socket, startup commands, shutdown by signal.
#include "test_paths.hpp"

#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <format>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// tessera started with stdout and stderr going to files in a private runtime dir.
class TesseraProcess {
public:
    explicit TesseraProcess(std::vector<std::string> args) {
        char dir_template[] = "/tmp/tessera-cli-XXXXXX";
        REQUIRE(mkdtemp(dir_template));
        dir_ = dir_template;
        setenv("XDG_RUNTIME_DIR", dir_.c_str(), 1);
        setenv("WLR_RENDERER", "pixman", 1);
        unsetenv("WAYLAND_DISPLAY");
        unsetenv("DISPLAY");

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (dir_ / "stdout").c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, (dir_ / "stderr").c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        args.insert(args.begin(), TESSERA_BINARY);
        std::vector<char*> argv;
        for (auto& arg : args) {
            argv.push_back(arg.data());
        }
        argv.push_back(nullptr);
        REQUIRE(posix_spawn(&pid_, TESSERA_BINARY, &actions, nullptr, argv.data(), environ) == 0);
        posix_spawn_file_actions_destroy(&actions);
    }

    ~TesseraProcess() {
        if (!status_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    // Polls until `done` or the timeout.
    template <typename Predicate>
    bool wait(Predicate done, std::chrono::milliseconds timeout = 10s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(10ms);
        }
        return true;
    }

    std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s) {
        wait(
            [&] {
                int status = 0;
                if (waitpid(pid_, &status, WNOHANG) == pid_) {
                    status_ = status;
                }
                return status_.has_value();
            },
            timeout);
        return status_;
    }

    void signal(int sig) { kill(pid_, sig); }
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] std::string out() const { return read_file(dir_ / "stdout"); }
    [[nodiscard]] std::string err() const { return read_file(dir_ / "stderr"); }
    [[nodiscard]] const fs::path& dir() const { return dir_; }

private:
    fs::path dir_;
    pid_t pid_ = 0;
    std::optional<int> status_;
};

bool exited_with(const std::optional<int>& status, int code) {
    return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

// Running, not a zombie waiting to be reaped.
bool running(pid_t pid) {
    auto stat = read_file(std::format("/proc/{}/stat", pid));
    auto state = stat.rfind(')');
    return state != std::string::npos && state + 2 < stat.size() && stat[state + 2] != 'Z';
}

std::optional<pid_t> read_pid(const fs::path& path) {
    auto text = read_file(path);
    if (!text.ends_with('\n')) {
        return std::nullopt;
    }
    return std::stoi(text);
}

} // namespace

TEST_CASE("--help and --version print and exit 0", "[cli]") {
    TesseraProcess help({"--help"});
    CHECK(exited_with(help.wait_exit(), 0));
    CHECK(help.out().starts_with("Usage: tessera"));
    CHECK(help.out().find("--headless WxH[@Hz]") != std::string::npos);

    TesseraProcess version({"--version"});
    CHECK(exited_with(version.wait_exit(), 0));
    CHECK(version.out().starts_with("tessera "));
}

TEST_CASE("a bad command line exits 2 with the reason", "[cli]") {
    TesseraProcess unknown({"--no-such-option"});
    CHECK(exited_with(unknown.wait_exit(), 2));
    CHECK(unknown.err().find("unknown argument '--no-such-option'") != std::string::npos);

    TesseraProcess bad_size({"--headless", "0x0"});
    CHECK(exited_with(bad_size.wait_exit(), 2));
    CHECK(bad_size.err().find("invalid output size '0x0'") != std::string::npos);

    TesseraProcess bad_log({"--headless", "64x64", "--log-level", "comp=chatty"});
    CHECK(exited_with(bad_log.wait_exit(), 2));
    CHECK(bad_log.err().find("chatty") != std::string::npos);
}

TEST_CASE("the socket is printed and exported to startup commands", "[cli]") {
    TesseraProcess tessera(
        {"--headless", "64x64", "-s", "echo \"$WAYLAND_DISPLAY\" > \"$XDG_RUNTIME_DIR/seen\""});
    auto seen = tessera.dir() / "seen";
    REQUIRE(tessera.wait([&] { return read_file(seen).ends_with("\n"); }));
    auto out = tessera.out();
    REQUIRE(out.starts_with("WAYLAND_DISPLAY="));
    auto socket = out.substr(16, out.find('\n') - 16);
    CHECK(read_file(seen) == socket + "\n");
    CHECK(fs::exists(tessera.dir() / socket));
    tessera.signal(SIGTERM);
    CHECK(exited_with(tessera.wait_exit(), 0));
}

TEST_CASE("--socket chooses the socket name", "[cli]") {
    TesseraProcess tessera({"--headless", "64x64", "--socket", "tessera-named"});
    REQUIRE(tessera.wait([&] { return tessera.out().find('\n') != std::string::npos; }));
    CHECK(tessera.out() == "WAYLAND_DISPLAY=tessera-named\n");
    tessera.signal(SIGINT);
    CHECK(exited_with(tessera.wait_exit(), 0));
}

TEST_CASE("SIGTERM and SIGINT shut down cleanly with clients connected", "[shutdown]") {
    for (int sig : {SIGTERM, SIGINT}) {
        INFO("signal " << sig);
        std::string client = std::string(TESSERA_TEST_CLIENT) + " --popup 10x10+1+1";
        TesseraProcess tessera({"--headless", "160x120", "--headless", "100x100@30", "-s", client,
                                "-s", "swaybg -c '#101010'", "-d"});
        REQUIRE(tessera.wait([&] {
            return tessera.err().find("mapped toplevel app_id='tessera-test-client'") !=
                   std::string::npos;
        }));
        tessera.signal(sig);
        auto status = tessera.wait_exit(20s);
        INFO(tessera.err());
        // Under AddressSanitizer a leak makes the exit status non-zero.
        CHECK(exited_with(status, 0));
        CHECK(tessera.err().find("shutting down") != std::string::npos);
        CHECK(tessera.err().find("LeakSanitizer") == std::string::npos);
    }
}

TEST_CASE("what startup commands started ends with tessera", "[shutdown]") {
    // Each command records the pid of a process it leaves running: a child its shell waits for
    // (in the command's process group), a process in a session of its own whose shell has
    // exited (orphaned onto tessera), and a child that ignores SIGTERM (killed after the grace).
    const char* commands[] = {
        "sleep 1001 & echo $! > \"$XDG_RUNTIME_DIR/waited\"; wait",
        "setsid sleep 1002 & echo $! > \"$XDG_RUNTIME_DIR/orphan\"",
        "trap '' TERM; sleep 1003 & echo $! > \"$XDG_RUNTIME_DIR/stubborn\"; wait",
    };
    std::vector<std::string> args = {"--headless", "64x64"};
    for (const char* command : commands) {
        args.insert(args.end(), {"-s", command});
    }
    TesseraProcess tessera(args);
    std::vector<pid_t> pids;
    for (const char* name : {"waited", "orphan", "stubborn"}) {
        INFO(name);
        std::optional<pid_t> pid;
        REQUIRE(tessera.wait([&] { return (pid = read_pid(tessera.dir() / name)).has_value(); }));
        REQUIRE(running(*pid));
        pids.push_back(*pid);
    }
    // The orphan's shell has exited: tessera adopted the orphan.
    REQUIRE(tessera.wait([&] {
        auto stat = read_file(std::format("/proc/{}/stat", pids[1]));
        return stat.substr(stat.rfind(')') + 4).starts_with(std::format("{} ", tessera.pid()));
    }));

    tessera.signal(SIGTERM);
    auto status = tessera.wait_exit(20s);
    INFO(tessera.err());
    CHECK(exited_with(status, 0));
    for (pid_t pid : pids) {
        INFO("pid " << pid);
        CHECK_FALSE(running(pid));
    }
    CHECK(tessera.err().find("ending what the startup commands started") != std::string::npos);
    CHECK(tessera.err().find("killed what ignored SIGTERM") != std::string::npos);
}

namespace {

// The nice value in /proc/PID/stat (field 19), or nullopt.
std::optional<int> nice_of(pid_t pid) {
    auto stat = read_file(std::format("/proc/{}/stat", pid));
    auto end = stat.rfind(')');
    if (end == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(stat.substr(end + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
        if (i == 19) {
            return std::stoi(field);
        }
    }
    return std::nullopt;
}

} // namespace

TEST_CASE("tessera raises its priority where allowed, and what it starts runs at the normal one",
          "[cli]") {
    TesseraProcess tessera(
        {"--headless", "64x64", "-s", "echo $$ > \"$XDG_RUNTIME_DIR/child\"; exec sleep 1000"});
    std::optional<pid_t> child;
    REQUIRE(tessera.wait([&] { return (child = read_pid(tessera.dir() / "child")).has_value(); }));
    auto err = tessera.err();
    INFO(err);
    if (err.find("priority: nice -10") != std::string::npos) {
        CHECK(nice_of(tessera.pid()) == -10);
    } else {
        // Not allowed here: it says so and runs as it was started.
        CHECK(err.find("priority: normal") != std::string::npos);
        CHECK(nice_of(tessera.pid()) == nice_of(getpid()));
    }
    CHECK(nice_of(*child) == nice_of(getpid()));
    tessera.signal(SIGTERM);
    CHECK(exited_with(tessera.wait_exit(20s), 0));
}

TEST_CASE("log levels are set per subsystem", "[cli]") {
    TesseraProcess tessera({"--headless", "64x64", "--log-level", "silent,comp=debug"});
    REQUIRE(tessera.wait([&] { return tessera.out().find('\n') != std::string::npos; }));
    tessera.signal(SIGTERM);
    REQUIRE(exited_with(tessera.wait_exit(), 0));
    auto err = tessera.err();
    CHECK(err.find(" comp ") != std::string::npos);
    CHECK(err.find(" wlr ") == std::string::npos);
}

namespace {

// Starts `argv` with stdout and stderr to /dev/null; its pid.
pid_t spawn_quiet(std::vector<std::string> argv) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (auto& arg : argv) {
        args.push_back(arg.data());
    }
    args.push_back(nullptr);
    pid_t pid = 0;
    REQUIRE(posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

// Ends a process this test started, by pid.
void end_process(pid_t pid) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
}

size_t count_of(const std::string& text, std::string_view what) {
    size_t count = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++count;
    }
    return count;
}

} // namespace

TEST_CASE("log levels set at run time reach the guests' device processes", "[cli]") {
    char layout_dir[] = "/tmp/tessera-cli-layout-XXXXXX";
    REQUIRE(mkdtemp(layout_dir));
    fs::path layout = fs::path(layout_dir) / "one-guest.toml";
    std::ofstream(layout) << "[outputs.main]\nindex = 0\n\n"
                             "[zones.vm]\noutput = \"main\"\n"
                             "rect = { x = 0, y = 0, width = \"100%\", height = \"100%\" }\n\n"
                             "[guests.a]\nsocket = \"tessera-log-a.sock\"\n\n"
                             "[[rules]]\nzone = \"vm\"\nguest = \"a\"\n";
    TesseraProcess tessera({"--headless", "320x240", "--layout", layout.string()});
    REQUIRE(tessera.wait([&] { return tessera.out().find('\n') != std::string::npos; }));
    auto out = tessera.out();
    auto display = out.substr(16, out.find('\n') - 16);
    auto socket = (tessera.dir() / "tessera-log-a.sock").string();
    auto control = (tessera.dir() / std::format("tessera.{}.sock", display)).string();

    pid_t vm = spawn_quiet({TESSERA_SIM_GUEST, "--socket", socket});
    REQUIRE(tessera.wait(
        [&] { return tessera.err().find("guest a: VMM connected") != std::string::npos; }));
    // Started at info: the device's handshake left no debug lines.
    CHECK(count_of(tessera.err(), "SET_MEM_TABLE") == 0);

    pid_t ctl = spawn_quiet(
        {TESSERA_CTL, "--socket", control, "log-level", "gpu.device=debug,gpu.vhost=debug"});
    int status = 0;
    REQUIRE(waitpid(ctl, &status, 0) == ctl);
    REQUIRE(exited_with(status, 0));
    // The running device process takes them (and says so at its new level)...
    CHECK(tessera.wait([&] { return tessera.err().find("log levels now") != std::string::npos; }));

    // ... and the next one starts with them: its handshake is logged.
    end_process(vm);
    REQUIRE(tessera.wait(
        [&] { return tessera.err().find("guest a: VMM disconnected") != std::string::npos; }));
    vm = spawn_quiet({TESSERA_SIM_GUEST, "--socket", socket});
    CHECK(tessera.wait([&] { return count_of(tessera.err(), "SET_MEM_TABLE") > 0; }));
    end_process(vm);
    tessera.signal(SIGTERM);
    CHECK(exited_with(tessera.wait_exit(20s), 0));
    fs::remove_all(layout_dir);
}

TEST_CASE("no usable backend is a clear error", "[cli]") {
    // No --headless, no display to nest in and no seat: nothing to run on.
    unsetenv("WAYLAND_DISPLAY");
    unsetenv("DISPLAY");
    setenv("LIBSEAT_BACKEND", "noop", 1);
    TesseraProcess tessera({});
    auto status = tessera.wait_exit(20s);
    unsetenv("LIBSEAT_BACKEND");
    INFO(tessera.err());
    REQUIRE(status);
    CHECK(exited_with(status, 1));
    CHECK(tessera.err().find("use --headless WxH to run without a display") != std::string::npos);
}
