#include <catch2/catch_test_macros.hpp>

#include <sys/eventfd.h>

#include <cstdint>
#include <variant>
#include <vector>

#include "frontend.hpp"
#include "gpu-backend/base/bytes.hpp"
#include "gpu-backend/vhost_user/message.hpp"

using namespace tessera;
using namespace tessera::gpu;
using namespace tessera::gpu::vhost;
using tessera::gpu::test::fd_is_open;

namespace {

struct Fds {
    std::vector<UniqueFd> owned;
    std::vector<int> raw;
};

Fds make_fds(size_t n) {
    Fds fds;
    for (size_t i = 0; i < n; ++i) {
        int fd = eventfd(0, EFD_CLOEXEC);
        fds.raw.push_back(fd);
        fds.owned.emplace_back(fd);
    }
    return fds;
}

bool all_closed(const std::vector<int>& raw) {
    for (int fd : raw) {
        if (fd_is_open(fd)) {
            return false;
        }
    }
    return true;
}

std::expected<Message, std::string> decode_wire(RequestCode request,
                                                std::span<const std::byte> payload,
                                                std::vector<UniqueFd> fds = {},
                                                uint32_t flags = flag_version) {
    auto bytes = encode(code(request), flags, payload);
    auto header = parse_header(std::span(bytes).first<header_size>());
    REQUIRE(header.has_value());
    return decode(*header, std::span(bytes).subspan(header_size), std::move(fds));
}

std::vector<std::byte> u64_payload(uint64_t v) {
    ByteWriter w;
    w.u64(v);
    return std::move(w).take();
}

std::vector<std::byte> state_payload(uint32_t index, uint32_t num) {
    ByteWriter w;
    w.u32(index).u32(num);
    return std::move(w).take();
}

std::vector<std::byte> mem_table(uint32_t count, size_t regions_written) {
    ByteWriter w;
    w.u32(count).u32(0);
    for (size_t i = 0; i < regions_written; ++i) {
        w.u64(i << 20).u64(1 << 20).u64(0x7f00'0000'0000ULL + (i << 20)).u64(i << 20);
    }
    return std::move(w).take();
}

std::vector<std::byte> config_payload(uint32_t offset, uint32_t size, size_t data_bytes) {
    ByteWriter w;
    w.u32(offset).u32(size).u32(0);
    w.bytes(std::vector<std::byte>(data_bytes, std::byte{0x5a}));
    return std::move(w).take();
}

template <typename T> T& as(std::expected<Message, std::string>& m) {
    REQUIRE(m.has_value());
    REQUIRE(std::holds_alternative<T>(m->request));
    return std::get<T>(m->request);
}

} // namespace

TEST_CASE("vhost-user headers are checked before the payload is read", "[vhost-message]") {
    auto header_of = [](uint32_t request, uint32_t flags, uint32_t size) {
        ByteWriter w;
        w.u32(request).u32(flags).u32(size);
        auto bytes = std::move(w).take();
        return parse_header(std::span(bytes).first<header_size>());
    };
    auto ok = header_of(5, flag_version | flag_need_reply, 264);
    REQUIRE(ok);
    CHECK(ok->request == 5);
    CHECK(ok->size == 264);
    CHECK(header_of(1, flag_version, max_payload_size));
    CHECK_FALSE(header_of(1, 0, 0));                         // version 0
    CHECK_FALSE(header_of(1, 2, 0));                         // version 2
    CHECK_FALSE(header_of(1, flag_version | flag_reply, 0)); // a reply from the frontend
    CHECK_FALSE(header_of(1, flag_version, max_payload_size + 1));
    CHECK_FALSE(header_of(1, flag_version, 0xffff'ffff));
}

TEST_CASE("Every vhost-user request decodes to its typed form", "[vhost-message]") {
    SECTION("no payload") {
        auto m = decode_wire(RequestCode::get_features, {});
        as<GetFeatures>(m);
        m = decode_wire(RequestCode::set_owner, {});
        as<SetOwner>(m);
        m = decode_wire(RequestCode::reset_owner, {});
        as<ResetOwner>(m);
        m = decode_wire(RequestCode::get_protocol_features, {});
        as<GetProtocolFeatures>(m);
        m = decode_wire(RequestCode::get_queue_num, {});
        as<GetQueueNum>(m);
        m = decode_wire(RequestCode::reset_device, {});
        as<ResetDevice>(m);
    }
    SECTION("u64 payloads") {
        auto m = decode_wire(RequestCode::set_features, u64_payload(0x1'3000'0002ULL));
        CHECK(as<SetFeatures>(m).features == 0x1'3000'0002ULL);
        m = decode_wire(RequestCode::set_protocol_features, u64_payload(0x2208));
        CHECK(as<SetProtocolFeatures>(m).features == 0x2208);
    }
    SECTION("vring state payloads") {
        auto m = decode_wire(RequestCode::set_vring_num, state_payload(1, 256));
        CHECK(as<SetVringNum>(m).index == 1);
        CHECK(as<SetVringNum>(m).num == 256);
        m = decode_wire(RequestCode::set_vring_base, state_payload(0, 7));
        CHECK(as<SetVringBase>(m).num == 7);
        m = decode_wire(RequestCode::get_vring_base, state_payload(1, 0));
        CHECK(as<GetVringBase>(m).index == 1);
        m = decode_wire(RequestCode::set_vring_enable, state_payload(1, 1), {},
                        flag_version | flag_need_reply);
        CHECK(as<SetVringEnable>(m).enable);
        CHECK(m->need_reply());
        m = decode_wire(RequestCode::set_vring_enable, state_payload(0, 0));
        CHECK_FALSE(as<SetVringEnable>(m).enable);
        CHECK_FALSE(m->need_reply());
    }
    SECTION("SET_VRING_ADDR") {
        ByteWriter w;
        w.u32(1).u32(0).u64(0x1000).u64(0x3000).u64(0x2000).u64(0x4000);
        auto m = decode_wire(RequestCode::set_vring_addr, w.data());
        auto& addr = as<SetVringAddr>(m);
        CHECK(addr.index == 1);
        CHECK(addr.desc == 0x1000);
        CHECK(addr.used == 0x3000); // the wire order is desc, used, avail
        CHECK(addr.avail == 0x2000);
        CHECK(addr.log == 0x4000);
    }
    SECTION("SET_VRING_KICK/CALL/ERR with and without fd") {
        auto fds = make_fds(1);
        auto m = decode_wire(RequestCode::set_vring_kick, u64_payload(1), std::move(fds.owned));
        CHECK(as<SetVringKick>(m).index == 1);
        CHECK(as<SetVringKick>(m).fd.get() == fds.raw[0]);
        m = decode_wire(RequestCode::set_vring_call, u64_payload(0 | vring_nofd_mask));
        CHECK_FALSE(as<SetVringCall>(m).fd.valid());
        auto err_fd = make_fds(1);
        m = decode_wire(RequestCode::set_vring_err, u64_payload(0), std::move(err_fd.owned));
        CHECK(as<SetVringErr>(m).fd.valid());
        m = {};
        CHECK(all_closed(fds.raw));
        CHECK(all_closed(err_fd.raw));
    }
    SECTION("SET_MEM_TABLE") {
        auto fds = make_fds(2);
        auto m = decode_wire(RequestCode::set_mem_table, mem_table(2, 2), std::move(fds.owned),
                             flag_version | flag_need_reply);
        auto& table = as<SetMemTable>(m);
        REQUIRE(table.regions.size() == 2);
        CHECK(table.regions[1].guest_phys_addr == 1 << 20);
        CHECK(table.regions[1].userspace_addr == 0x7f00'0010'0000ULL);
        CHECK(table.fds.size() == 2);
        CHECK(m->need_reply());
        auto empty = decode_wire(RequestCode::set_mem_table, mem_table(0, 0));
        CHECK(as<SetMemTable>(empty).regions.empty());
    }
    SECTION("GET_CONFIG and SET_CONFIG") {
        auto m = decode_wire(RequestCode::get_config, config_payload(0, 16, 16));
        CHECK(as<GetConfig>(m).size == 16);
        m = decode_wire(RequestCode::set_config, config_payload(4, 4, 4));
        CHECK(as<SetConfig>(m).offset == 4);
        CHECK(as<SetConfig>(m).data.size() == 4);
        m = decode_wire(RequestCode::get_config,
                        config_payload(0, max_config_size, max_config_size));
        CHECK(m.has_value());
    }
    SECTION("GPU_SET_SOCKET") {
        auto fds = make_fds(1);
        auto m = decode_wire(RequestCode::gpu_set_socket, {}, std::move(fds.owned));
        CHECK(as<GpuSetSocket>(m).fd.get() == fds.raw[0]);
    }
    SECTION("SET_BACKEND_REQ_FD") {
        auto fds = make_fds(1);
        auto m = decode_wire(RequestCode::set_backend_req_fd, {}, std::move(fds.owned));
        CHECK(as<SetBackendReqFd>(m).fd.get() == fds.raw[0]);
        CHECK(request_name(code(RequestCode::set_backend_req_fd)) == "SET_BACKEND_REQ_FD");
    }
    SECTION("unknown requests decode, and their fds are closed") {
        auto fds = make_fds(3);
        std::vector<std::byte> payload(40);
        auto bytes = encode(99, flag_version, payload);
        auto header = parse_header(std::span(bytes).first<header_size>());
        auto m = decode(*header, std::span(bytes).subspan(header_size), std::move(fds.owned));
        CHECK(as<Unknown>(m).request == 99);
        CHECK(all_closed(fds.raw));
        CHECK(request_name(99) == "request 99");
        CHECK(request_name(code(RequestCode::set_vring_kick)) == "SET_VRING_KICK");
    }
}

TEST_CASE("Payload sizes are checked exactly", "[vhost-message]") {
    struct Case {
        RequestCode request;
        size_t size;
    };
    Case cases[] = {
        {RequestCode::get_features, 0},
        {RequestCode::set_features, 8},
        {RequestCode::set_owner, 0},
        {RequestCode::reset_owner, 0},
        {RequestCode::set_vring_num, 8},
        {RequestCode::set_vring_addr, 40},
        {RequestCode::set_vring_base, 8},
        {RequestCode::get_vring_base, 8},
        {RequestCode::get_protocol_features, 0},
        {RequestCode::set_protocol_features, 8},
        {RequestCode::get_queue_num, 0},
        {RequestCode::set_vring_enable, 8},
        {RequestCode::reset_device, 0},
        {RequestCode::set_vring_call, 8},
    };
    for (const auto& c : cases) {
        CAPTURE(request_name(code(c.request)));
        std::vector<std::byte> longer(c.size + 1);
        CHECK_FALSE(decode_wire(c.request, longer).has_value());
        if (c.size > 0) {
            std::vector<std::byte> shorter(c.size - 1);
            CHECK_FALSE(decode_wire(c.request, shorter).has_value());
            std::vector<std::byte> none;
            CHECK_FALSE(decode_wire(c.request, none).has_value());
        }
    }
    // SET_MEM_TABLE: the payload must hold exactly the regions it counts.
    CHECK_FALSE(decode_wire(RequestCode::set_mem_table, mem_table(2, 1), make_fds(2).owned));
    CHECK_FALSE(decode_wire(RequestCode::set_mem_table, mem_table(1, 2), make_fds(1).owned));
    CHECK_FALSE(decode_wire(RequestCode::set_mem_table, mem_table(9, 9), make_fds(8).owned));
    std::vector<std::byte> four(4);
    CHECK_FALSE(decode_wire(RequestCode::set_mem_table, four));
    // QEMU sends only the regions in use; a full 8-entry array for one region is refused.
    CHECK_FALSE(decode_wire(RequestCode::set_mem_table, mem_table(1, 8), make_fds(1).owned));
    // CONFIG: size field and payload must agree, and stay within the config space.
    CHECK_FALSE(decode_wire(RequestCode::get_config, config_payload(0, 16, 15)));
    CHECK_FALSE(decode_wire(RequestCode::get_config, config_payload(0, 16, 17)));
    CHECK_FALSE(decode_wire(RequestCode::set_config, config_payload(0, 257, 257)));
    CHECK_FALSE(decode_wire(RequestCode::get_config, std::vector<std::byte>(11)));
    // A header announcing more than the payload given.
    Header header{code(RequestCode::set_features), flag_version, 8};
    std::vector<std::byte> seven(7);
    CHECK_FALSE(decode(header, seven, {}).has_value());
}

TEST_CASE("Bad values in vhost-user requests are refused", "[vhost-message]") {
    CHECK_FALSE(decode_wire(RequestCode::set_vring_enable, state_payload(0, 2)));
    // Memory tables that cannot be valid never reach mmap.
    ByteWriter overlap;
    overlap.u32(2).u32(0);
    overlap.u64(0).u64(8192).u64(0x1000'0000).u64(0);
    overlap.u64(4096).u64(8192).u64(0x2000'0000).u64(0);
    auto fds = make_fds(2);
    auto m = decode_wire(RequestCode::set_mem_table, overlap.data(), std::move(fds.owned));
    REQUIRE_FALSE(m.has_value());
    CHECK(m.error().find("overlap") != std::string::npos);
    CHECK(all_closed(fds.raw));
}

TEST_CASE("Fd counts are checked and refused fds closed", "[vhost-message]") {
    SECTION("missing fds") {
        CHECK_FALSE(decode_wire(RequestCode::set_vring_kick, u64_payload(0)));
        CHECK_FALSE(decode_wire(RequestCode::gpu_set_socket, {}));
        CHECK_FALSE(decode_wire(RequestCode::set_backend_req_fd, {}));
        CHECK_FALSE(decode_wire(RequestCode::set_mem_table, mem_table(2, 2), make_fds(1).owned));
    }
    SECTION("extra fds") {
        struct Case {
            RequestCode request;
            std::vector<std::byte> payload;
            size_t fds;
        };
        std::vector<Case> cases = {
            {RequestCode::get_features, {}, 1},
            {RequestCode::set_features, u64_payload(0), 1},
            {RequestCode::set_vring_num, state_payload(0, 8), 2},
            {RequestCode::set_vring_kick, u64_payload(0), 2},
            {RequestCode::set_vring_call, u64_payload(vring_nofd_mask), 1}, // "no fd" plus one
            {RequestCode::gpu_set_socket, {}, 2},
            {RequestCode::set_backend_req_fd, {}, 2},
            {RequestCode::set_mem_table, mem_table(1, 1), 2},
            {RequestCode::get_config, config_payload(0, 4, 4), 1},
        };
        for (auto& c : cases) {
            CAPTURE(request_name(code(c.request)), c.fds);
            auto fds = make_fds(c.fds);
            CHECK_FALSE(decode_wire(c.request, c.payload, std::move(fds.owned)).has_value());
            CHECK(all_closed(fds.raw));
        }
    }
    SECTION("more than a message may carry") {
        auto fds = make_fds(max_fds + 1);
        CHECK_FALSE(decode_wire(RequestCode::set_mem_table, mem_table(8, 8), std::move(fds.owned))
                        .has_value());
        CHECK(all_closed(fds.raw));
    }
}

TEST_CASE("Replies are encoded as QEMU reads them", "[vhost-message]") {
    auto u64 = encode_u64_reply(code(RequestCode::get_features), 0x1'0000'0002ULL);
    std::vector<std::byte> expected_u64 = {std::byte{1}, {}, {}, {}, std::byte{5}, {}, {}, {},
                                           std::byte{8}, {}, {}, {}, std::byte{2}, {}, {}, {},
                                           std::byte{1}, {}, {}, {}};
    CHECK(u64 == expected_u64);

    auto state = encode_vring_state_reply(code(RequestCode::get_vring_base), 1, 42);
    REQUIRE(state.size() == header_size + 8);
    CHECK(load_le<uint32_t>(state.data() + 8) == 8);
    CHECK(load_le<uint32_t>(state.data() + 12) == 1);
    CHECK(load_le<uint32_t>(state.data() + 16) == 42);

    std::vector<std::byte> data(16, std::byte{7});
    auto config = encode_config_reply(0, 0, data);
    REQUIRE(config.size() == header_size + 12 + 16);
    CHECK(load_le<uint32_t>(config.data()) == code(RequestCode::get_config));
    CHECK(load_le<uint32_t>(config.data() + 4) == (flag_version | flag_reply));
    CHECK(load_le<uint32_t>(config.data() + 8) == 28);
    CHECK(load_le<uint32_t>(config.data() + 16) == 16);

    // Requests round-trip through encode and decode.
    auto bytes = encode(code(RequestCode::set_vring_num), flag_version, state_payload(0, 64));
    auto header = parse_header(std::span(bytes).first<header_size>());
    REQUIRE(header);
    auto m = decode(*header, std::span(bytes).subspan(header_size), {});
    CHECK(as<SetVringNum>(m).num == 64);
}
