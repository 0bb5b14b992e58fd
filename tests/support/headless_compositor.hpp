#pragma once

#include "server.hpp"
#include "catch_printers.hpp"
#include "util/image.hpp"
#include "gpu-backend/base/unique_fd.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tessera::test {

using namespace std::chrono_literals;

class HeadlessCompositor;

// A real client process started against the test compositor, with its stdout captured.
class ClientProcess {
public:
    ClientProcess(HeadlessCompositor& compositor, pid_t pid, UniqueFd stdout_fd, std::string name);
    ~ClientProcess();
    ClientProcess(const ClientProcess&) = delete;
    ClientProcess& operator=(const ClientProcess&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    // Runs the compositor until the client has printed `line` (a whole line) `times` times;
    // false on timeout or when the client exits first.
    bool wait_for_line(const std::string& line, std::chrono::milliseconds timeout = 10s,
                       size_t times = 1);
    // The same for a line that ends with `tail` (a program name may come before it).
    bool wait_for_line_ending(const std::string& tail, std::chrono::milliseconds timeout = 10s);
    // Runs the compositor until the client exits; its wait status, or nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);
    // Runs the compositor until the client is stopped (after kill(SIGSTOP)); false on timeout
    // or when it exits instead.
    bool wait_stopped(std::chrono::milliseconds timeout = 10s);
    void kill(int signal);
    // Everything the client printed so far.
    [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }
    [[nodiscard]] std::string output() const;

    // Runs the compositor, reading the client's lines, until `seen` or the client exits.
    bool wait_for_lines(const std::function<bool()>& seen, std::chrono::milliseconds timeout);

private:
    void read_available();
    bool poll_exit();
    void exited(int status);

    HeadlessCompositor& compositor_;
    pid_t pid_;
    UniqueFd stdout_;
    std::string name_;
    std::string partial_;
    std::vector<std::string> lines_;
    std::optional<int> status_;
};

// tessera on the headless backend with the pixman renderer, in this process, with a private
// XDG_RUNTIME_DIR and one small output. Tests run real Wayland clients against it and read the
// output's pixels back.
class HeadlessCompositor {
public:
    // `layout_path`: a layout file to divide the outputs into zones (none: a desktop).
    // `adjust` changes the options the server starts with (a command-line flag, say).
    explicit HeadlessCompositor(std::vector<HeadlessOutputSpec> outputs = {{320, 240, 60000}},
                                std::string keyboard_layout = "us", std::string layout_path = {},
                                const std::function<void(Options&)>& adjust = {});
    ~HeadlessCompositor();
    HeadlessCompositor(const HeadlessCompositor&) = delete;
    HeadlessCompositor& operator=(const HeadlessCompositor&) = delete;

    [[nodiscard]] compositor::Server& server() { return *server_; }
    [[nodiscard]] const std::string& runtime_dir() const { return runtime_dir_; }
    [[nodiscard]] const std::string& socket_name() const { return server_->socket_name(); }

    // Dispatches compositor events until `done` returns true; false on timeout.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s);
    void run_for(std::chrono::milliseconds duration);
    // Wayland clients connected: one that went away counts until the compositor has read its
    // hang-up (or dropped it for a protocol error).
    [[nodiscard]] size_t client_count() const;

    // Pixels of a freshly rendered frame of an output (first output by default).
    Image capture(size_t output_index = 0);
    // Keeps the pixels of every frame the output commits from now on.
    void record_frames(size_t output_index = 0);
    [[nodiscard]] const std::vector<Image>& recorded_frames() const { return *recorded_; }

    // Starts a program (argv[0] is looked up in PATH) with WAYLAND_DISPLAY set.
    std::unique_ptr<ClientProcess> spawn(const std::vector<std::string>& argv);
    // Runs a program to completion; its exit status and output. Throws on timeout.
    struct Result {
        int status = -1;
        std::string output;
    };
    Result run_command(const std::vector<std::string>& argv,
                       std::chrono::milliseconds timeout = 10s);

private:
    std::string runtime_dir_;
    std::unique_ptr<compositor::Server> server_;
    std::shared_ptr<std::vector<Image>> recorded_ = std::make_shared<std::vector<Image>>();
    std::vector<std::shared_ptr<std::function<void(std::expected<Image, std::string>)>>> recorders_;
};

// A file of the source tree, and one under tests/data.
std::string source_path(const std::string& relative);
std::string test_data_path(const std::string& relative);
std::string tessera_ctl_path();
std::string tessera_binary_path();

// Path of the in-repo test client.
std::string test_client_path();
// The test session locker (tests/clients/tessera-test-locker.c).
std::string test_locker_path();
// The security-context launcher: runs a program as a sandboxed client.
std::string sandbox_path();
// Prints the windows of ext-foreign-toplevel-list (tests/clients/tessera-toplevel-list.c).
std::string toplevel_list_path();
// Hands focus between its two windows with xdg-activation (tests/clients/tessera-activation.c).
std::string activation_client_path();
// Sets an inverting gamma ramp on the first output (tests/clients/tessera-gamma.c).
std::string gamma_client_path();
// A text field (--app) or an input method (--method) (tests/clients/tessera-ime.c).
std::string ime_client_path();
// Path of the simulated VM (tests/gpu/sim-guest).
std::string sim_guest_path();
std::string sim_input_path(); // tessera-sim-input
// Device programs that misbehave (tests/gpu/rogue-devices): one grows past its memory limit,
// the other breaks its channel's rules as it is told on its VMM socket.
std::string greedy_device_path();
std::string rogue_device_path();

} // namespace tessera::test
