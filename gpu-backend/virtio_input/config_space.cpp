#include "gpu-backend/virtio_input/config_space.hpp"

#include <algorithm>
#include <format>

namespace tessera::gpu::input {

namespace {

std::vector<std::byte> string_bytes(const std::string& s) {
    auto bytes = std::as_bytes(std::span(s.data(), std::min(s.size(), config_payload_size)));
    return {bytes.begin(), bytes.end()};
}

// The bitmap's bytes up to its highest set bit; `always` answers a present but empty one with
// one zero byte (EV_REP: the driver only asks whether the type is there).
std::vector<std::byte> bitmap_bytes(const CodeBits& bits, bool always) {
    size_t highest = 0;
    bool any = false;
    for (size_t i = 0; i < bits.size(); ++i) {
        if (bits.test(i)) {
            highest = i;
            any = true;
        }
    }
    std::vector<std::byte> out(any ? highest / 8 + 1 : (always ? 1 : 0));
    for (size_t i = 0; any && i <= highest; ++i) {
        if (bits.test(i)) {
            out[i / 8] |= std::byte(1u << (i % 8));
        }
    }
    return out;
}

} // namespace

std::vector<std::byte> InputConfigSpace::answer() const {
    switch (static_cast<ConfigSelect>(select_)) {
    case ConfigSelect::id_name:
        return subsel_ == 0 ? string_bytes(profile_.name) : std::vector<std::byte>{};
    case ConfigSelect::id_serial:
        return subsel_ == 0 ? string_bytes(profile_.serial) : std::vector<std::byte>{};
    case ConfigSelect::id_devids: {
        if (subsel_ != 0) {
            return {};
        }
        ByteWriter w;
        w.u16(profile_.ids.bustype).u16(profile_.ids.vendor).u16(profile_.ids.product);
        w.u16(profile_.ids.version);
        return std::move(w).take();
    }
    case ConfigSelect::prop_bits:
        return subsel_ == 0 ? bitmap_bytes(profile_.props, false) : std::vector<std::byte>{};
    case ConfigSelect::ev_bits: {
        auto it = profile_.codes.find(subsel_);
        return it == profile_.codes.end() ? std::vector<std::byte>{}
                                          : bitmap_bytes(it->second, true);
    }
    case ConfigSelect::abs_info: {
        auto it = profile_.abs.find(subsel_);
        if (it == profile_.abs.end()) {
            return {};
        }
        const AbsInfo& a = it->second;
        ByteWriter w;
        w.u32(static_cast<uint32_t>(a.min)).u32(static_cast<uint32_t>(a.max));
        w.u32(static_cast<uint32_t>(a.fuzz)).u32(static_cast<uint32_t>(a.flat));
        w.u32(static_cast<uint32_t>(a.res));
        return std::move(w).take();
    }
    case ConfigSelect::unset:
        break;
    }
    return {};
}

std::vector<std::byte> InputConfigSpace::read() const {
    std::vector<std::byte> config(config_size);
    auto payload = answer();
    config[0] = std::byte{select_};
    config[1] = std::byte{subsel_};
    config[2] = std::byte(static_cast<uint8_t>(payload.size()));
    std::copy(payload.begin(), payload.end(), config.begin() + config_payload_offset);
    return config;
}

std::optional<std::string> InputConfigSpace::write(uint32_t offset,
                                                   std::span<const std::byte> data) {
    if (offset > config_size || data.size() > config_size - offset) {
        return std::format("bytes {}+{} outside the {}-byte config space", offset, data.size(),
                           config_size);
    }
    for (size_t i = 0; i < data.size(); ++i) {
        if (offset + i == 0) {
            select_ = static_cast<uint8_t>(data[i]);
        } else if (offset + i == 1) {
            subsel_ = static_cast<uint8_t>(data[i]);
        }
    }
    return std::nullopt;
}

} // namespace tessera::gpu::input
