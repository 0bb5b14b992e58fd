#include "gpu-backend/vhost_user/message.hpp"

#include <format>
#include <optional>

#include "gpu-backend/base/bytes.hpp"

namespace tessera::gpu::vhost {
namespace {

using Fds = std::vector<UniqueFd>;

std::unexpected<std::string> malformed(uint32_t request, std::string_view why) {
    return std::unexpected(std::format("malformed {}: {}", request_name(request), why));
}

// The payload size and fd count a fixed-shape request must have.
std::optional<std::string> check_shape(std::span<const std::byte> payload, size_t size,
                                       const Fds& fds, size_t fd_count) {
    if (payload.size() != size) {
        return std::format("payload of {} bytes, expected {}", payload.size(), size);
    }
    if (fds.size() != fd_count) {
        return std::format("{} fds, expected {}", fds.size(), fd_count);
    }
    return std::nullopt;
}

// {u32 index, u32 num}: SET_VRING_NUM/BASE, GET_VRING_BASE, SET_VRING_ENABLE.
struct VringStatePayload {
    uint32_t index;
    uint32_t num;
};
std::optional<VringStatePayload> read_vring_state(std::span<const std::byte> payload) {
    ByteReader r(payload);
    auto index = r.u32();
    auto num = r.u32();
    if (!index || !num) {
        return std::nullopt;
    }
    return VringStatePayload{*index, *num};
}

std::expected<Message, std::string> decode_mem_table(uint32_t flags,
                                                     std::span<const std::byte> payload, Fds fds) {
    constexpr uint32_t request = static_cast<uint32_t>(RequestCode::set_mem_table);
    constexpr size_t region_size = 32;
    ByteReader r(payload);
    auto count = r.u32();
    auto padding = r.u32();
    if (!count || !padding) {
        return malformed(request, "payload shorter than its header");
    }
    if (*count > GuestMemory::max_regions) {
        return malformed(request,
                         std::format("{} regions (at most {})", *count, GuestMemory::max_regions));
    }
    if (payload.size() != 8 + region_size * *count) {
        return malformed(request,
                         std::format("payload of {} bytes for {} regions", payload.size(), *count));
    }
    if (fds.size() != *count) {
        return malformed(request, std::format("{} fds for {} regions", fds.size(), *count));
    }
    SetMemTable table;
    for (uint32_t i = 0; i < *count; ++i) {
        MemoryRegion region;
        region.guest_phys_addr = *r.u64();
        region.memory_size = *r.u64();
        region.userspace_addr = *r.u64();
        region.mmap_offset = *r.u64();
        table.regions.push_back(region);
    }
    if (auto error = GuestMemory::validate(table.regions)) {
        return malformed(request, *error);
    }
    table.fds = std::move(fds);
    return Message{flags, std::move(table)};
}

template <typename T>
std::expected<Message, std::string> decode_vring_fd(const Header& header,
                                                    std::span<const std::byte> payload, Fds fds) {
    if (payload.size() != 8) {
        return malformed(header.request,
                         std::format("payload of {} bytes, expected 8", payload.size()));
    }
    uint64_t value = load_le<uint64_t>(payload.data());
    bool no_fd = (value & vring_nofd_mask) != 0;
    if (fds.size() != (no_fd ? 0U : 1U)) {
        return malformed(header.request,
                         std::format("{} fds, expected {}", fds.size(), no_fd ? 0 : 1));
    }
    T request;
    request.index = static_cast<uint32_t>(value & vring_index_mask);
    if (!no_fd) {
        request.fd = std::move(fds.front());
    }
    return Message{header.flags, std::move(request)};
}

// {u32 offset, u32 size, u32 flags, u8 data[size]} of GET_CONFIG and SET_CONFIG.
struct ConfigPayload {
    uint32_t offset;
    uint32_t flags;
    std::span<const std::byte> data;
};
std::expected<ConfigPayload, std::string>
read_config(uint32_t request, std::span<const std::byte> payload, const Fds& fds) {
    ByteReader r(payload);
    auto offset = r.u32();
    auto size = r.u32();
    auto flags = r.u32();
    if (!offset || !size || !flags) {
        return malformed(request, "payload shorter than its header");
    }
    if (*size > max_config_size) {
        return malformed(request,
                         std::format("config size {} (at most {})", *size, max_config_size));
    }
    if (auto error = check_shape(payload, 12 + size_t{*size}, fds, 0)) {
        return malformed(request, *error);
    }
    return ConfigPayload{*offset, *flags, *r.bytes(*size)};
}

} // namespace

std::expected<Header, std::string> parse_header(std::span<const std::byte, header_size> bytes) {
    Header header{load_le<uint32_t>(bytes.data()), load_le<uint32_t>(bytes.data() + 4),
                  load_le<uint32_t>(bytes.data() + 8)};
    if ((header.flags & flag_version_mask) != flag_version) {
        return std::unexpected(std::format("{}: protocol version {} (expected 1)",
                                           request_name(header.request),
                                           header.flags & flag_version_mask));
    }
    if (header.flags & flag_reply) {
        return std::unexpected(
            std::format("{}: the frontend sent a reply", request_name(header.request)));
    }
    if (header.size > max_payload_size) {
        return std::unexpected(std::format("{}: payload of {} bytes (at most {})",
                                           request_name(header.request), header.size,
                                           max_payload_size));
    }
    return header;
}

std::expected<Message, std::string> decode(const Header& header, std::span<const std::byte> payload,
                                           Fds fds) {
    const uint32_t request = header.request;
    if (payload.size() != header.size) {
        return malformed(
            request, std::format("{} payload bytes, header says {}", payload.size(), header.size));
    }
    if (fds.size() > max_fds) {
        return malformed(request, std::format("{} fds (at most {})", fds.size(), max_fds));
    }

    // Requests with a fixed shape: check it, then build the typed request.
    auto fixed = [&](size_t size, size_t fd_count,
                     auto make) -> std::expected<Message, std::string> {
        if (auto error = check_shape(payload, size, fds, fd_count)) {
            return malformed(request, *error);
        }
        return make();
    };
    auto u64_payload = [&] { return load_le<uint64_t>(payload.data()); };
    auto message = [&](Request r) { return Message{header.flags, std::move(r)}; };

    switch (static_cast<RequestCode>(request)) {
    case RequestCode::get_features:
        return fixed(0, 0, [&] { return message(GetFeatures{}); });
    case RequestCode::set_features:
        return fixed(8, 0, [&] { return message(SetFeatures{u64_payload()}); });
    case RequestCode::set_owner:
        return fixed(0, 0, [&] { return message(SetOwner{}); });
    case RequestCode::reset_owner:
        return fixed(0, 0, [&] { return message(ResetOwner{}); });
    case RequestCode::set_mem_table:
        return decode_mem_table(header.flags, payload, std::move(fds));
    case RequestCode::set_vring_num:
        return fixed(8, 0, [&] {
            auto s = *read_vring_state(payload);
            return message(SetVringNum{s.index, s.num});
        });
    case RequestCode::set_vring_addr:
        return fixed(40, 0, [&] {
            ByteReader r(payload);
            SetVringAddr addr;
            addr.index = *r.u32();
            addr.flags = *r.u32();
            addr.desc = *r.u64();
            addr.used = *r.u64();
            addr.avail = *r.u64();
            addr.log = *r.u64();
            return message(addr);
        });
    case RequestCode::set_vring_base:
        return fixed(8, 0, [&] {
            auto s = *read_vring_state(payload);
            return message(SetVringBase{s.index, s.num});
        });
    case RequestCode::get_vring_base:
        return fixed(8, 0, [&] { return message(GetVringBase{read_vring_state(payload)->index}); });
    case RequestCode::set_vring_kick:
        return decode_vring_fd<SetVringKick>(header, payload, std::move(fds));
    case RequestCode::set_vring_call:
        return decode_vring_fd<SetVringCall>(header, payload, std::move(fds));
    case RequestCode::set_vring_err:
        return decode_vring_fd<SetVringErr>(header, payload, std::move(fds));
    case RequestCode::get_protocol_features:
        return fixed(0, 0, [&] { return message(GetProtocolFeatures{}); });
    case RequestCode::set_protocol_features:
        return fixed(8, 0, [&] { return message(SetProtocolFeatures{u64_payload()}); });
    case RequestCode::get_queue_num:
        return fixed(0, 0, [&] { return message(GetQueueNum{}); });
    case RequestCode::set_vring_enable: {
        if (auto error = check_shape(payload, 8, fds, 0)) {
            return malformed(request, *error);
        }
        auto s = *read_vring_state(payload);
        if (s.num > 1) {
            return malformed(request, std::format("enable value {}", s.num));
        }
        return message(SetVringEnable{s.index, s.num == 1});
    }
    case RequestCode::get_config: {
        auto config = read_config(request, payload, fds);
        if (!config) {
            return std::unexpected(std::move(config.error()));
        }
        return message(
            GetConfig{config->offset, static_cast<uint32_t>(config->data.size()), config->flags});
    }
    case RequestCode::set_config: {
        auto config = read_config(request, payload, fds);
        if (!config) {
            return std::unexpected(std::move(config.error()));
        }
        return message(
            SetConfig{config->offset, config->flags, {config->data.begin(), config->data.end()}});
    }
    case RequestCode::set_backend_req_fd:
        return fixed(0, 1, [&] { return message(SetBackendReqFd{std::move(fds.front())}); });
    case RequestCode::gpu_set_socket:
        return fixed(0, 1, [&] { return message(GpuSetSocket{std::move(fds.front())}); });
    case RequestCode::reset_device:
        return fixed(0, 0, [&] { return message(ResetDevice{}); });
    }
    // Unknown: the fds close here, with `fds`.
    return message(Unknown{request});
}

std::string request_name(uint32_t code) {
    switch (static_cast<RequestCode>(code)) {
    case RequestCode::get_features:
        return "GET_FEATURES";
    case RequestCode::set_features:
        return "SET_FEATURES";
    case RequestCode::set_owner:
        return "SET_OWNER";
    case RequestCode::reset_owner:
        return "RESET_OWNER";
    case RequestCode::set_mem_table:
        return "SET_MEM_TABLE";
    case RequestCode::set_vring_num:
        return "SET_VRING_NUM";
    case RequestCode::set_vring_addr:
        return "SET_VRING_ADDR";
    case RequestCode::set_vring_base:
        return "SET_VRING_BASE";
    case RequestCode::get_vring_base:
        return "GET_VRING_BASE";
    case RequestCode::set_vring_kick:
        return "SET_VRING_KICK";
    case RequestCode::set_vring_call:
        return "SET_VRING_CALL";
    case RequestCode::set_vring_err:
        return "SET_VRING_ERR";
    case RequestCode::get_protocol_features:
        return "GET_PROTOCOL_FEATURES";
    case RequestCode::set_protocol_features:
        return "SET_PROTOCOL_FEATURES";
    case RequestCode::get_queue_num:
        return "GET_QUEUE_NUM";
    case RequestCode::set_vring_enable:
        return "SET_VRING_ENABLE";
    case RequestCode::get_config:
        return "GET_CONFIG";
    case RequestCode::set_config:
        return "SET_CONFIG";
    case RequestCode::set_backend_req_fd:
        return "SET_BACKEND_REQ_FD";
    case RequestCode::gpu_set_socket:
        return "GPU_SET_SOCKET";
    case RequestCode::reset_device:
        return "RESET_DEVICE";
    }
    return std::format("request {}", code);
}

std::vector<std::byte> encode(uint32_t request, uint32_t flags,
                              std::span<const std::byte> payload) {
    ByteWriter w;
    w.u32(request).u32(flags).u32(static_cast<uint32_t>(payload.size())).bytes(payload);
    return std::move(w).take();
}

std::vector<std::byte> encode_reply(uint32_t request, std::span<const std::byte> payload) {
    return encode(request, flag_version | flag_reply, payload);
}

std::vector<std::byte> encode_u64_reply(uint32_t request, uint64_t value) {
    ByteWriter w;
    w.u64(value);
    return encode_reply(request, w.data());
}

std::vector<std::byte> encode_vring_state_reply(uint32_t request, uint32_t index, uint32_t num) {
    ByteWriter w;
    w.u32(index).u32(num);
    return encode_reply(request, w.data());
}

std::vector<std::byte> encode_config_reply(uint32_t offset, uint32_t flags,
                                           std::span<const std::byte> data) {
    ByteWriter w;
    w.u32(offset).u32(static_cast<uint32_t>(data.size())).u32(flags).bytes(data);
    return encode_reply(code(RequestCode::get_config), w.data());
}

} // namespace tessera::gpu::vhost
