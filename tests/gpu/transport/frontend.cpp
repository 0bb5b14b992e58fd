#include "frontend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "gpu-backend/base/bytes.hpp"
#include "gpu-backend/virtqueue/split_queue.hpp"

namespace tessera::gpu::test {
namespace {

using vhost::RequestCode;

UniqueFd make_eventfd() {
    return UniqueFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

uint64_t align_up(uint64_t value, uint64_t align) {
    return (value + align - 1) / align * align;
}

} // namespace

size_t open_fd_count() {
    size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
        ++count;
    }
    return count;
}

size_t open_fds_named(std::string_view name) {
    size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code error;
        auto target = std::filesystem::read_symlink(entry.path(), error);
        count += !error && target.string().find(name) != std::string::npos;
    }
    return count;
}

bool fd_is_open(int fd) {
    return fcntl(fd, F_GETFD) != -1;
}

Frontend::Frontend(TestEventLoop& loop, FrontendOptions options)
    : loop_(loop), options_(std::move(options)) {
    if (!options_.connect_path.empty()) {
        socket_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (!socket_ || options_.connect_path.size() >= sizeof(address.sun_path)) {
            throw std::runtime_error("socket");
        }
        options_.connect_path.copy(address.sun_path, sizeof(address.sun_path) - 1);
        if (connect(socket_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) !=
            0) {
            throw std::runtime_error("connect " + options_.connect_path);
        }
    } else {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
            throw std::runtime_error("socketpair");
        }
        socket_.reset(pair[0]);
        backend_socket_.reset(pair[1]);
    }

    // Guest RAM like QEMU's memory-backend-memfd: sealed against resizing.
    memfd_.reset(memfd_create("tessera-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    for (const auto& spec : options_.regions) {
        regions_.push_back({spec.gpa, spec.size, uva_base + ram_size_, ram_size_});
        ram_size_ += spec.size;
        bump_.push_back(0);
    }
    if (!memfd_ || ftruncate(memfd_.get(), static_cast<off_t>(ram_size_)) != 0 ||
        fcntl(memfd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        throw std::runtime_error("memfd");
    }
    void* base = mmap(nullptr, ram_size_, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_.get(), 0);
    if (base == MAP_FAILED) {
        throw std::runtime_error("mmap");
    }
    ram_ = static_cast<std::byte*>(base);

    // Rings in the first region, laid out like Linux's vring_create_virtqueue_split.
    for (auto& ring : rings_) {
        ring.size = options_.queue_size;
        ring.desc = alloc(16ULL * ring.size, 16);
        ring.avail = alloc(6 + 2ULL * ring.size, 2);
        ring.used = alloc(6 + 8ULL * ring.size, 4);
        for (uint16_t i = 0; i < ring.size; ++i) {
            ring.free.push_back(i);
        }
    }
    after_rings_ = bump_;
}

Frontend::~Frontend() {
    if (ram_) {
        munmap(ram_, ram_size_);
    }
}

UniqueFd Frontend::take_backend_socket() {
    return std::move(backend_socket_);
}

// ---- Guest RAM ----

std::byte* Frontend::host(uint64_t gpa, uint64_t length) const {
    for (const auto& r : regions_) {
        if (gpa >= r.guest_phys_addr && gpa - r.guest_phys_addr + length <= r.memory_size) {
            return ram_ + r.mmap_offset + (gpa - r.guest_phys_addr);
        }
    }
    throw std::out_of_range("frontend: guest address outside its RAM");
}

uint64_t Frontend::alloc(uint64_t size, uint64_t align, size_t region) {
    const auto& r = regions_.at(region);
    uint64_t offset = align_up(bump_[region], align);
    if (offset + size > r.memory_size) {
        throw std::runtime_error("frontend: guest RAM exhausted");
    }
    bump_[region] = offset + size;
    std::memset(ram_ + r.mmap_offset + offset, 0, size);
    return r.guest_phys_addr + offset;
}

// How many bytes from `gpa` lie in the same region (at least 1, or host() throws).
uint64_t Frontend::contiguous(uint64_t gpa, uint64_t length) const {
    for (const auto& r : regions_) {
        if (gpa >= r.guest_phys_addr && gpa - r.guest_phys_addr < r.memory_size) {
            return std::min(length, r.memory_size - (gpa - r.guest_phys_addr));
        }
    }
    throw std::out_of_range("frontend: guest address outside its RAM");
}

// Region by region: ranges may cross from one region into the next.
void Frontend::write(uint64_t gpa, std::span<const std::byte> data) {
    while (!data.empty()) {
        uint64_t count = contiguous(gpa, data.size());
        std::memcpy(host(gpa, count), data.data(), count);
        data = data.subspan(count);
        gpa += count;
    }
}

std::vector<std::byte> Frontend::read(uint64_t gpa, uint64_t length) const {
    std::vector<std::byte> out(length);
    for (uint64_t done = 0; done < length;) {
        uint64_t count = contiguous(gpa + done, length - done);
        std::memcpy(out.data() + done, host(gpa + done, count), count);
        done += count;
    }
    return out;
}

uint64_t Frontend::uva_of(uint64_t gpa) const {
    for (const auto& r : regions_) {
        if (gpa >= r.guest_phys_addr && gpa - r.guest_phys_addr < r.memory_size) {
            return r.userspace_addr + (gpa - r.guest_phys_addr);
        }
    }
    throw std::out_of_range("frontend: guest address outside its RAM");
}

uint16_t Frontend::read_u16(uint64_t gpa) const {
    return std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(host(gpa, 2)))
        .load(std::memory_order_acquire);
}

void Frontend::write_u16(uint64_t gpa, uint16_t value) {
    std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(host(gpa, 2)))
        .store(value, std::memory_order_release);
}

// ---- Messages ----

bool Frontend::send_raw(std::span<const std::byte> bytes, std::span<const int> fds) {
    iovec iov{const_cast<std::byte*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<std::byte> control;
    if (!fds.empty()) {
        control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    return sendmsg(socket_.get(), &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

bool Frontend::send(RequestCode request, std::span<const std::byte> payload,
                    std::span<const int> fds, uint32_t flags) {
    auto bytes = vhost::encode(vhost::code(request), flags, payload);
    if (!send_raw(bytes, fds)) {
        return false;
    }
    loop_.run_until_idle(); // let the backend handle it
    return true;
}

std::optional<Reply> Frontend::read_reply(int timeout_ms) {
    auto readable = [&] {
        pollfd p{socket_.get(), POLLIN, 0};
        return poll(&p, 1, 0) > 0;
    };
    if (!loop_.run_until(readable, timeout_ms)) {
        return std::nullopt;
    }
    // The backend writes each reply whole, so it is all there once any of it is.
    std::array<std::byte, vhost::header_size> header{};
    if (recv(socket_.get(), header.data(), header.size(), MSG_WAITALL | MSG_DONTWAIT) !=
        static_cast<ssize_t>(header.size())) {
        return std::nullopt;
    }
    Reply reply;
    reply.header = {load_le<uint32_t>(header.data()), load_le<uint32_t>(header.data() + 4),
                    load_le<uint32_t>(header.data() + 8)};
    reply.payload.resize(reply.header.size);
    if (reply.header.size > 0 && recv(socket_.get(), reply.payload.data(), reply.payload.size(),
                                      MSG_DONTWAIT) != static_cast<ssize_t>(reply.payload.size())) {
        return std::nullopt;
    }
    return reply;
}

std::optional<uint64_t> Frontend::get_u64(RequestCode request) {
    if (!send(request)) {
        return std::nullopt;
    }
    auto reply = read_reply();
    if (!reply || reply->header.request != vhost::code(request) ||
        reply->header.flags != (vhost::flag_version | vhost::flag_reply) ||
        reply->payload.size() != 8) {
        return std::nullopt;
    }
    return load_le<uint64_t>(reply->payload.data());
}

bool Frontend::set_u64(RequestCode request, uint64_t value) {
    ByteWriter w;
    w.u64(value);
    return send(request, w.data());
}

bool Frontend::expect_ack(RequestCode request, bool success) {
    auto reply = read_reply();
    return reply && reply->header.request == vhost::code(request) && reply->payload.size() == 8 &&
           (load_le<uint64_t>(reply->payload.data()) == 0) == success;
}

bool Frontend::set_vring_state(RequestCode request, uint32_t index, uint32_t num, bool need_reply) {
    ByteWriter w;
    w.u32(index).u32(num);
    uint32_t flags = vhost::flag_version | (need_reply ? vhost::flag_need_reply : 0);
    if (!send(request, w.data(), {}, flags)) {
        return false;
    }
    return !need_reply || expect_ack(request);
}

bool Frontend::set_vring_addr(unsigned queue) {
    const auto& ring = rings_[queue];
    ByteWriter w;
    w.u32(queue).u32(0).u64(uva_of(ring.desc)).u64(uva_of(ring.used)).u64(uva_of(ring.avail));
    w.u64(0);
    return send(RequestCode::set_vring_addr, w.data());
}

bool Frontend::send_fd_message(RequestCode request, std::span<const std::byte> payload, int fd) {
    if (fd < 0) {
        return send(request, payload);
    }
    std::array<int, 1> fds{fd};
    return send(request, payload, fds);
}

std::vector<uint32_t> Frontend::backend_requests() {
    std::vector<uint32_t> requests;
    std::array<std::byte, vhost::header_size> header{};
    while (backend_channel_ && recv(backend_channel_.get(), header.data(), header.size(),
                                    MSG_DONTWAIT) == static_cast<ssize_t>(header.size())) {
        requests.push_back(load_le<uint32_t>(header.data())); // no payload in what we take
    }
    return requests;
}

bool Frontend::set_vring_fd(RequestCode request, unsigned queue, int fd) {
    ByteWriter w;
    w.u64(queue | (fd < 0 ? vhost::vring_nofd_mask : 0));
    return send_fd_message(request, w.data(), fd);
}

std::vector<std::byte> Frontend::mem_table_payload() const {
    ByteWriter w;
    w.u32(static_cast<uint32_t>(regions_.size())).u32(0);
    for (const auto& r : regions_) {
        w.u64(r.guest_phys_addr).u64(r.memory_size).u64(r.userspace_addr).u64(r.mmap_offset);
    }
    return std::move(w).take();
}

bool Frontend::set_mem_table(bool need_reply) {
    // QEMU sends one fd per region, the same memfd for all of them.
    std::vector<int> fds(regions_.size(), memfd_.get());
    uint32_t flags = vhost::flag_version | (need_reply ? vhost::flag_need_reply : 0);
    if (!send(RequestCode::set_mem_table, mem_table_payload(), fds, flags)) {
        return false;
    }
    return !need_reply || expect_ack(RequestCode::set_mem_table);
}

std::optional<std::vector<std::byte>> Frontend::get_config(uint32_t offset, uint32_t size) {
    ByteWriter w;
    w.u32(offset).u32(size).u32(0);
    w.bytes(std::vector<std::byte>(size));
    if (!send(RequestCode::get_config, w.data())) {
        return std::nullopt;
    }
    auto reply = read_reply();
    if (!reply || reply->header.request != vhost::code(RequestCode::get_config)) {
        return std::nullopt;
    }
    ByteReader r(reply->payload);
    r.u32();
    auto got = r.u32();
    r.u32();
    if (!got || *got != size || r.remaining() != size) {
        return std::nullopt;
    }
    auto data = r.bytes(size);
    return std::vector<std::byte>(data->begin(), data->end());
}

bool Frontend::set_config(uint32_t offset, std::span<const std::byte> data) {
    ByteWriter w;
    w.u32(offset).u32(static_cast<uint32_t>(data.size())).u32(0);
    w.bytes(data);
    return send(RequestCode::set_config, w.data(), {},
                vhost::flag_version | vhost::flag_need_reply) &&
           expect_ack(RequestCode::set_config);
}

bool Frontend::backend_closed(int timeout_ms) {
    bool closed = false;
    loop_.run_until(
        [&] {
            std::array<std::byte, 512> sink{};
            for (;;) {
                ssize_t n = recv(socket_.get(), sink.data(), sink.size(), MSG_DONTWAIT);
                if (n == 0) {
                    closed = true;
                    return true;
                }
                if (n < 0) {
                    // EAGAIN: open and quiet so far; any other error: the peer is gone.
                    closed = errno != EAGAIN && errno != EWOULDBLOCK;
                    return closed;
                }
            }
        },
        timeout_ms);
    return closed;
}

// ---- QEMU 10's sequence (virtio-gpu.md "Observed sequence") ----

bool Frontend::negotiate() {
    auto features = get_u64(RequestCode::get_features);
    if (!features || !(*features & feature::protocol_features)) {
        return false;
    }
    backend_features_ = *features;
    auto protocol = get_u64(RequestCode::get_protocol_features);
    if (!protocol || !(*protocol & protocol_feature::config)) {
        return false; // QEMU refuses to start a vhost-user-gpu without CONFIG
    }
    // QEMU keeps the bits it knows of what the backend offers.
    uint64_t known = protocol_feature::mq | protocol_feature::reply_ack | protocol_feature::config |
                     protocol_feature::reset_device |
                     (options_.backend_channel ? protocol_feature::backend_req : 0);
    protocol_features_ = *protocol & known;
    if (!set_u64(RequestCode::set_protocol_features, protocol_features_)) {
        return false;
    }
    if (protocol_features_ & protocol_feature::backend_req) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) {
            return false;
        }
        backend_channel_ = UniqueFd(pair[0]);
        UniqueFd theirs(pair[1]);
        if (!send_fd_message(RequestCode::set_backend_req_fd, {}, theirs.get())) {
            return false;
        }
    }
    auto queues = get_u64(RequestCode::get_queue_num);
    if (!queues || *queues < queue_count || !send(RequestCode::set_owner) ||
        !get_u64(RequestCode::get_features)) {
        return false;
    }
    for (unsigned q = 0; q < queue_count; ++q) {
        rings_[q].call = make_eventfd();
        if (!set_vring_fd(RequestCode::set_vring_call, q, rings_[q].call.get())) {
            return false;
        }
    }
    for (unsigned q = 0; q < queue_count; ++q) {
        rings_[q].err = make_eventfd();
        if (!set_vring_fd(RequestCode::set_vring_err, q, rings_[q].err.get())) {
            return false;
        }
    }
    return get_config(0, options_.config_size) && get_config(0, options_.config_size);
}

bool Frontend::driver_ok() {
    if (options_.gpu_socket) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
            return false;
        }
        gpu_socket_.reset(pair[0]);
        UniqueFd backend_end(pair[1]);
        std::array<int, 1> gpu_fd{backend_end.get()};
        if (!send(RequestCode::gpu_set_socket, {}, gpu_fd)) {
            return false;
        }
    }
    for (unsigned q = 0; q < queue_count; ++q) {
        rings_[q].call = make_eventfd();
        if (!set_vring_fd(RequestCode::set_vring_call, q, rings_[q].call.get())) {
            return false;
        }
    }
    if (!set_u64(RequestCode::set_features, options_.features) ||
        !set_mem_table(protocol_features_ & protocol_feature::reply_ack)) {
        return false;
    }
    for (unsigned q = 0; q < queue_count; ++q) {
        auto& ring = rings_[q];
        ring.kick = make_eventfd();
        if (!set_vring_state(RequestCode::set_vring_num, q, ring.size) ||
            !set_vring_state(RequestCode::set_vring_base, q, ring.base) || !set_vring_addr(q) ||
            !set_vring_fd(RequestCode::set_vring_kick, q, ring.kick.get())) {
            return false;
        }
    }
    for (unsigned q = 0; q < queue_count; ++q) {
        if (!set_vring_state(RequestCode::set_vring_enable, q, 1)) {
            return false;
        }
    }
    for (unsigned q = 0; q < queue_count; ++q) {
        rings_[q].call = make_eventfd();
        if (!set_vring_fd(RequestCode::set_vring_call, q, rings_[q].call.get())) {
            return false;
        }
    }
    return true;
}

std::optional<std::array<uint16_t, Frontend::queue_count>> Frontend::stop() {
    for (unsigned q = 0; q < queue_count; ++q) {
        if (!set_vring_state(RequestCode::set_vring_enable, q, 0)) {
            return std::nullopt;
        }
    }
    std::array<uint16_t, queue_count> bases{};
    for (unsigned q = 0; q < queue_count; ++q) {
        ByteWriter w;
        w.u32(q).u32(0);
        if (!send(RequestCode::get_vring_base, w.data())) {
            return std::nullopt;
        }
        auto reply = read_reply();
        if (!reply || reply->header.request != vhost::code(RequestCode::get_vring_base) ||
            reply->payload.size() != 8 || load_le<uint32_t>(reply->payload.data()) != q) {
            return std::nullopt;
        }
        bases[q] = static_cast<uint16_t>(load_le<uint32_t>(reply->payload.data() + 4));
        rings_[q].base = bases[q];
    }
    return bases;
}

void Frontend::reset_rings() {
    for (auto& ring : rings_) {
        std::memset(host(ring.desc, 16ULL * ring.size), 0, 16ULL * ring.size);
        std::memset(host(ring.avail, 6 + 2ULL * ring.size), 0, 6 + 2ULL * ring.size);
        std::memset(host(ring.used, 6 + 8ULL * ring.size), 0, 6 + 8ULL * ring.size);
        ring.avail_idx = ring.last_used = ring.base = 0;
        ring.in_flight.clear();
        ring.free.clear();
        for (uint16_t i = 0; i < ring.size; ++i) {
            ring.free.push_back(i);
        }
    }
}

void Frontend::forget_allocations() {
    bump_ = after_rings_;
}

// ---- Rings ----

std::optional<uint16_t> Frontend::submit(unsigned queue,
                                         const std::vector<std::vector<std::byte>>& readable,
                                         const std::vector<uint32_t>& writable_sizes,
                                         bool indirect) {
    std::vector<Segment> segments;
    for (const auto& data : readable) {
        uint64_t gpa = alloc(std::max<size_t>(data.size(), 1));
        write(gpa, data);
        segments.push_back({gpa, static_cast<uint32_t>(data.size()), false});
    }
    for (uint32_t size : writable_sizes) {
        segments.push_back({alloc(std::max<uint32_t>(size, 1)), size, true});
    }
    return submit_segments(queue, segments, indirect);
}

std::optional<uint16_t>
Frontend::submit_segments(unsigned queue, const std::vector<Segment>& segments, bool indirect) {
    auto& ring = rings_[queue];
    size_t ring_descs = indirect ? 1 : segments.size();
    if (ring_descs == 0 || ring.free.size() < ring_descs) {
        return std::nullopt;
    }
    Chain chain;
    for (size_t i = 0; i < ring_descs; ++i) {
        chain.descs.push_back(ring.free.back());
        ring.free.pop_back();
    }
    for (const auto& s : segments) {
        if (s.writable) {
            chain.writable.push_back(s);
        }
    }
    auto flags_of = [](const Segment& s, bool last) {
        return static_cast<uint16_t>((s.writable ? vring::desc_f_write : 0) |
                                     (last ? 0 : vring::desc_f_next));
    };
    if (indirect) {
        uint64_t table = alloc(16 * segments.size(), 16);
        for (size_t i = 0; i < segments.size(); ++i) {
            ByteWriter w;
            bool last = i + 1 == segments.size();
            w.u64(segments[i].gpa).u32(segments[i].len).u16(flags_of(segments[i], last));
            w.u16(static_cast<uint16_t>(last ? 0 : i + 1));
            write(table + 16 * i, w.data());
        }
        write_desc(queue, chain.descs[0],
                   {table, static_cast<uint32_t>(16 * segments.size()), vring::desc_f_indirect, 0});
    } else {
        for (size_t i = 0; i < segments.size(); ++i) {
            bool last = i + 1 == segments.size();
            write_desc(queue, chain.descs[i],
                       {segments[i].gpa, segments[i].len, flags_of(segments[i], last),
                        last ? uint16_t{0} : chain.descs[i + 1]});
        }
    }
    uint16_t head = chain.descs[0];
    ring.in_flight[head] = std::move(chain);
    // Like Linux with interrupts enabled: ask to hear about every used entry from here on.
    set_used_event(queue, ring.last_used);
    publish(queue, head);
    return head;
}

void Frontend::write_desc(unsigned queue, uint16_t index, const RawDesc& desc) {
    ByteWriter w;
    w.u64(desc.addr).u32(desc.len).u16(desc.flags).u16(desc.next);
    write(rings_[queue].desc + 16ULL * index, w.data());
}

void Frontend::publish(unsigned queue, uint16_t head) {
    auto& ring = rings_[queue];
    uint64_t slot = ring.avail + 4 + 2ULL * (ring.avail_idx % ring.size);
    ByteWriter w;
    w.u16(head);
    write(slot, w.data());
    ++ring.avail_idx;
    write_u16(ring.avail + 2, ring.avail_idx); // release: the entry is visible first
}

void Frontend::set_avail_idx(unsigned queue, uint16_t idx) {
    rings_[queue].avail_idx = idx;
    write_u16(rings_[queue].avail + 2, idx);
}

uint16_t Frontend::avail_idx(unsigned queue) const {
    return read_u16(rings_[queue].avail + 2);
}

void Frontend::set_avail_flags(unsigned queue, uint16_t flags) {
    write_u16(rings_[queue].avail, flags);
}

void Frontend::set_used_event(unsigned queue, uint16_t value) {
    write_u16(rings_[queue].avail + 4 + 2ULL * rings_[queue].size, value);
}

void Frontend::set_used_idx(unsigned queue, uint16_t idx) {
    rings_[queue].last_used = idx;
    write_u16(rings_[queue].used + 2, idx);
}

uint16_t Frontend::used_idx(unsigned queue) const {
    return read_u16(rings_[queue].used + 2);
}

uint16_t Frontend::avail_event(unsigned queue) const {
    return read_u16(rings_[queue].used + 4 + 8ULL * rings_[queue].size);
}

void Frontend::kick(unsigned queue) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(rings_[queue].kick.get(), &one, sizeof(one));
}

std::optional<UsedEntry> Frontend::wait_used(unsigned queue, int timeout_ms) {
    auto& ring = rings_[queue];
    if (!loop_.run_until([&] { return used_idx(queue) != ring.last_used; }, timeout_ms)) {
        return std::nullopt;
    }
    uint64_t elem = ring.used + 4 + 8ULL * (ring.last_used % ring.size);
    auto bytes = read(elem, 8);
    UsedEntry entry{load_le<uint32_t>(bytes.data()), load_le<uint32_t>(bytes.data() + 4), {}};
    ++ring.last_used;
    // Like Linux taking answers with interrupts enabled: used_event says how far it has taken.
    set_used_event(queue, ring.last_used);
    auto it = ring.in_flight.find(static_cast<uint16_t>(entry.id));
    if (it == ring.in_flight.end()) {
        return entry; // not a chain we submitted: the test looks at id and len only
    }
    uint64_t left = entry.len;
    for (const auto& s : it->second.writable) {
        auto take = std::min<uint64_t>(left, s.len);
        auto data = read(s.gpa, take);
        entry.data.insert(entry.data.end(), data.begin(), data.end());
        left -= take;
    }
    for (uint16_t d : it->second.descs) {
        ring.free.push_back(d);
    }
    ring.in_flight.erase(it);
    return entry;
}

uint64_t Frontend::take_calls(unsigned queue) {
    uint64_t count = 0;
    if (::read(rings_[queue].call.get(), &count, sizeof(count)) != sizeof(count)) {
        return 0;
    }
    return count;
}

uint64_t Frontend::take_errors(unsigned queue) {
    uint64_t count = 0;
    if (::read(rings_[queue].err.get(), &count, sizeof(count)) != sizeof(count)) {
        return 0;
    }
    return count;
}

} // namespace tessera::gpu::test
