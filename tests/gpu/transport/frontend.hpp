#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gpu-backend/vhost_user/connection.hpp"
#include "gpu-backend/vhost_user/message.hpp"
#include "gpu-backend/virtio_gpu/config_space.hpp"
#include "test_loop.hpp"
#include "gpu-backend/base/unique_fd.hpp"

// An in-process vhost-user frontend that plays QEMU 10's part (virtio-gpu.md; with
// input_frontend_options(), vhost-user-input-pci's, virtio-input.md): memfd guest RAM
// sealed like QEMU's, split rings built in it, the message sequence over a socketpair, and raw
// access for hostile tests. It pumps a TestEventLoop while it waits, so the Connection under
// test runs in the same thread.
namespace tessera::gpu::test {

// Open fds of this process (counts /proc/self/fd), for leak checks.
size_t open_fd_count();
bool fd_is_open(int fd);
// Open fds whose target (readlink of /proc/self/fd/N) contains `name`, e.g. a memfd's name.
size_t open_fds_named(std::string_view name);

struct RegionSpec {
    uint64_t gpa = 0;
    uint64_t size = 0;
};

struct FrontendOptions {
    // Laid out one after the other in one memfd, like QEMU's RAM split at a PCI hole.
    std::vector<RegionSpec> regions{{0, 4 << 20}};
    uint16_t queue_size = 256;
    // What SET_FEATURES sends: what QEMU 10 sends for vhost-user-gpu-pci, whatever was offered.
    uint64_t features = feature::version_1 | feature::ring_indirect_desc | feature::ring_event_idx |
                        feature::protocol_features | feature::ring_reset | gpu_feature::edid;
    // Connect to a backend listening on this unix socket (as QEMU's chardev does) instead of
    // making a socketpair; then there is no backend socket to take.
    std::string connect_path;
    // Take BACKEND_REQ when offered and hand the backend a channel (SET_BACKEND_REQ_FD), as QEMU
    // does; read it with backend_requests().
    bool backend_channel = true;
    // What the device is: vhost-user-gpu-pci hands a GPU socket at DRIVER_OK and has a 16-byte
    // config space; vhost-user-input-pci (4-entry rings) has neither socket nor 16 bytes.
    bool gpu_socket = true;
    uint32_t config_size = gpu_config_size;
};

struct Reply {
    vhost::Header header;
    std::vector<std::byte> payload;
};

struct UsedEntry {
    uint32_t id = 0;
    uint32_t len = 0;
    std::vector<std::byte> data; // the first `len` bytes of the chain's writable buffers
};

// One buffer of a chain, in guest-physical terms.
struct Segment {
    uint64_t gpa = 0;
    uint32_t len = 0;
    bool writable = false;
};

// A descriptor as the driver writes it.
struct RawDesc {
    uint64_t addr = 0;
    uint32_t len = 0;
    uint16_t flags = 0;
    uint16_t next = 0;
};

class Frontend {
public:
    // Fake QEMU user addresses of the RAM: distinct from guest-physical ones, so a backend that
    // mixes up translate() and translate_user() fails.
    static constexpr uint64_t uva_base = 0x7f12'3400'0000ULL;
    static constexpr unsigned queue_count = 2;

    explicit Frontend(TestEventLoop& loop, FrontendOptions options = {});
    ~Frontend();
    Frontend(const Frontend&) = delete;
    Frontend& operator=(const Frontend&) = delete;

    // The backend's end of the socketpair (once).
    UniqueFd take_backend_socket();

    // ---- QEMU 10's sequence ----
    bool start() { return negotiate() && driver_ok(); }
    // At QEMU start and when the guest reads the config space.
    bool negotiate();
    // At DRIVER_OK: memory table, both rings, enable.
    bool driver_ok();
    // Guest shutdown or reset: disable both rings, GET_VRING_BASE both; the bases, which the
    // next driver_ok() sends back with SET_VRING_BASE (a resume).
    std::optional<std::array<uint16_t, queue_count>> stop();
    // What a guest driver re-initialising the device does: fresh, zeroed rings at index 0.
    void reset_rings();
    // A rebooted guest's memory is free again: allocations start over after the rings (what
    // was allocated before must no longer be used).
    void forget_allocations();

    // ---- Messages ----
    bool send(vhost::RequestCode request, std::span<const std::byte> payload = {},
              std::span<const int> fds = {}, uint32_t flags = vhost::flag_version);
    bool send_raw(std::span<const std::byte> bytes, std::span<const int> fds = {});
    // Waits for a reply, running the loop meanwhile; nullopt on EOF or timeout. The timeout
    // only bounds a failure (QEMU waits for ever): the first reply of a device process started
    // for this connection, sanitized and in a TCG VM, can take seconds.
    std::optional<Reply> read_reply(int timeout_ms = 20'000);
    std::optional<uint64_t> get_u64(vhost::RequestCode request);
    bool set_u64(vhost::RequestCode request, uint64_t value);
    bool set_vring_state(vhost::RequestCode request, uint32_t index, uint32_t num,
                         bool need_reply = false);
    bool set_vring_addr(unsigned queue);
    // fd -1 sends the "no fd" bit.
    bool set_vring_fd(vhost::RequestCode request, unsigned queue, int fd);
    bool set_mem_table(bool need_reply = true);
    std::vector<std::byte> mem_table_payload() const;
    std::optional<std::vector<std::byte>> get_config(uint32_t offset, uint32_t size);
    // SET_CONFIG with REPLY_ACK; true when the backend took the write.
    bool set_config(uint32_t offset, std::span<const std::byte> data);
    // Reads a REPLY_ACK reply to `request`; true when it reports success.
    // A REPLY_ACK for `request` that says success (or, with success false, failure).
    bool expect_ack(vhost::RequestCode request, bool success = true);
    // Whether the backend closed its end (discarding what it still sent) within the timeout.
    bool backend_closed(int timeout_ms = 2000);
    [[nodiscard]] uint64_t backend_features() const { return backend_features_; }
    [[nodiscard]] uint64_t protocol_features() const { return protocol_features_; }
    // The requests the backend sent on its channel since the last look (none without one).
    std::vector<uint32_t> backend_requests();
    // The frontend's end of the backend channel, for poll(); -1 without one.
    [[nodiscard]] int backend_channel() const { return backend_channel_.get(); }

    // ---- Guest RAM ----
    [[nodiscard]] int memfd() const { return memfd_.get(); }
    [[nodiscard]] const std::vector<MemoryRegion>& regions() const { return regions_; }
    // Bump allocation in one region; returns the guest-physical address (zeroed memory).
    uint64_t alloc(uint64_t size, uint64_t align = 16, size_t region = 0);
    void write(uint64_t gpa, std::span<const std::byte> data); // may cross regions
    std::vector<std::byte> read(uint64_t gpa, uint64_t length) const;
    [[nodiscard]] uint64_t uva_of(uint64_t gpa) const;

    // ---- Rings ----
    // Builds a chain: readable buffers with these contents, then writable ones of these sizes;
    // publishes it (no kick). The head, or nullopt when the ring has no free descriptors.
    std::optional<uint16_t> submit(unsigned queue,
                                   const std::vector<std::vector<std::byte>>& readable,
                                   const std::vector<uint32_t>& writable_sizes,
                                   bool indirect = false);
    std::optional<uint16_t> submit_segments(unsigned queue, const std::vector<Segment>& segments,
                                            bool indirect = false);
    void kick(unsigned queue);
    // Waits (running the loop) for the next used entry.
    std::optional<UsedEntry> wait_used(unsigned queue, int timeout_ms = 2000);
    // Call eventfd signals since the last look (the eventfd counter).
    uint64_t take_calls(unsigned queue);
    uint64_t take_errors(unsigned queue);

    // ---- Raw ring access, for hostile tests ----
    [[nodiscard]] uint16_t queue_size(unsigned queue) const { return rings_[queue].size; }
    void write_desc(unsigned queue, uint16_t index, const RawDesc& desc);
    // Puts `head` in the next avail slot and bumps avail.idx.
    void publish(unsigned queue, uint16_t head);
    void set_avail_idx(unsigned queue, uint16_t idx);
    [[nodiscard]] uint16_t avail_idx(unsigned queue) const;
    void set_avail_flags(unsigned queue, uint16_t flags);
    void set_used_event(unsigned queue, uint16_t value);
    [[nodiscard]] uint16_t used_idx(unsigned queue) const;
    [[nodiscard]] uint16_t avail_event(unsigned queue) const;
    [[nodiscard]] uint64_t desc_gpa(unsigned queue) const { return rings_[queue].desc; }
    [[nodiscard]] uint64_t avail_gpa(unsigned queue) const { return rings_[queue].avail; }
    [[nodiscard]] uint64_t used_gpa(unsigned queue) const { return rings_[queue].used; }
    // Sets the used index in the ring (as a device resumed at that index left it).
    void set_used_idx(unsigned queue, uint16_t idx);
    // Closes the frontend's end of the socket, as QEMU exiting does.
    void close_socket() { socket_.reset(); }

private:
    struct Chain {
        std::vector<uint16_t> descs;
        std::vector<Segment> writable;
    };
    struct Ring {
        uint16_t size = 0;
        uint64_t desc = 0, avail = 0, used = 0; // guest-physical
        uint16_t avail_idx = 0;                 // the driver's shadow
        uint16_t last_used = 0;
        uint16_t base = 0; // sent with SET_VRING_BASE
        std::vector<uint16_t> free;
        std::map<uint16_t, Chain> in_flight;
        UniqueFd kick, call, err;
    };

    std::byte* host(uint64_t gpa, uint64_t length) const;
    uint64_t contiguous(uint64_t gpa, uint64_t length) const;
    uint16_t read_u16(uint64_t gpa) const;
    void write_u16(uint64_t gpa, uint16_t value);
    bool send_fd_message(vhost::RequestCode request, std::span<const std::byte> payload, int fd);

    TestEventLoop& loop_;
    FrontendOptions options_;
    UniqueFd socket_;
    UniqueFd backend_socket_;
    UniqueFd memfd_;
    std::byte* ram_ = nullptr;
    size_t ram_size_ = 0;
    std::vector<MemoryRegion> regions_;
    std::vector<uint64_t> bump_;        // per region, next free offset
    std::vector<uint64_t> after_rings_; // bump_ once the rings were laid out
    std::array<Ring, queue_count> rings_;
    UniqueFd gpu_socket_;
    UniqueFd backend_channel_;
    uint64_t backend_features_ = 0;
    uint64_t protocol_features_ = 0;
};

} // namespace tessera::gpu::test
