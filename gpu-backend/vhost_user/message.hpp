#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gpu-backend/base/unique_fd.hpp"
#include "gpu-backend/vhost_user/guest_memory.hpp"

// The vhost-user wire format (QEMU docs/interop/vhost-user.rst): a 12-byte header, a payload
// and fds passed with SCM_RIGHTS. decode() turns one message into a typed request, checking
// payload sizes and fd counts exactly; everything it rejects closes the connection.
namespace tessera::gpu::vhost {

enum class RequestCode : uint32_t {
    get_features = 1,
    set_features = 2,
    set_owner = 3,
    reset_owner = 4,
    set_mem_table = 5,
    set_vring_num = 8,
    set_vring_addr = 9,
    set_vring_base = 10,
    get_vring_base = 11,
    set_vring_kick = 12,
    set_vring_call = 13,
    set_vring_err = 14,
    get_protocol_features = 15,
    set_protocol_features = 16,
    get_queue_num = 17,
    set_vring_enable = 18,
    set_backend_req_fd = 21,
    get_config = 24,
    set_config = 25,
    gpu_set_socket = 33,
    reset_device = 34,
};

// Messages the backend sends the frontend on the backend channel (SET_BACKEND_REQ_FD).
enum class BackendRequestCode : uint32_t {
    config_change = 2, // VHOST_USER_BACKEND_CONFIG_CHANGE_MSG: the device's config changed
};

// Header flags.
inline constexpr uint32_t flag_version_mask = 0x3;
inline constexpr uint32_t flag_version = 0x1;
inline constexpr uint32_t flag_reply = 0x4;
inline constexpr uint32_t flag_need_reply = 0x8;

inline constexpr size_t header_size = 12;
// Enough for every request we take (SET_MEM_TABLE is 264 bytes, GET/SET_CONFIG at most 268);
// anything larger is refused before it is read.
inline constexpr size_t max_payload_size = 4096;
inline constexpr size_t max_fds = 8;
// VHOST_USER_MAX_CONFIG_SIZE: the whole virtio config space.
inline constexpr uint32_t max_config_size = 256;
// SET_VRING_KICK/CALL/ERR payload: ring index and "no fd" bit.
inline constexpr uint64_t vring_index_mask = 0xff;
inline constexpr uint64_t vring_nofd_mask = 0x100;

struct Header {
    uint32_t request = 0;
    uint32_t flags = 0;
    uint32_t size = 0;
};

// Parses and checks the 12 header bytes: version 1, not a reply, payload within the cap.
std::expected<Header, std::string> parse_header(std::span<const std::byte, header_size> bytes);

// The requests, one type each.
struct GetFeatures {};
struct SetFeatures {
    uint64_t features = 0;
};
struct SetOwner {};
struct ResetOwner {};
struct SetMemTable {
    std::vector<MemoryRegion> regions;
    std::vector<UniqueFd> fds; // one per region, same order
};
struct SetVringNum {
    uint32_t index = 0;
    uint32_t num = 0;
};
struct SetVringAddr {
    uint32_t index = 0;
    uint32_t flags = 0;
    uint64_t desc = 0; // frontend user addresses
    uint64_t used = 0;
    uint64_t avail = 0;
    uint64_t log = 0; // guest-physical; dirty logging is not supported
};
struct SetVringBase {
    uint32_t index = 0;
    uint32_t num = 0;
};
struct GetVringBase {
    uint32_t index = 0;
};
struct SetVringKick {
    uint32_t index = 0;
    UniqueFd fd; // invalid with the "no fd" bit
};
struct SetVringCall {
    uint32_t index = 0;
    UniqueFd fd;
};
struct SetVringErr {
    uint32_t index = 0;
    UniqueFd fd;
};
struct GetProtocolFeatures {};
struct SetProtocolFeatures {
    uint64_t features = 0;
};
struct GetQueueNum {};
struct SetVringEnable {
    uint32_t index = 0;
    bool enable = false;
};
struct GetConfig {
    uint32_t offset = 0;
    uint32_t size = 0;
    uint32_t flags = 0;
};
struct SetConfig {
    uint32_t offset = 0;
    uint32_t flags = 0;
    std::vector<std::byte> data;
};
struct GpuSetSocket {
    UniqueFd fd;
};
struct SetBackendReqFd {
    UniqueFd fd;
};
struct ResetDevice {};
// A request this backend does not know; its fds are closed.
struct Unknown {
    uint32_t request = 0;
};

using Request =
    std::variant<GetFeatures, SetFeatures, SetOwner, ResetOwner, SetMemTable, SetVringNum,
                 SetVringAddr, SetVringBase, GetVringBase, SetVringKick, SetVringCall, SetVringErr,
                 GetProtocolFeatures, SetProtocolFeatures, GetQueueNum, SetVringEnable, GetConfig,
                 SetConfig, SetBackendReqFd, GpuSetSocket, ResetDevice, Unknown>;

struct Message {
    uint32_t flags = 0;
    Request request;

    [[nodiscard]] bool need_reply() const { return (flags & flag_need_reply) != 0; }
};

// Decodes one message. Takes the fds so that every path closes those it does not keep.
std::expected<Message, std::string> decode(const Header& header, std::span<const std::byte> payload,
                                           std::vector<UniqueFd> fds);

// "SET_MEM_TABLE", or "request 99" for unknown codes.
std::string request_name(uint32_t code);

// A whole message: header then payload.
std::vector<std::byte> encode(uint32_t request, uint32_t flags, std::span<const std::byte> payload);
// Replies carry version 1 and the reply flag.
std::vector<std::byte> encode_reply(uint32_t request, std::span<const std::byte> payload);
std::vector<std::byte> encode_u64_reply(uint32_t request, uint64_t value);
std::vector<std::byte> encode_vring_state_reply(uint32_t request, uint32_t index, uint32_t num);
std::vector<std::byte> encode_config_reply(uint32_t offset, uint32_t flags,
                                           std::span<const std::byte> data);

inline uint32_t code(RequestCode c) {
    return static_cast<uint32_t>(c);
}
inline uint32_t code(BackendRequestCode c) {
    return static_cast<uint32_t>(c);
}

} // namespace tessera::gpu::vhost
