#include "gpu-backend/vhost_user/connection.hpp"

#include "gpu-backend/base/fd_kind.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <format>
#include <span>
#include <type_traits>
#include <utility>
#include <variant>

#include "gpu-backend/base/bytes.hpp"

namespace tessera::gpu {
namespace {

using namespace vhost;

constexpr uint64_t transport_features = feature::version_1 | feature::ring_indirect_desc |
                                        feature::ring_event_idx | feature::protocol_features;
constexpr uint64_t offered_protocol_features =
    protocol_feature::reply_ack | protocol_feature::backend_req | protocol_feature::config |
    protocol_feature::reset_device;
// Messages handled per wakeup before yielding to the event loop (it is level-triggered, so
// the rest is read on the next round).
constexpr unsigned messages_per_wakeup = 64;

template <typename... Fs> struct Overloaded : Fs... {
    using Fs::operator()...;
};

void set_nonblocking(int fd) {
    // Kick and call eventfds come from the frontend: a blocking one would let it stall the
    // whole compositor on a read or a write. QEMU's are non-blocking already.
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK)) {
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
}

// One send() of `bytes` that never blocks nor raises SIGPIPE, retried on EINTR: what was sent,
// or -1 with errno set.
ssize_t send_nonblocking(int fd, std::span<const std::byte> bytes) {
    ssize_t n = 0;
    do {
        n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n;
}

bool valid_ring_size(uint32_t num) {
    return num != 0 && num <= vring::max_size && (num & (num - 1)) == 0;
}

} // namespace

Connection::Connection(UniqueFd socket, ConnectionCallbacks callbacks, DeviceModel model)
    : socket_(std::move(socket)), callbacks_(std::move(callbacks)), model_(std::move(model)) {
    bool model_fits = model_.queue_count > 0 && model_.queue_count <= max_queues;
    vrings_.resize(model_fits ? model_.queue_count : 0);
    if (!socket_ || !callbacks_.add_fd || !callbacks_.remove_fd || !model_fits) {
        open_ = false;
        socket_.reset();
        return;
    }
    if (!callbacks_.add_fd(socket_.get(), [this] { on_socket_readable(); })) {
        open_ = false;
        socket_.reset();
    }
}

Connection::~Connection() {
    unhook_all();
}

uint64_t Connection::offered_features() const {
    // Device-type bits are 0 to 23: a model cannot offer transport features by mistake.
    return transport_features | (model_.features & 0xff'ffff);
}

SplitQueue* Connection::queue(unsigned index) {
    if (index >= vrings_.size() || !vrings_[index].queue) {
        return nullptr;
    }
    return &*vrings_[index].queue;
}

template <typename... Args>
void Connection::guest_warn(std::format_string<Args...> fmt, Args&&... args) {
    uint64_t suppressed = 0;
    if (!vhost::vhost_log.enabled(log::Level::warn) || !limiter_.allow(suppressed)) {
        return;
    }
    auto line = std::format(fmt, std::forward<Args>(args)...);
    if (suppressed > 0) {
        line += std::format(" ({} similar lines suppressed)", suppressed);
    }
    log::warn(vhost::vhost_log, "{}", line);
}

// Runs an owner callback; false when it destroyed or closed the connection. The function is
// copied first: destroying the Connection destroys callbacks_ while it runs.
template <typename F, typename... Args>
static bool run_callback(const std::shared_ptr<bool>& alive_token, const bool& open,
                         const F& callback, Args&&... args) {
    if (!callback) {
        return open;
    }
    std::weak_ptr<bool> alive = alive_token;
    auto call = callback;
    call(std::forward<Args>(args)...);
    return !alive.expired() && open;
}

// ---- Receiving ----

void Connection::on_socket_readable() {
    std::weak_ptr<bool> alive = alive_;
    for (unsigned handled = 0; handled < messages_per_wakeup;) {
        if (alive.expired() || !open_) {
            return;
        }
        switch (read_some()) {
        case ReadResult::again:
        case ReadResult::closed:
            return;
        case ReadResult::progress:
            break;
        case ReadResult::message:
            ++handled;
            dispatch();
            break;
        }
    }
}

Connection::ReadResult Connection::read_some() {
    std::byte* into = nullptr;
    size_t want = 0;
    if (!rx_parsed_) {
        into = rx_header_.data() + rx_header_have_;
        want = rx_header_.size() - rx_header_have_;
    } else {
        into = rx_payload_.data() + rx_payload_have_;
        want = rx_payload_.size() - rx_payload_have_;
    }

    // Exactly the bytes of the current message: fds sent with the next one stay queued.
    iovec iov{into, want};
    alignas(cmsghdr) std::byte control[CMSG_SPACE(sizeof(int) * max_fds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(socket_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n >= 0) {
        // Into UniqueFds before anything else looks at them, so every path closes them.
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
                continue;
            }
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd = -1;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                rx_fds_.emplace_back(fd);
            }
        }
        // The kernel closed what did not fit: more than any request carries.
        if (msg.msg_flags & MSG_CTRUNC) {
            rx_fds_truncated_ = true;
        }
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return ReadResult::again;
        }
        if (errno == EINTR) {
            return ReadResult::progress;
        }
        close(std::format("read: {}", std::strerror(errno)));
        return ReadResult::closed;
    }
    if (n == 0) {
        bool idle = !rx_parsed_ && rx_header_have_ == 0;
        close(idle ? "the frontend closed the connection" : "end of file inside a message",
              /*failure=*/!idle);
        return ReadResult::closed;
    }

    if (!rx_parsed_) {
        rx_header_have_ += static_cast<size_t>(n);
        if (rx_header_have_ < header_size) {
            return ReadResult::progress;
        }
        auto header = parse_header(rx_header_);
        if (!header) {
            close(header.error());
            return ReadResult::closed;
        }
        rx_parsed_ = *header;
        rx_payload_.assign(header->size, std::byte{0});
        rx_payload_have_ = 0;
    } else {
        rx_payload_have_ += static_cast<size_t>(n);
    }
    return rx_payload_have_ == rx_payload_.size() ? ReadResult::message : ReadResult::progress;
}

void Connection::dispatch() {
    Header header = *rx_parsed_;
    std::vector<std::byte> payload = std::move(rx_payload_);
    std::vector<UniqueFd> fds = std::move(rx_fds_);
    bool truncated = std::exchange(rx_fds_truncated_, false);
    rx_parsed_.reset();
    rx_header_have_ = 0;
    rx_payload_.clear();
    rx_payload_have_ = 0;
    rx_fds_.clear();

    if (truncated) {
        close(std::format("{}: more than {} fds", request_name(header.request), max_fds));
        return;
    }
    auto message = decode(header, payload, std::move(fds));
    if (!message) {
        close(message.error());
        return;
    }
    ack_request_ = header.request;
    log::debug(vhost::vhost_log, "{}{}", request_name(header.request),
               message->need_reply() ? " (need reply)" : "");
    handle(*message);
}

// ---- Replies ----

bool Connection::send_reply(const std::vector<std::byte>& bytes) {
    ssize_t n = send_nonblocking(socket_.get(), bytes);
    // A reply that does not fit into the socket buffer means the frontend sends requests
    // without reading their replies: give up on it rather than buffer without bound.
    if (n != static_cast<ssize_t>(bytes.size())) {
        close(n < 0 ? std::format("sending a reply: {}", std::strerror(errno))
                    : std::string("the frontend does not read its replies"));
        return false;
    }
    return true;
}

bool Connection::notify_config_change() {
    if (!open_ || !backend_channel_ ||
        !(acked_protocol_features_ & protocol_feature::backend_req)) {
        return false;
    }
    auto bytes = encode(code(BackendRequestCode::config_change), flag_version, {});
    ssize_t n = send_nonblocking(backend_channel_.get(), bytes);
    if (n != static_cast<ssize_t>(bytes.size())) {
        // A frontend that does not read its channel loses the notice, nothing else.
        log::debug(vhost::vhost_log, "config change not sent: {}",
                   n < 0 ? std::strerror(errno) : "short write");
        return false;
    }
    return true;
}

void Connection::ack(const Message& message, bool success) {
    if (open_ && message.need_reply()) {
        // The header flags do not carry the request; REPLY_ACK replies echo it.
        send_reply(encode_u64_reply(ack_request_, success ? 0 : 1));
    }
}

// ---- Requests ----

bool Connection::check_index(uint32_t request, uint32_t index) {
    if (index < vrings_.size()) {
        return true;
    }
    close(std::format("{}: ring {} (the device has {})", request_name(request), index,
                      vrings_.size()));
    return false;
}

void Connection::handle(Message& message) {
    std::visit(
        Overloaded{
            [&](GetFeatures&) {
                send_reply(encode_u64_reply(code(RequestCode::get_features), offered_features()));
            },
            [&](SetFeatures& r) {
                if (r.features & feature::ring_packed) {
                    close("SET_FEATURES: packed virtqueues are not supported");
                    return;
                }
                bool event_idx_changed =
                    ((acked_features_ ^ r.features) & feature::ring_event_idx) != 0;
                acked_features_ = r.features;
                if (event_idx_changed) {
                    // A running queue was set up for the other notification scheme.
                    for (unsigned i = 0; i < vrings_.size(); ++i) {
                        if (vrings_[i].queue) {
                            stop_queue(i);
                            if (!update_ready(i)) {
                                return;
                            }
                        }
                    }
                }
                ack(message);
            },
            [&](SetOwner&) { ack(message); },
            [&](ResetOwner&) {
                if (reset_device()) {
                    ack(message);
                }
            },
            [&](ResetDevice&) {
                if (reset_device()) {
                    ack(message);
                }
            },
            [&](SetMemTable& r) {
                auto memory = GuestMemory::map(r.regions, std::move(r.fds));
                if (!memory) {
                    close(std::format("SET_MEM_TABLE: {}", memory.error()));
                    return;
                }
                memory_ = std::move(*memory);
                // Running queues follow the new table; chains in flight keep the old one.
                for (unsigned i = 0; i < vrings_.size(); ++i) {
                    if (auto& q = vrings_[i].queue) {
                        auto moved = locate_rings(vrings_[i]).and_then([&](RingAreas rings) {
                            return q->rebind(memory_, rings);
                        });
                        if (!moved) {
                            close(
                                std::format("SET_MEM_TABLE: ring {}: {}", i, moved.error().reason));
                            return;
                        }
                    }
                }
                for (unsigned i = 0; i < vrings_.size(); ++i) {
                    if (!update_ready(i)) {
                        return;
                    }
                }
                ack(message);
            },
            [&](SetVringNum& r) {
                if (!check_index(code(RequestCode::set_vring_num), r.index)) {
                    return;
                }
                if (!valid_ring_size(r.num)) {
                    close(std::format("SET_VRING_NUM: ring size {}", r.num));
                    return;
                }
                stop_queue(r.index);
                vrings_[r.index].num = r.num;
                if (update_ready(r.index)) {
                    ack(message);
                }
            },
            [&](SetVringAddr& r) {
                if (!check_index(code(RequestCode::set_vring_addr), r.index)) {
                    return;
                }
                stop_queue(r.index);
                vrings_[r.index].addr = r;
                if (update_ready(r.index)) {
                    ack(message);
                }
            },
            [&](SetVringBase& r) {
                if (!check_index(code(RequestCode::set_vring_base), r.index)) {
                    return;
                }
                if (r.num > 0xffff) {
                    close(std::format("SET_VRING_BASE: base {} for a split ring", r.num));
                    return;
                }
                stop_queue(r.index);
                vrings_[r.index].base = static_cast<uint16_t>(r.num);
                if (update_ready(r.index)) {
                    ack(message);
                }
            },
            [&](GetVringBase& r) {
                if (!check_index(code(RequestCode::get_vring_base), r.index)) {
                    return;
                }
                // Stopping a ring means it needs a new kick fd to start again (vhost-user.rst
                // "Starting and stopping rings").
                stop_queue(r.index);
                set_fd(r.index, vrings_[r.index].kick, UniqueFd(), true, "GET_VRING_BASE");
                broken_ = false;
                // The device drops its resources before the frontend hears the ring stopped.
                if (!rings_stopped()) {
                    return;
                }
                send_reply(encode_vring_state_reply(code(RequestCode::get_vring_base), r.index,
                                                    vrings_[r.index].base));
            },
            [&](SetVringKick& r) {
                if (!check_index(code(RequestCode::set_vring_kick), r.index)) {
                    return;
                }
                auto& vring = vrings_[r.index];
                if (!r.fd) {
                    guest_warn("ring {}: kick without fd (polling) is not supported", r.index);
                    stop_queue(r.index);
                }
                if (!set_fd(r.index, vring.kick, std::move(r.fd), true, "SET_VRING_KICK")) {
                    return;
                }
                // Without protocol features a ring starts enabled (vhost-user.rst).
                if (!(acked_features_ & feature::protocol_features)) {
                    vring.enabled = true;
                }
                if (update_ready(r.index)) {
                    ack(message);
                }
            },
            [&](SetVringCall& r) {
                if (check_index(code(RequestCode::set_vring_call), r.index) &&
                    set_fd(r.index, vrings_[r.index].call, std::move(r.fd), false,
                           "SET_VRING_CALL")) {
                    ack(message);
                }
            },
            [&](SetVringErr& r) {
                if (check_index(code(RequestCode::set_vring_err), r.index) &&
                    set_fd(r.index, vrings_[r.index].err, std::move(r.fd), false,
                           "SET_VRING_ERR")) {
                    ack(message);
                }
            },
            [&](GetProtocolFeatures&) {
                send_reply(encode_u64_reply(code(RequestCode::get_protocol_features),
                                            offered_protocol_features));
            },
            [&](SetProtocolFeatures& r) {
                acked_protocol_features_ = r.features & offered_protocol_features;
                ack(message);
            },
            [&](GetQueueNum&) {
                send_reply(encode_u64_reply(code(RequestCode::get_queue_num), vrings_.size()));
            },
            [&](SetVringEnable& r) {
                if (!check_index(code(RequestCode::set_vring_enable), r.index)) {
                    return;
                }
                vrings_[r.index].enabled = r.enable;
                if (!r.enable) {
                    stop_queue(r.index);
                }
                if (update_ready(r.index)) {
                    ack(message);
                }
            },
            [&](GetConfig& r) {
                std::vector<std::byte> config;
                if (model_.read_config) {
                    config = model_.read_config();
                }
                std::span<const std::byte> data;
                // A range outside the config space gets an empty reply: an error.
                if (r.offset <= config.size() && r.size <= config.size() - r.offset) {
                    data = std::span(config).subspan(r.offset, r.size);
                } else {
                    guest_warn("GET_CONFIG: bytes {}+{} outside the {} config space", r.offset,
                               r.size, model_.name);
                }
                send_reply(encode_config_reply(r.offset, r.flags, data));
            },
            [&](SetConfig& r) {
                std::optional<std::string> refused = "the device has no writable config";
                if (model_.write_config) {
                    refused = model_.write_config(r.offset, r.data);
                }
                if (refused) {
                    guest_warn("SET_CONFIG {}+{} refused: {}", r.offset, r.data.size(), *refused);
                }
                ack(message, !refused);
            },
            [&](SetBackendReqFd& r) {
                // Only ever written to, never blocking: a peer's fd of any other kind ends
                // the connection rather than being trusted.
                if (auto wrong = fd_kind::check_socket(r.fd.get())) {
                    close(std::format("SET_BACKEND_REQ_FD: {}", *wrong));
                    return;
                }
                backend_channel_ = std::move(r.fd);
                ack(message);
            },
            [&](GpuSetSocket& r) {
                if (!model_.takes_gpu_socket) {
                    guest_warn("VHOST_USER_GPU_SET_SOCKET to a {} device ignored", model_.name);
                    ack(message, false);
                    return;
                }
                if (auto wrong = fd_kind::check_socket(r.fd.get())) {
                    close(std::format("VHOST_USER_GPU_SET_SOCKET: {}", *wrong));
                    return;
                }
                // Kept open and unused: this backend displays by itself (virtio-gpu.md).
                gpu_socket_ = std::move(r.fd);
                ack(message);
            },
            [&](Unknown& r) {
                guest_warn("{} ignored", request_name(r.request));
                if (message.need_reply()) {
                    send_reply(encode_u64_reply(r.request, 1));
                }
            },
        },
        message.request);
}

// ---- Rings ----

bool Connection::update_ready(unsigned index) {
    auto& vring = vrings_[index];
    bool ready = open_ && !broken_ && memory_ && vring.num != 0 && vring.addr &&
                 vring.kick.valid() && vring.enabled;
    if (!ready || vring.queue) {
        return open_;
    }
    QueueConfig config{vring.num, vring.base, (acked_features_ & feature::ring_event_idx) != 0};
    auto queue = locate_rings(vring).and_then(
        [&](RingAreas rings) { return SplitQueue::create(memory_, rings, config); });
    if (!queue) {
        close(std::format("ring {}: {}", index, queue.error().reason));
        return false;
    }
    vring.queue.emplace(std::move(*queue));
    running_ = true;
    log::debug(vhost::vhost_log, "ring {} started: size {}, base {}", index, vring.num, vring.base);
    return run_callback(alive_, open_, callbacks_.on_queue_ready, index);
}

std::expected<RingAreas, RingError> Connection::locate_rings(const VringState& vring) const {
    // SET_VRING_ADDR gives the frontend's own user addresses: only the memory table knows
    // where they are; the ring walker gets host memory.
    const uint64_t n = vring.num;
    auto desc = memory_->translate_user(vring.addr->desc, RingAreas::desc_bytes(n));
    auto avail = memory_->translate_user(vring.addr->avail, RingAreas::avail_bytes(n));
    auto used = memory_->translate_user(vring.addr->used, RingAreas::used_bytes(n));
    if (!desc || !avail || !used) {
        return std::unexpected(RingError{
            std::format("ring outside guest memory (desc {:#x}, avail {:#x}, used {:#x}, size {})",
                        vring.addr->desc, vring.addr->avail, vring.addr->used, n)});
    }
    return RingAreas{*desc, *avail, *used};
}

void Connection::stop_queue(unsigned index) {
    auto& vring = vrings_[index];
    if (vring.queue) {
        vring.base = vring.queue->next_avail();
        vring.queue.reset();
    }
}

void Connection::stop_all() {
    for (unsigned i = 0; i < vrings_.size(); ++i) {
        stop_queue(i);
    }
}

bool Connection::rings_stopped() {
    stop_all();
    if (!running_) {
        return open_;
    }
    running_ = false;
    return run_callback(alive_, open_, callbacks_.on_rings_stopped);
}

bool Connection::reset_device() {
    if (!rings_stopped()) {
        return false;
    }
    for (unsigned i = 0; i < vrings_.size(); ++i) {
        set_fd(i, vrings_[i].kick, UniqueFd(), true, "reset");
        vrings_[i] = VringState{};
    }
    acked_features_ = 0;
    broken_ = false;
    return true;
}

bool Connection::set_fd(unsigned index, UniqueFd& slot, UniqueFd fd, bool watch,
                        std::string_view what) {
    if (fd) {
        if (auto wrong = fd_kind::check_eventfd(fd.get())) {
            close(std::format("{}: ring {}: {}", what, index, *wrong));
            return false;
        }
    }
    if (watch && slot && callbacks_.remove_fd) {
        callbacks_.remove_fd(slot.get());
    }
    slot = std::move(fd);
    if (!slot) {
        return true;
    }
    set_nonblocking(slot.get());
    if (watch && !callbacks_.add_fd(slot.get(), [this, index] { on_kick_readable(index); })) {
        slot.reset(); // not watched: nothing to remove on close
        close(std::format("{}: ring {}: the event loop cannot watch the fd", what, index));
        return false;
    }
    return true;
}

void Connection::on_kick_readable(unsigned index) {
    auto& vring = vrings_[index];
    uint64_t count = 0;
    ssize_t n = read(vring.kick.get(), &count, sizeof(count));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return; // nothing to read after all; the loop calls again if there is
    }
    if (n != sizeof(count)) {
        // A kick fd that is readable but yields no counter (a pipe at EOF) would spin the loop.
        close(std::format("ring {}: kick fd is not an eventfd", index));
        return;
    }
    if (vring.queue) {
        run_callback(alive_, open_, callbacks_.on_kick, index);
    }
}

std::expected<std::optional<DescriptorChain>, RingError> Connection::pop(unsigned index) {
    SplitQueue* running = queue(index);
    if (!running) {
        return std::nullopt;
    }
    return running->pop();
}

void Connection::notify_if_needed(unsigned index) {
    SplitQueue* running = queue(index);
    if (running && running->needs_notification()) {
        notify(index);
    }
}

bool Connection::notify(unsigned index) {
    if (index >= vrings_.size() || !vrings_[index].call) {
        return false;
    }
    uint64_t one = 1;
    // EAGAIN: the counter is saturated, the frontend has a notification pending anyway.
    [[maybe_unused]] ssize_t n = write(vrings_[index].call.get(), &one, sizeof(one));
    return true;
}

void Connection::fail_device(std::string_view reason) {
    if (broken_ || !open_) {
        return;
    }
    guest_warn("device stopped: {}", reason);
    broken_ = true;
    stop_all();
    for (auto& vring : vrings_) {
        if (vring.err) {
            uint64_t one = 1;
            [[maybe_unused]] ssize_t n = write(vring.err.get(), &one, sizeof(one));
        }
    }
}

// ---- Closing ----

void Connection::unhook_all() {
    if (!callbacks_.remove_fd) {
        return;
    }
    if (open_ && socket_) {
        callbacks_.remove_fd(socket_.get());
    }
    for (auto& vring : vrings_) {
        if (vring.kick) {
            callbacks_.remove_fd(vring.kick.get());
        }
    }
}

void Connection::close(std::string_view why, bool failure) {
    if (!open_) {
        return;
    }
    std::string reason(why); // `why` may point into state this function frees
    if (failure) {
        guest_warn("connection closed: {}", reason);
    } else {
        log::debug(vhost::vhost_log, "connection closed: {}", reason);
    }
    unhook_all();
    open_ = false;
    std::weak_ptr<bool> alive = alive_;
    stop_all();
    if (std::exchange(running_, false) && callbacks_.on_rings_stopped) {
        auto call = callbacks_.on_rings_stopped;
        call();
        if (alive.expired()) {
            return;
        }
    }
    socket_.reset();
    for (auto& vring : vrings_) {
        vring = VringState{};
    }
    gpu_socket_.reset();
    backend_channel_.reset();
    memory_.reset();
    rx_fds_.clear();
    if (callbacks_.on_closed) {
        auto call = callbacks_.on_closed;
        call(reason);
    }
}

} // namespace tessera::gpu
