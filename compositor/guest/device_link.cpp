#include "device_link.hpp"

#include "gpu-backend/base/epoll_loop.hpp"
#include "gpu-backend/base/fd_kind.hpp"
#include "gpu-backend/device_host/device_host.hpp"
#include "gpu-backend/device_host/exit_codes.hpp"
#include "gpu-backend/virtio_gpu/udmabuf.hpp"
#include "log_scopes.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstring>
#include <format>
#include <utility>

namespace tessera::compositor {

namespace channel = gpu::channel;

namespace {

constexpr uint64_t page_size = 4096;

uint64_t round_up_to_page(uint64_t n) {
    return (n + page_size - 1) & ~(page_size - 1);
}

// A dma-buf's file shows as "/dmabuf:<name>" in /proc (the kernel's dma-buf file system).
std::optional<std::string> check_dmabuf(int fd, uint64_t size) {
    std::array<char, 64> target{};
    auto path = std::format("/proc/self/fd/{}", fd);
    ssize_t n = readlink(path.c_str(), target.data(), target.size() - 1);
    if (n <= 0 ||
        std::string_view(target.data(), static_cast<size_t>(n)).rfind("/dmabuf:", 0) != 0) {
        return "not a dma-buf";
    }
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0 || static_cast<uint64_t>(end) < round_up_to_page(size)) {
        return std::format("a dma-buf smaller than {} bytes", size);
    }
    return std::nullopt;
}

// Memory of a file the compositor maps must not shrink under it (a read past a file's end
// raises SIGBUS): a memfd sealed against shrinking, of at least `size` bytes.
std::optional<std::string> check_sealed_memory(int fd, uint64_t size) {
    if (auto wrong = fd_kind::check_mappable(fd, size)) {
        return wrong;
    }
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
        return "memory that is not sealed against shrinking";
    }
    return std::nullopt;
}

std::string describe_exit(const siginfo_t& info) {
    using namespace gpu::device_exit;
    if (info.si_code == CLD_EXITED) {
        switch (info.si_status) {
        case done:
            return "exited";
        case no_sandbox:
            return "could not enter its sandbox";
        case out_of_memory:
            return "ran out of memory at its limit";
        case no_renderer:
            return "could not start its 3D renderer";
        case bad_start:
            return "could not start (tessera-device's fds)";
        case 127:
            return "could not be executed";
        default:
            return std::format("exited with status {}", info.si_status);
        }
    }
    if (info.si_status == SIGSYS) {
        return "was killed by its sandbox (a forbidden system call)";
    }
    return std::format("was killed by signal {} ({})", info.si_status,
                       sigabbrev_np(info.si_status) ? sigabbrev_np(info.si_status) : "?");
}

// The environment of a device process: none, but the sanitizers' options for test builds.
std::vector<std::string> device_environment(bool three_d) {
    std::vector<std::string> env;
    if (three_d) {
        // The sandbox opens no files once the driver is loaded: no shader cache on disk.
        env.emplace_back("MESA_SHADER_CACHE_DISABLE=true");
    }
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
        if (const char* value = std::getenv(name)) {
            env.push_back(std::format("{}={}", name, value));
        }
    }
    return env;
}

} // namespace

DeviceLink::DeviceLink(wl_event_loop* loop, const DeviceLinkConfig& config, DeviceLinkEvents events)
    : loop_(loop), config_(config), events_(std::move(events)),
      ping_timer_(loop, [this] { ping(); }) {}

std::expected<std::unique_ptr<DeviceLink>, std::string>
DeviceLink::start(wl_event_loop* loop, UniqueFd vmm_socket, const DeviceLinkConfig& config,
                  DeviceLinkEvents events) {
    std::unique_ptr<DeviceLink> link(new DeviceLink(loop, config, std::move(events)));
    auto pair = channel::make_pair();
    if (!pair) {
        return std::unexpected(pair.error());
    }
    link->channel_ = std::move(pair->first);
    auto started = config.in_process
                       ? link->host_here(std::move(vmm_socket), std::move(pair->second))
                       : link->spawn(std::move(vmm_socket), std::move(pair->second));
    if (!started) {
        return std::unexpected(started.error());
    }
    DeviceLink* self = link.get();
    link->channel_watch_ = std::make_unique<FdWatch>(loop, link->channel_.get(), WL_EVENT_READABLE,
                                                     [self](uint32_t) { self->on_channel(); });

    channel::Config wire{};
    wire.scanout_count =
        static_cast<uint32_t>(std::min<size_t>(config.scanouts.size(), channel::max_scanouts));
    for (uint32_t i = 0; i < wire.scanout_count; ++i) {
        const auto& s = config.scanouts[i];
        wire.scanouts[i] = {s.width, s.height, s.refresh_mhz};
    }
    wire.max_resources = config.quota.max_resources;
    wire.max_resource_bytes = config.quota.max_resource_bytes;
    channel::Outgoing message(channel::Type::config);
    message.add(wire);
    if (config.udmabuf && config.udmabuf->available()) {
        message.add_fd(config.udmabuf->fd());
    }
    link->send(message);
    link->ping_timer_.arm(config.ping_period);
    return link;
}

// Starts tessera-device with the VMM's socket as fd 3 and its end of the channel as fd 4, and
// nothing else: every other fd is closed before exec, the environment is empty. Its exit is
// no SIGCHLD (exit_signal 0), so only this link reaps it, through its pidfd.
std::expected<void, std::string> DeviceLink::spawn(UniqueFd vmm_socket, UniqueFd device_end) {
    std::vector<std::string> args = {config_.program, "--guest", config_.guest, "--log-origin",
                                     std::to_string(log::clock_origin_ns())};
    if (!config_.log_spec.empty()) {
        args.insert(args.end(), {"--log", config_.log_spec});
    }
    // Private memory: what the device counts against the guest's quota (host pixels of 2D
    // resources, in memfds, count separately), plus room for the process itself.
    uint64_t memory_limit = config_.quota.max_resource_bytes + (256ull << 20);
    if (config_.three_d) {
        // The GL driver: its code generator, worker stacks and the renderer's own copies.
        memory_limit += 1024ull << 20;
        args.emplace_back("--3d");
        if (!config_.render_node.empty()) {
            args.insert(args.end(), {"--render-node", config_.render_node});
        }
    }
#if defined(TESSERA_SANITIZED)
    memory_limit = 0; // the sanitizer's shadow memory is private memory too
#endif
    args.insert(args.end(), {"--memory-limit", std::to_string(memory_limit), "--file-limit",
                             std::to_string(config_.quota.max_resource_bytes + page_size)});
    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    auto env_strings = device_environment(config_.three_d);
    std::vector<char*> envp;
    for (auto& e : env_strings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    // Out of the way of 3 and 4 before they are placed there.
    UniqueFd vmm(fcntl(vmm_socket.get(), F_DUPFD_CLOEXEC, 16));
    UniqueFd device(fcntl(device_end.get(), F_DUPFD_CLOEXEC, 16));
    UniqueFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!vmm || !device || !null) {
        return std::unexpected(std::format("cannot prepare the fds: {}", std::strerror(errno)));
    }

    int pidfd = -1;
    clone_args args_clone{};
    args_clone.flags = CLONE_PIDFD;
    args_clone.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args_clone.exit_signal = 0;
    long pid = syscall(SYS_clone3, &args_clone, sizeof(args_clone));
    if (pid < 0) {
        return std::unexpected(std::format("clone3: {}", std::strerror(errno)));
    }
    if (pid == 0) {
        // The child: only async-signal-safe calls until exec.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(null.get(), 0) < 0 || dup2(vmm.get(), gpu::device_exit::vmm_fd) < 0 ||
            dup2(device.get(), gpu::device_exit::channel_fd) < 0) {
            _exit(127);
        }
        syscall(SYS_close_range, gpu::device_exit::channel_fd + 1, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    pid_ = static_cast<pid_t>(pid);
    pidfd_ = UniqueFd(pidfd);
    pidfd_watch_ = std::make_unique<FdWatch>(loop_, pidfd_.get(), WL_EVENT_READABLE,
                                             [this](uint32_t) { on_exit(); });
    log::debug(gpu_log, "guest {}: device process {} started", config_.guest, pid_);
    return {};
}

// The same device host in this process, on a loop of its own nested in the compositor's.
std::expected<void, std::string> DeviceLink::host_here(UniqueFd vmm_socket, UniqueFd device_end) {
    host_loop_ = std::make_unique<EpollLoop>();
    EpollLoop* host_loop = host_loop_.get();
    host_ = std::make_unique<gpu::DeviceHost>(
        std::move(vmm_socket), std::move(device_end),
        gpu::DeviceHostLoop{[host_loop](int fd, std::function<void()> on_readable) {
                                return !host_loop->add_fd(fd, std::move(on_readable));
                            },
                            [host_loop](int fd) { host_loop->remove_fd(fd); }},
        [this](std::string_view) {
            drop_host_.schedule(loop_, [this] {
                host_.reset();
                host_watch_.reset();
            });
        });
    host_watch_ = std::make_unique<FdWatch>(loop_, host_loop_->fd(), WL_EVENT_READABLE,
                                            [host_loop](uint32_t) { host_loop->dispatch(0); });
    return {};
}

DeviceLink::~DeviceLink() {
    *alive_ = false;
    ended_ = true;
    end();
    drop_host_.cancel();
    host_watch_.reset();
    host_.reset();
}

void DeviceLink::end() {
    channel_watch_.reset();
    ping_timer_.disarm();
    if (pidfd_) {
        pidfd_watch_.reset();
        syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
        siginfo_t info{};
        waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | __WALL);
        pidfd_.reset();
    }
    ended_ = true;
}

void DeviceLink::finish(std::string_view reason, bool failure) {
    if (ended_) {
        return;
    }
    std::string why(reason);
    end();
    if (events_.on_ended) {
        events_.on_ended(why, failure);
    }
}

// Failure level 2 for this guest: whatever the device process did, it ends.
void DeviceLink::fail(std::string_view reason) {
    finish(std::format("its device process {}", reason), true);
}

void DeviceLink::on_exit() {
    siginfo_t info{};
    if (waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG | __WALL) != 0 ||
        info.si_pid == 0) {
        return;
    }
    pidfd_watch_.reset();
    pidfd_.reset();
    // What it said before it went is still in the channel.
    std::weak_ptr<bool> alive = alive_;
    drain(true);
    if (alive.expired() || ended_) {
        return;
    }
    bool normal = info.si_code == CLD_EXITED && info.si_status == gpu::device_exit::done;
    if (normal && !closed_reason_.empty()) {
        finish(closed_reason_, false);
    } else {
        fail(describe_exit(info));
    }
}

void DeviceLink::send(const channel::Outgoing& message) {
    if (ended_ || !channel_) {
        return;
    }
    switch (channel::send(channel_.get(), message)) {
    case channel::SendResult::sent:
        return;
    case channel::SendResult::full:
        fail("stopped reading its channel");
        return;
    case channel::SendResult::failed:
        // It went: its exit (pidfd) says how. In this process, the host is gone.
        if (!pidfd_) {
            finish(closed_reason_.empty() ? "the device ended" : closed_reason_,
                   closed_reason_.empty());
        }
        return;
    }
}

void DeviceLink::signal_fence(gpu::ResponseToken token) {
    send(channel::Outgoing(channel::Type::signal_fence).add(channel::SignalFence{token}));
}

void DeviceLink::display_released(uint32_t resource_id) {
    auto it = serial_.find(resource_id);
    uint32_t serial = it == serial_.end() ? 0 : it->second;
    send(channel::Outgoing(channel::Type::display_released)
             .add(channel::DisplayReleased{resource_id, serial}));
}

void DeviceLink::set_scanout_mode(uint32_t index, const gpu::ScanoutConfig& mode) {
    send(
        channel::Outgoing(channel::Type::scanout_config)
            .add(channel::ScanoutConfigChange{index, {mode.width, mode.height, mode.refresh_mhz}}));
}

void DeviceLink::attach_input(const channel::AttachInput& attach, UniqueFd socket) {
    send(channel::Outgoing(channel::Type::attach_input).add(attach).add_fd(socket.get()));
}

void DeviceLink::send_input(uint32_t slot, std::span<const channel::WireInputEvent> events) {
    if (events.empty() || events.size() > channel::max_input_frame) {
        return;
    }
    send(channel::Outgoing(channel::Type::input_frame)
             .add(channel::InputFrame{slot, static_cast<uint32_t>(events.size())})
             .add_bytes(std::as_bytes(events)));
}

void DeviceLink::set_log_levels(std::string_view spec) {
    if (spec.size() > channel::max_log_spec) {
        log::warn(gpu_log, "guest {}: log levels of {} bytes not passed on to its device process",
                  config_.guest, spec.size());
        return;
    }
    send(channel::Outgoing(channel::Type::log_levels).add_bytes(std::as_bytes(std::span(spec))));
}

// The heartbeat: a device that leaves a ping unanswered past the timeout is ended. Until it
// has said anything, it is still starting (exec, loading, its sandbox: slow under sanitizers
// and emulation) and has the start timeout.
void DeviceLink::ping() {
    auto now = std::chrono::steady_clock::now();
    auto timeout = heard_from_ ? config_.answer_timeout : config_.start_timeout;
    if (ping_sent_at_ && now - *ping_sent_at_ > timeout) {
        fail(heard_from_ ? std::format("stopped answering (no answer in {} ms)", timeout.count())
                         : std::format("did not start (no answer in {} ms)", timeout.count()));
        return;
    }
    if (!ping_sent_at_) {
        ping_sent_at_ = now;
        send(channel::Outgoing(channel::Type::ping).add(channel::Ping{++ping_sequence_}));
    }
    if (!ended_) {
        ping_timer_.arm(config_.ping_period);
    }
}

void DeviceLink::on_channel() {
    drain(false);
}

// Handles what the device sent. `exited`: it is gone, and its hang-up is no news.
void DeviceLink::drain(bool exited) {
    std::weak_ptr<bool> alive = alive_;
    // Bounded per wakeup, so a chatty device cannot hold the compositor's loop; all of it once
    // the process is gone.
    for (int i = 0; (exited || i < 512) && !alive.expired() && !ended_; ++i) {
        auto received = channel::receive(channel_.get());
        if (!received && !received.error().hung_up) {
            fail(std::format("broke its channel: {}", received.error().what));
            return;
        }
        if (!received) {
            channel_watch_.reset();
            if (!pidfd_ && !exited) {
                finish(received.error().what, true); // in this process: the host is gone
            }
            return; // otherwise its exit, on the pidfd, says how it ended
        }
        if (!*received) {
            return;
        }
        if (auto wrong = handle(**received); wrong && !alive.expired() && !ended_) {
            fail(std::format("broke its channel: {}", *wrong));
            return;
        }
        heard_from_ = true;
    }
}

std::optional<std::string> DeviceLink::handle(channel::Message& message) {
    using channel::Type;
    switch (message.type) {
    case Type::memory:
        return take_memory(message);
    case Type::lend:
        return take_lend(message);
    case Type::scanout:
        return take_scanout(message);
    case Type::cursor:
        return take_cursor(message);
    default:
        break;
    }
    if (!message.fds.empty()) {
        return "fds with a message that takes none";
    }
    switch (message.type) {
    case Type::state: {
        channel::State m{};
        if (!message.read(m) || m.state < channel::DeviceState::connected ||
            m.state > channel::DeviceState::stopped) {
            return "a bad state";
        }
        if (events_.on_state) {
            events_.on_state(m.state);
        }
        return std::nullopt;
    }
    case Type::forget: {
        channel::Forget m{};
        if (!message.read(m)) {
            return "a bad forget";
        }
        if (auto it = lends_.find(m.lend_id); it != lends_.end()) {
            lent_bytes_ -= it->second.memory->bytes().size();
            lends_.erase(it);
        }
        return std::nullopt;
    }
    case Type::flush: {
        channel::Flush m{};
        if (!message.read(m) || m.index >= config_.scanouts.size()) {
            return "a bad flush";
        }
        if (events_.on_flush) {
            events_.on_flush(m.index, {m.x, m.y, m.width, m.height});
        }
        return std::nullopt;
    }
    case Type::fence: {
        channel::Fence m{};
        if (!message.read(m) || m.index >= config_.scanouts.size()) {
            return "a bad fence";
        }
        if (events_.on_fence) {
            events_.on_fence(m.index, m.token);
        }
        return std::nullopt;
    }
    case Type::resource_gone: {
        channel::ResourceGone m{};
        if (!message.read(m)) {
            return "a bad resource_gone";
        }
        serial_.erase(m.resource_id);
        if (events_.on_resource_gone) {
            events_.on_resource_gone(m.resource_id);
        }
        return std::nullopt;
    }
    case Type::stats: {
        channel::Stats m{};
        if (!message.read(m) || m.input_count > channel::max_input_devices) {
            return "bad stats";
        }
        stats_ = m;
        if (m.sequence != 0 && m.sequence == ping_sequence_) {
            ping_sent_at_.reset();
            ++pings_answered_;
        }
        if (events_.on_stats) {
            events_.on_stats(m);
        }
        return std::nullopt;
    }
    case Type::input_state: {
        channel::InputState m{};
        if (!message.read(m) || m.slot >= channel::max_input_devices ||
            m.state > channel::InputDeviceState::running) {
            return "a bad input state";
        }
        if (events_.on_input_state) {
            events_.on_input_state(m);
        }
        return std::nullopt;
    }
    case Type::closed: {
        channel::Closed m{};
        if (!message.read(m, true) || m.reason_length > channel::max_reason ||
            message.after<channel::Closed>().size() != m.reason_length) {
            return "a bad closed";
        }
        auto text = message.after<channel::Closed>();
        closed_reason_.assign(reinterpret_cast<const char*>(text.data()), text.size());
        std::erase_if(closed_reason_, [](char c) { return c < 0x20 || c == 0x7f; });
        if (closed_reason_.empty()) {
            closed_reason_ = "closed";
        }
        // The VMM went: the device process has nothing left to do, and the guest's next VMM
        // may connect at once.
        finish(closed_reason_, false);
        return std::nullopt;
    }
    default:
        return std::format("a message of unknown type {}", static_cast<unsigned>(message.type));
    }
}

// Guest RAM regions, for lends in pieces. They are mapped here only if sealed against shrinking.
std::optional<std::string> DeviceLink::take_memory(channel::Message& message) {
    channel::Memory m{};
    if (!message.read(m) || m.region_count > channel::max_fds ||
        message.fds.size() != m.region_count || generations_.contains(m.generation)) {
        return "a bad memory table";
    }
    Generation generation;
    for (uint32_t i = 0; i < m.region_count; ++i) {
        if (auto wrong = check_sealed_memory(message.fds[i].get(), m.region_sizes[i])) {
            generation.usable = false;
            if (!std::exchange(unsealed_reported_, true)) {
                log::warn(gpu_log,
                          "guest {}: guest RAM region {} is {}: its blobs are not shown without "
                          "udmabuf (use QEMU's memory-backend-memfd, sealed by default)",
                          config_.guest, i, *wrong);
            }
        }
        generation.sizes.push_back(m.region_sizes[i]);
    }
    generation.fds = std::move(message.fds);
    generations_[m.generation] = std::move(generation);
    while (generations_.size() > 2) {
        generations_.erase(generations_.begin());
    }
    return std::nullopt;
}

std::optional<std::string> DeviceLink::take_lend(channel::Message& message) {
    channel::Lend m{};
    if (!message.read(m, true) || m.size == 0 || lends_.contains(m.lend_id)) {
        return "a bad lend";
    }
    // A device cannot make the compositor hold more than its guest's quota.
    uint64_t cap = config_.quota.max_resource_bytes + (64ull << 20);
    if (m.size > cap || lent_bytes_ + m.size > cap ||
        lends_.size() >= size_t{config_.quota.max_resources} * 2 + 16) {
        return "lent memory beyond its guest's quota";
    }
    std::expected<std::shared_ptr<const gpu::BlobMemory>, std::string> memory;
    switch (m.kind) {
    case channel::LendKind::dmabuf:
    case channel::LendKind::pixels: {
        if (message.fds.size() != 1 || message.after<channel::Lend>().size() != 0) {
            return "a lend without its fd";
        }
        int fd = message.fds[0].get();
        auto wrong = m.kind == channel::LendKind::dmabuf ? check_dmabuf(fd, m.size)
                                                         : check_sealed_memory(fd, m.size);
        if (wrong) {
            return std::format("a lend of {}", *wrong);
        }
        if (m.kind == channel::LendKind::dmabuf) {
            memory = gpu::BlobMemory::from_dmabuf(std::move(message.fds[0]), m.size);
        } else {
            gpu::FilePiece piece{fd, 0, m.size};
            memory = gpu::BlobMemory::from_file_pieces(std::span(&piece, 1), m.size);
        }
        break;
    }
    case channel::LendKind::pieces: {
        auto table = message.after<channel::Lend>();
        if (!message.fds.empty() || m.piece_count == 0 ||
            m.piece_count > channel::max_lend_pieces ||
            table.size() != size_t{m.piece_count} * sizeof(channel::LendPiece)) {
            return "a bad piece table";
        }
        auto generation = generations_.find(m.generation);
        if (generation == generations_.end()) {
            return "a lend of unknown memory";
        }
        std::vector<gpu::FilePiece> pieces;
        uint64_t total = 0;
        for (uint32_t i = 0; i < m.piece_count; ++i) {
            channel::LendPiece piece{};
            std::memcpy(&piece, table.data() + i * sizeof(piece), sizeof(piece));
            if (piece.region >= generation->second.fds.size() || piece.length == 0 ||
                piece.offset % page_size != 0 ||
                piece.offset > generation->second.sizes[piece.region] ||
                round_up_to_page(piece.length) >
                    generation->second.sizes[piece.region] - piece.offset ||
                (i + 1 < m.piece_count && piece.length % page_size != 0)) {
                return "a piece outside guest memory";
            }
            pieces.push_back(
                {generation->second.fds[piece.region].get(), piece.offset, piece.length});
            total += piece.length;
        }
        if (total < m.size) {
            return "pieces smaller than the lend";
        }
        if (!generation->second.usable) {
            memory = std::unexpected("guest RAM not sealed");
        } else {
            memory = gpu::BlobMemory::from_file_pieces(pieces, m.size);
        }
        break;
    }
    default:
        return "a lend of unknown kind";
    }
    if (!memory) {
        // Not the device's fault (mapping limits, unsealed guest RAM): nothing of it is shown.
        log::debug(gpu_log, "guest {}: lent memory not mapped: {}", config_.guest, memory.error());
        lends_[m.lend_id] = {nullptr, m.kind};
        return std::nullopt;
    }
    lent_bytes_ += (*memory)->bytes().size();
    lends_[m.lend_id] = {std::move(*memory), m.kind};
    return std::nullopt;
}

std::optional<std::string> DeviceLink::take_scanout(const channel::Message& message) {
    channel::Scanout m{};
    if (!message.fds.empty() || !message.read(m) || m.index >= config_.scanouts.size()) {
        return "a bad scanout";
    }
    if (m.source == channel::ScanoutSource::none) {
        if (events_.on_scanout) {
            events_.on_scanout(m.index, nullptr);
        }
        return std::nullopt;
    }
    if (m.source != channel::ScanoutSource::in_place && m.source != channel::ScanoutSource::copy &&
        m.source != channel::ScanoutSource::readback) {
        return "a bad scanout source";
    }
    auto lend = lends_.find(m.lend_id);
    if (lend == lends_.end()) {
        return "a scanout of memory never lent";
    }
    const auto& i = m.image;
    LentFrame frame;
    frame.resource_id = m.resource_id;
    frame.read_back = m.source == channel::ScanoutSource::readback;
    frame.in_place = m.source == channel::ScanoutSource::in_place || frame.read_back;
    frame.image = {static_cast<gpu::proto::Format>(i.format),
                   i.width,
                   i.height,
                   i.stride,
                   i.offset,
                   {i.rect_x, i.rect_y, i.rect_width, i.rect_height},
                   i.modifier,
                   i.bottom_up != 0};
    // The image must lie in the memory, its rect in the image.
    uint64_t row = uint64_t{i.width} * gpu::proto::bytes_per_pixel;
    bool valid = gpu::proto::is_known_format(i.format) && i.width > 0 && i.height > 0 &&
                 i.width <= 16384 && i.height <= 16384 && i.stride >= row && i.rect_width > 0 &&
                 i.rect_height > 0 && i.rect_x <= i.width && i.rect_width <= i.width - i.rect_x &&
                 i.rect_y <= i.height && i.rect_height <= i.height - i.rect_y && i.bottom_up <= 1;
    if (!valid) {
        return "a bad scanout image";
    }
    serial_[m.resource_id] = m.serial;
    const auto& memory = lend->second.memory;
    uint64_t end = i.offset + uint64_t{i.stride} * (i.height - 1) + row;
    if (!memory || i.offset > memory->bytes().size() || end > memory->bytes().size() ||
        (m.source != channel::ScanoutSource::in_place &&
         lend->second.kind != channel::LendKind::pixels) || // copies and readbacks: host pixels
        (i.modifier != gpu::proto::modifier_linear &&
         lend->second.kind != channel::LendKind::dmabuf)) { // a layout only dma-bufs carry
        // Memory that could not be mapped here, or an image past its end: nothing to show.
        if (events_.on_scanout) {
            events_.on_scanout(m.index, nullptr);
        }
        return memory ? std::optional<std::string>("an image outside its memory") : std::nullopt;
    }
    frame.memory = memory;
    if (events_.on_scanout) {
        events_.on_scanout(m.index, &frame);
    }
    return std::nullopt;
}

std::optional<std::string> DeviceLink::take_cursor(const channel::Message& message) {
    channel::CursorHeader m{};
    if (!message.fds.empty() || !message.read(m, true) || m.index >= config_.scanouts.size()) {
        return "a bad cursor";
    }
    auto pixels = message.after<channel::CursorHeader>();
    bool changed = m.image_changed != 0;
    if (pixels.size() != m.pixel_bytes || m.pixel_bytes > channel::max_cursor_bytes ||
        m.width > 64 || m.height > 64 ||
        (changed && m.pixel_bytes != m.width * m.height * gpu::proto::bytes_per_pixel) ||
        (changed && !gpu::proto::is_known_format(m.format))) {
        return "a bad cursor image";
    }
    gpu::Cursor cursor;
    cursor.visible = m.visible != 0;
    cursor.x = m.x;
    cursor.y = m.y;
    cursor.hot_x = m.hot_x;
    cursor.hot_y = m.hot_y;
    cursor.width = m.width;
    cursor.height = m.height;
    cursor.format = static_cast<gpu::proto::Format>(m.format);
    cursor.pixels.assign(pixels.begin(), pixels.end());
    if (events_.on_cursor) {
        events_.on_cursor(m.index, cursor, changed);
    }
    return std::nullopt;
}

} // namespace tessera::compositor
