#include "headless_compositor.hpp"

#include "ivi/layout_file.hpp"
#include "log_scopes.hpp"
#include "output.hpp"
#include "test_paths.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <format>
#include <stdexcept>

extern char** environ;

namespace tessera::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string make_runtime_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tessera-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
        throw std::runtime_error(std::format("mkdtemp: {}", std::strerror(errno)));
    }
    return pattern;
}

} // namespace

std::string test_client_path() {
    return TESSERA_TEST_CLIENT;
}

std::string test_locker_path() {
    return TESSERA_TEST_LOCKER;
}

std::string sandbox_path() {
    return TESSERA_SANDBOX;
}

std::string toplevel_list_path() {
    return TESSERA_TOPLEVEL_LIST;
}

std::string activation_client_path() {
    return TESSERA_ACTIVATION;
}

std::string gamma_client_path() {
    return TESSERA_GAMMA;
}

std::string ime_client_path() {
    return TESSERA_IME;
}

std::string sim_guest_path() {
    return TESSERA_SIM_GUEST;
}

std::string sim_input_path() {
    return TESSERA_SIM_INPUT;
}

std::string greedy_device_path() {
    return TESSERA_GREEDY_DEVICE;
}

std::string rogue_device_path() {
    return TESSERA_ROGUE_DEVICE;
}

std::string tessera_ctl_path() {
    return TESSERA_CTL;
}

std::string tessera_binary_path() {
    return TESSERA_BINARY;
}

std::string source_path(const std::string& relative) {
    return std::string(TESSERA_SOURCE_DIR) + "/" + relative;
}

std::string test_data_path(const std::string& relative) {
    return source_path("tests/data/" + relative);
}

HeadlessCompositor::HeadlessCompositor(std::vector<HeadlessOutputSpec> outputs,
                                       std::string keyboard_layout, std::string layout_path,
                                       const std::function<void(Options&)>& adjust)
    : runtime_dir_(make_runtime_dir()) {
    setenv("XDG_RUNTIME_DIR", runtime_dir_.c_str(), 1);
    setenv("WLR_RENDERER", "pixman", 1);
    unsetenv("WAYLAND_DISPLAY");
    unsetenv("DISPLAY");
    // TESSERA_LOG=debug shows the compositor's log while a test runs.
    if (const char* spec = std::getenv("TESSERA_LOG")) {
        (void)log::configure(spec);
    } else {
        (void)log::configure("warn");
    }
    compositor::route_wlroots_log();
    Options options;
    options.headless_outputs = std::move(outputs);
    // Tests must not depend on the user's keyboard settings.
    options.keymap.layout = std::move(keyboard_layout);
    std::optional<ivi::Layout> layout;
    if (!layout_path.empty()) {
        auto loaded = ivi::load_layout_file(layout_path);
        if (!loaded) {
            throw std::runtime_error(loaded.error().describe());
        }
        layout = std::move(*loaded);
        options.layout_path = layout_path;
    }
    if (adjust) {
        adjust(options);
    }
    auto server = compositor::Server::create(options, std::move(layout));
    if (!server) {
        throw std::runtime_error(server.error());
    }
    server_ = std::move(*server);
    if (auto started = server_->start(); !started) {
        throw std::runtime_error(started.error());
    }
    setenv("WAYLAND_DISPLAY", server_->socket_name().c_str(), 1);
    setenv("TESSERA_SOCKET", server_->control_socket_path().c_str(), 1);
}

void HeadlessCompositor::record_frames(size_t output_index) {
    auto* output = server_->outputs().at(output_index).get();
    // Re-arms itself from each frame; stops when the output or the recorder goes away.
    std::weak_ptr<std::vector<Image>> frames = recorded_;
    auto record = std::make_shared<compositor::Output::CaptureCallback>();
    *record = [frames, output,
               record_weak = std::weak_ptr(record)](std::expected<Image, std::string> image) {
        auto list = frames.lock();
        auto again = record_weak.lock();
        if (!list || !image || !again) {
            return;
        }
        list->push_back(std::move(*image));
        output->capture_next_frame(*again);
    };
    recorders_.push_back(record);
    output->capture_next_frame(*record);
}

HeadlessCompositor::~HeadlessCompositor() {
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(runtime_dir_, ignored);
}

bool HeadlessCompositor::run_until(const std::function<bool()>& done,
                                   std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    auto* loop = server_->event_loop();
    while (!done()) {
        if (Clock::now() >= deadline) {
            return false;
        }
        wl_display_flush_clients(server_->display());
        wl_event_loop_dispatch(loop, 5);
    }
    wl_display_flush_clients(server_->display());
    return true;
}

void HeadlessCompositor::run_for(std::chrono::milliseconds duration) {
    auto deadline = Clock::now() + duration;
    run_until([&] { return Clock::now() >= deadline; }, duration + 1s);
}

size_t HeadlessCompositor::client_count() const {
    return static_cast<size_t>(wl_list_length(wl_display_get_client_list(server_->display())));
}

Image HeadlessCompositor::capture(size_t output_index) {
    const auto& outputs = server_->outputs();
    if (output_index >= outputs.size()) {
        throw std::runtime_error(std::format("no output {}", output_index));
    }
    std::optional<std::expected<Image, std::string>> result;
    outputs[output_index]->capture_next_frame(
        [&](std::expected<Image, std::string> image) { result = std::move(image); });
    if (!run_until([&] { return result.has_value(); }, 5s)) {
        throw std::runtime_error("no frame was rendered within 5 s");
    }
    if (!*result) {
        throw std::runtime_error(result->error());
    }
    return std::move(**result);
}

std::unique_ptr<ClientProcess> HeadlessCompositor::spawn(const std::vector<std::string>& argv) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::format("pipe: {}", std::strerror(errno)));
    }
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    fcntl(read_end.get(), F_SETFL, O_NONBLOCK);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    std::vector<std::string> args = argv;
    std::vector<char*> c_args;
    for (auto& arg : args) {
        c_args.push_back(arg.data());
    }
    c_args.push_back(nullptr);
    pid_t pid = 0;
    int err = posix_spawnp(&pid, c_args[0], &actions, nullptr, c_args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
        throw std::runtime_error(std::format("cannot start {}: {}", argv[0], std::strerror(err)));
    }
    return std::make_unique<ClientProcess>(*this, pid, std::move(read_end), argv[0]);
}

HeadlessCompositor::Result HeadlessCompositor::run_command(const std::vector<std::string>& argv,
                                                           std::chrono::milliseconds timeout) {
    auto client = spawn(argv);
    auto status = client->wait_exit(timeout);
    if (!status) {
        throw std::runtime_error(
            std::format("{} did not finish within {} ms", argv[0], timeout.count()));
    }
    return {*status, client->output()};
}

ClientProcess::ClientProcess(HeadlessCompositor& compositor, pid_t pid, UniqueFd stdout_fd,
                             std::string name)
    : compositor_(compositor), pid_(pid), stdout_(std::move(stdout_fd)), name_(std::move(name)) {}

ClientProcess::~ClientProcess() {
    if (!status_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        waitpid(pid_, &status, 0);
    }
}

void ClientProcess::read_available() {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = read(stdout_.get(), buffer, sizeof(buffer))) > 0) {
        partial_.append(buffer, static_cast<size_t>(n));
        size_t newline = 0;
        while ((newline = partial_.find('\n')) != std::string::npos) {
            // Without a carriage return: serial consoles end lines with "\r\n".
            size_t end = newline > 0 && partial_[newline - 1] == '\r' ? newline - 1 : newline;
            lines_.push_back(partial_.substr(0, end));
            partial_.erase(0, newline + 1);
        }
    }
}

bool ClientProcess::poll_exit() {
    if (status_) {
        return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited(status);
        return true;
    }
    return false;
}

void ClientProcess::exited(int status) {
    status_ = status;
    read_available();
    if (!partial_.empty()) {
        lines_.push_back(std::exchange(partial_, {}));
    }
}

bool ClientProcess::wait_for_lines(const std::function<bool()>& seen,
                                   std::chrono::milliseconds timeout) {
    compositor_.run_until(
        [&] {
            read_available();
            return seen() || poll_exit();
        },
        timeout);
    return seen();
}

bool ClientProcess::wait_for_line(const std::string& line, std::chrono::milliseconds timeout,
                                  size_t times) {
    return wait_for_lines(
        [&] { return static_cast<size_t>(std::ranges::count(lines_, line)) >= times; }, timeout);
}

bool ClientProcess::wait_for_line_ending(const std::string& tail,
                                         std::chrono::milliseconds timeout) {
    return wait_for_lines(
        [&] {
            return std::ranges::any_of(lines_,
                                       [&](const std::string& l) { return l.ends_with(tail); });
        },
        timeout);
}

std::optional<int> ClientProcess::wait_exit(std::chrono::milliseconds timeout) {
    compositor_.run_until(
        [&] {
            read_available();
            return poll_exit();
        },
        timeout);
    return status_;
}

bool ClientProcess::wait_stopped(std::chrono::milliseconds timeout) {
    bool stopped = false;
    compositor_.run_until(
        [&] {
            read_available();
            if (status_) {
                return true;
            }
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG | WUNTRACED) != pid_) {
                return false;
            }
            if (WIFSTOPPED(status)) {
                stopped = true;
            } else {
                exited(status);
            }
            return true;
        },
        timeout);
    return stopped;
}

void ClientProcess::kill(int signal) {
    if (!status_) {
        ::kill(pid_, signal);
    }
}

std::string ClientProcess::output() const {
    std::string text;
    for (const auto& line : lines_) {
        text += line;
        text += '\n';
    }
    return text + partial_;
}

} // namespace tessera::test
