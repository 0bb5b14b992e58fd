#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gpu-backend/virtio_input/profile.hpp"

// A virtio-input device's config space as the driver sees it: it writes `select` and `subsel`
// and reads the answer's `size` and bytes. Over vhost-user every read is a GET_CONFIG and every
// write a SET_CONFIG of the whole struct, so the device keeps the selection itself.
namespace tessera::gpu::input {

class InputConfigSpace {
public:
    explicit InputConfigSpace(InputProfile profile) : profile_(std::move(profile)) {}

    // The whole 136-byte struct virtio_input_config for the current selection. A selection
    // the device has no answer for reads size 0 (the spec's "not supported").
    [[nodiscard]] std::vector<std::byte> read() const;

    // A write into the struct: `select` and `subsel` are taken from it when it covers them;
    // the other fields are the device's and ignore writes. Refused outside the struct.
    std::optional<std::string> write(uint32_t offset, std::span<const std::byte> data);

    [[nodiscard]] uint8_t select() const { return select_; }
    [[nodiscard]] uint8_t subsel() const { return subsel_; }
    [[nodiscard]] const InputProfile& profile() const { return profile_; }

private:
    // The answer's bytes (at most 128) for the current selection.
    [[nodiscard]] std::vector<std::byte> answer() const;

    InputProfile profile_;
    uint8_t select_ = 0;
    uint8_t subsel_ = 0;
};

} // namespace tessera::gpu::input
