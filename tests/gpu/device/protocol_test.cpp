#include "commands.hpp"

#include "gpu-backend/virtio_gpu/protocol.hpp"
#include "gpu-backend/virtio_gpu/wire.hpp"

#include <catch2/catch_test_macros.hpp>

#include <array>
#include <variant>

using namespace tessera::gpu;
using namespace tessera::gpu::test;
using proto::Response;

namespace {

template <typename T> T decoded_as(const std::expected<proto::Command, proto::DecodeError>& d) {
    REQUIRE(d.has_value());
    REQUIRE(std::holds_alternative<T>(d->payload));
    return std::get<T>(d->payload);
}

Bytes from_u8(std::initializer_list<uint8_t> values) {
    Bytes out;
    for (auto v : values) {
        out.push_back(std::byte{v});
    }
    return out;
}

} // namespace

TEST_CASE("the header is read little-endian, field by field", "[cmd-protocol]") {
    // RESOURCE_UNREF, FENCE | INFO_RING_IDX, fence 0x0807060504030201, ctx 0x0d0c0b0a, ring 7.
    auto bytes = from_u8({0x02, 0x01, 0, 0, 0x03, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                          0x08, 0x0a, 0x0b, 0x0c, 0x0d, 0x07, 0xee, 0xee, 0xee,
                          // resource id 0x11223344, padding
                          0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0});
    auto d = proto::decode(bytes);
    REQUIRE(d);
    CHECK(d->header.type == proto::cmd_type::resource_unref);
    CHECK(d->header.flags == 3);
    CHECK(d->header.fence_id == 0x0807060504030201);
    CHECK(d->header.ctx_id == 0x0d0c0b0a);
    CHECK(d->header.ring_idx == 7);
    CHECK(decoded_as<proto::ResourceUnref>(d).resource_id == 0x11223344);
}

TEST_CASE("every 2D and cursor command decodes into its typed form", "[cmd-protocol]") {
    decoded_as<proto::GetDisplayInfo>(proto::decode(get_display_info()));
    CHECK(decoded_as<proto::GetEdid>(proto::decode(get_edid(3))).scanout == 3);

    const auto& create = decoded_as<proto::ResourceCreate2d>(proto::decode(create_2d(5, 2, 7, 9)));
    CHECK(
        (create.resource_id == 5 && create.format == 2 && create.width == 7 && create.height == 9));

    const auto& scanout =
        decoded_as<proto::SetScanout>(proto::decode(set_scanout(1, 5, {1, 2, 3, 4})));
    CHECK(scanout.rect == Rect{1, 2, 3, 4});
    CHECK((scanout.scanout_id == 1 && scanout.resource_id == 5));

    const auto& fl = decoded_as<proto::ResourceFlush>(proto::decode(flush(5, {0, 0, 8, 8})));
    CHECK((fl.resource_id == 5 && fl.rect == Rect{0, 0, 8, 8}));

    const auto& t = decoded_as<proto::TransferToHost2d>(
        proto::decode(transfer(5, {1, 1, 2, 2}, 0x1'0000'0004)));
    CHECK((t.resource_id == 5 && t.offset == 0x1'0000'0004 && t.rect == Rect{1, 1, 2, 2}));

    std::array<proto::MemEntry, 2> entries{{{0x1000, 4096}, {0xffff'0000'0000, 12}}};
    const auto& ab = decoded_as<proto::ResourceAttachBacking>(proto::decode(attach(5, entries)));
    REQUIRE(ab.entries.size() == 2);
    CHECK((ab.entries[1].addr == 0xffff'0000'0000 && ab.entries[1].length == 12));

    CHECK(decoded_as<proto::ResourceDetachBacking>(proto::decode(detach(5))).resource_id == 5);
    CHECK(decoded_as<proto::ResourceAssignUuid>(proto::decode(assign_uuid(5))).resource_id == 5);

    const auto& up =
        decoded_as<proto::CursorCommand>(proto::decode(cursor(true, 1, -5, 7, 9, 3, 4)));
    CHECK((up.update && up.scanout_id == 1 && up.x == -5 && up.y == 7 && up.resource_id == 9 &&
           up.hot_x == 3 && up.hot_y == 4));
    CHECK_FALSE(decoded_as<proto::CursorCommand>(proto::decode(cursor(false, 0, 1, 1, 0))).update);
}

TEST_CASE("blob commands decode; 3D and capset commands are known but unsupported",
          "[cmd-protocol]") {
    Bytes blob = Request(proto::cmd_type::resource_create_blob)
                     .u32(4)
                     .u32(1)
                     .u32(2)
                     .u32(1)
                     .u64(0)
                     .u64(4096)
                     .u64(0x2000)
                     .u32(4096)
                     .u32(0);
    const auto& b = decoded_as<proto::ResourceCreateBlob>(proto::decode(blob));
    CHECK((b.resource_id == 4 && b.blob_mem == 1 && b.size == 4096 && b.entries.size() == 1));

    Request sb(proto::cmd_type::set_scanout_blob);
    sb.rect({0, 0, 64, 64}).u32(0).u32(4).u32(64).u32(64).u32(2).u32(0);
    for (int i = 0; i < 8; ++i) {
        sb.u32(256);
    }
    CHECK(decoded_as<proto::SetScanoutBlob>(proto::decode(sb.take())).strides[0] == 256);

    for (uint32_t type : {0x208u, 0x209u}) { // RESOURCE_MAP_BLOB, RESOURCE_UNMAP_BLOB
        CHECK(decoded_as<proto::Unsupported>(proto::decode(Request(type).take())).type == type);
    }
}

TEST_CASE("3D commands decode to their fields; a command buffer is capped, whole dwords and all "
          "there",
          "[cmd-protocol]") {
    // The name and the command buffer are views into the request: it must outlive them.
    const Bytes create_request = ctx_create(3, "glmark2");
    const auto created = decoded_as<proto::CtxCreate>(proto::decode(create_request));
    CHECK(created.debug_name == "glmark2");
    CHECK(decoded_as<proto::ResourceCreate3d>(proto::decode(create_3d(5, {.width = 9}))).width ==
          9);
    const auto& t =
        decoded_as<proto::Transfer3d>(proto::decode(transfer_3d(false, 5, {1, 2, 3, 4, 5, 6})));
    CHECK((!t.to_host && t.resource_id == 5 && t.box == proto::Box{1, 2, 3, 4, 5, 6}));

    const std::array<uint32_t, 2> dwords{1, 2};
    const Bytes submit_request = submit_3d(1, dwords);
    const auto submit = decoded_as<proto::Submit3d>(proto::decode(submit_request));
    CHECK(submit.commands.size() == 8);

    auto with_size = [](uint32_t size, size_t sent) {
        Request r(proto::cmd_type::submit_3d);
        r.u32(size).u32(0);
        Bytes bytes = r;
        bytes.resize(bytes.size() + sent);
        return proto::decode(bytes);
    };
    CHECK(with_size(8, 8));
    CHECK(with_size(proto::max_submit_bytes, proto::max_submit_bytes));
    for (auto decoded : {with_size(8, 7), with_size(6, 8),
                         with_size(proto::max_submit_bytes + 4, proto::max_submit_bytes + 4),
                         with_size(0xfffffffc, 16)}) {
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().response == proto::Response::err_invalid_parameter);
    }
    CHECK(proto::max_request_size >= proto::Submit3d::wire_size + proto::max_submit_bytes);
}

TEST_CASE("short, unknown and oversized requests are decode errors that keep the header",
          "[cmd-protocol]") {
    SECTION("shorter than a header") {
        auto d = proto::decode(Bytes(23));
        REQUIRE_FALSE(d);
        CHECK(d.error().response == Response::err_unspec);
        CHECK(d.error().header.fence_id == 0);
    }
    SECTION("unknown type") {
        for (uint32_t type : {0u, 0x10eu, 0x20au, 0x302u, 0x1100u, 0xffffffffu}) {
            auto d = proto::decode(Request(type, fenced(9)).take());
            REQUIRE_FALSE(d);
            CHECK(d.error().response == Response::err_unspec);
            CHECK(d.error().header.fence_id == 9);
        }
    }
    SECTION("every command one byte short") {
        for (Bytes full : {create_2d(1, 2, 3, 4), unref(1), set_scanout(0, 1, {}), flush(1, {}),
                           transfer(1, {}, 0), attach(1, {}), detach(1), get_edid(0),
                           assign_uuid(1), cursor(true, 0, 0, 0, 0), cursor(false, 0, 0, 0, 0)}) {
            full.pop_back();
            auto d = proto::decode(full);
            REQUIRE_FALSE(d);
            CHECK(d.error().response == Response::err_unspec);
            CHECK(d.error().reason == "truncated command");
        }
    }
    SECTION("backing entries: capped and all present") {
        std::vector<proto::MemEntry> many(proto::max_backing_entries + 1, {0x1000, 4096});
        auto d = proto::decode(attach(1, many));
        REQUIRE_FALSE(d);
        CHECK(d.error().response == Response::err_invalid_parameter);

        many.pop_back();
        CHECK(attach(1, many).size() <= proto::max_request_size);
        CHECK(decoded_as<proto::ResourceAttachBacking>(proto::decode(attach(1, many)))
                  .entries.size() == proto::max_backing_entries);

        // Claims 1000 entries, carries 2 (and a stray byte).
        Bytes lying = Request(proto::cmd_type::resource_attach_backing)
                          .u32(1)
                          .u32(1000)
                          .u64(0x1000)
                          .u32(4096)
                          .u32(0)
                          .u64(0x2000)
                          .u32(4096)
                          .u32(0);
        lying.push_back(std::byte{0});
        d = proto::decode(lying);
        REQUIRE_FALSE(d);
        CHECK(d.error().reason == "backing entries truncated");

        // nr_entries of 0xffffffff must not reserve anything.
        d = proto::decode(Request(proto::cmd_type::resource_attach_backing).u32(1).u32(~0u).take());
        REQUIRE_FALSE(d);
        CHECK(d.error().response == Response::err_invalid_parameter);
    }
    SECTION("trailing bytes are ignored") {
        Bytes padded = unref(7);
        padded.resize(padded.size() + 100);
        CHECK(decoded_as<proto::ResourceUnref>(proto::decode(padded)).resource_id == 7);
    }
}

TEST_CASE("responses echo the fence, ctx and ring as the spec requires", "[cmd-protocol]") {
    proto::CtrlHeader request{proto::cmd_type::resource_flush, proto::flag_fence, 42, 3, 5};
    auto r = response_header(proto::encode_nodata(request, Response::ok_nodata));
    CHECK(r.type == 0x1100);
    CHECK(r.flags == proto::flag_fence);
    CHECK(r.fence_id == 42);
    CHECK(r.ctx_id == 3);
    CHECK(r.ring_idx == 0); // only with INFO_RING_IDX

    request.flags = proto::flag_fence | proto::flag_info_ring_idx | 0x80;
    r = response_header(proto::encode_nodata(request, Response::err_invalid_parameter));
    CHECK(r.type == 0x1205);
    CHECK(r.flags == (proto::flag_fence | proto::flag_info_ring_idx));
    CHECK(r.ring_idx == 5);

    request.flags = 0;
    r = response_header(proto::encode_nodata(request, Response::ok_nodata));
    CHECK(r.flags == 0);
    CHECK(r.fence_id == 0);
}

TEST_CASE("response encoders write the spec's sizes and layouts", "[cmd-protocol]") {
    proto::CtrlHeader request{proto::cmd_type::get_display_info, proto::flag_fence, 1, 0, 0};
    CHECK(proto::encode_nodata(request, Response::ok_nodata).size() == 24);

    std::array<proto::DisplayMode, 2> modes{{{{0, 0, 800, 600}, true, 0}, {{0, 0, 1, 2}, true, 0}}};
    auto info = proto::encode_display_info(request, modes);
    REQUIRE(info.size() == 408);
    proto::WireReader r{std::span(info).subspan(24)};
    CHECK((r.u32() == 0 && r.u32() == 0 && r.u32() == 800 && r.u32() == 600));
    CHECK(r.u32() == 1); // enabled
    CHECK(r.u32() == 0);
    r.skip(8);
    CHECK((r.u32() == 1 && r.u32() == 2 && r.u32() == 1));
    r.u32();
    for (int i = 2; i < 16; ++i) {
        for (int field = 0; field < 6; ++field) {
            CHECK(r.u32() == 0);
        }
    }
    CHECK(r.remaining() == 0);

    std::array<uint8_t, 128> edid{};
    edid[0] = 0xab;
    auto e = proto::encode_edid(request, edid);
    REQUIRE(e.size() == 1056);
    CHECK(response_type(e) == 0x1104);
    proto::WireReader er{std::span(e).subspan(24)};
    CHECK(er.u32() == 128);
    CHECK(er.u32() == 0);
    CHECK(er.u8() == 0xab);

    auto u = proto::encode_resource_uuid(request, {1, 2, 3});
    REQUIRE(u.size() == 40);
    CHECK(response_type(u) == 0x1105);
    CHECK(u[25] == std::byte{2});
}

TEST_CASE("formats: the eight of the spec, and their DRM fourccs", "[cmd-protocol]") {
    for (uint32_t f : {1u, 2u, 3u, 4u, 67u, 68u, 121u, 134u}) {
        CHECK(proto::is_known_format(f));
    }
    for (uint32_t f : {0u, 5u, 66u, 135u, 0xffffffffu}) {
        CHECK_FALSE(proto::is_known_format(f));
    }
    CHECK(proto::drm_fourcc(proto::Format::b8g8r8x8) == 0x34325258); // 'XR24'
    CHECK(proto::drm_fourcc(proto::Format::b8g8r8a8) == 0x34325241); // 'AR24'
    CHECK(proto::drm_fourcc(proto::Format::r8g8b8x8) == 0x34324258); // 'XB24'
    CHECK(proto::format_has_alpha(proto::Format::a8b8g8r8));
    CHECK_FALSE(proto::format_has_alpha(proto::Format::x8r8g8b8));
}

TEST_CASE("the wire reader fails past the end and stays failed", "[cmd-protocol]") {
    auto bytes = from_u8({1, 2, 3});
    proto::WireReader r(bytes);
    CHECK(r.u16() == 0x0201);
    CHECK(r.u32() == 0);
    CHECK(r.failed());
    CHECK(r.u8() == 0);
    CHECK(r.remaining() == 0);
}
