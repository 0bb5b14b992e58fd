#pragma once

#include "gpu-backend/base/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

// The private channel between the compositor and one guest's device process: a SOCK_SEQPACKET
// socketpair carrying small fixed-layout messages, each a Header and its body, with fds
// (SCM_RIGHTS) only where a buffer's memory is lent: once per buffer, never per frame.
//
// Both ends are built from the same source, but neither trusts the other: the compositor
// checks every message against its type's size and every value against what it knows
// (DeviceLink), and a device process that breaks the format is ended.
namespace tessera::gpu::channel {

inline constexpr uint16_t version = 4; // 2: log_levels; 3: input devices; 4: exported 3D frames
// A message and its fds at most; a lend's piece table is the largest body.
inline constexpr size_t max_message = 160 * 1024;
inline constexpr size_t max_fds = 8;
inline constexpr uint32_t max_lend_pieces = 8192;
inline constexpr uint32_t max_scanouts = 16;
inline constexpr uint32_t max_reason = 256;
inline constexpr size_t max_log_spec = 1024;
inline constexpr uint32_t max_cursor_bytes = 64 * 64 * 4;
// Input devices a guest may have: a touchscreen per scanout, a pointer and a keyboard.
inline constexpr uint32_t max_input_devices = max_scanouts + 2;
// Events in one input frame, its SYN_REPORT included (EventFifo::max_frame_events).
inline constexpr uint32_t max_input_frame = 128;

enum class Type : uint16_t {
    // compositor -> device
    config = 1,       // Config, with the udmabuf device's fd when there is one
    signal_fence,     // SignalFence
    display_released, // DisplayReleased
    scanout_config,   // ScanoutConfigChange
    ping,             // Ping: answered with Stats
    log_levels,       // a log spec (text, at most max_log_spec bytes): the levels now
    attach_input,     // AttachInput, with the VMM's socket of a vhost-user-input device
    input_frame,      // InputFrame + WireInputEvent[count]
    // device -> compositor
    state = 64,    // State
    memory,        // Memory, with one fd per guest RAM region
    lend,          // Lend + LendPiece[piece_count], with the memory's fd for a dma-buf or pixels
    forget,        // Forget
    scanout,       // Scanout
    flush,         // Flush
    fence,         // Fence
    cursor,        // CursorHeader + pixels
    resource_gone, // ResourceGone
    stats,         // Stats
    closed,        // Closed + reason text: the VMM's connection ended
    input_state,   // InputState
};

struct Header {
    uint16_t version;
    uint16_t type;
    uint32_t size; // of the body
};

struct ScanoutMode {
    uint32_t width;
    uint32_t height;
    uint32_t refresh_mhz;
};

struct Config {
    uint32_t scanout_count;
    ScanoutMode scanouts[max_scanouts];
    uint32_t max_resources;
    uint64_t max_resource_bytes;
};

struct SignalFence {
    uint64_t token;
};

struct DisplayReleased {
    uint32_t resource_id;
    uint32_t serial; // of the last Scanout of the resource the compositor had seen
};

struct ScanoutConfigChange {
    uint32_t index;
    ScanoutMode mode;
};

struct Ping {
    uint64_t sequence;
};

enum class DeviceState : uint32_t { connected = 1, running, stopped };

struct State {
    DeviceState state;
};

// The guest's RAM, as a generation of region fds the pieces of lends point into.
struct Memory {
    uint32_t generation;
    uint32_t region_count;
    uint64_t region_sizes[max_fds]; // bytes the compositor may map of each fd
};

enum class LendKind : uint32_t {
    dmabuf = 1, // the fd is a dma-buf: of guest memory (udmabuf), or a 3D renderer's texture
    pieces,     // the memory lies in pieces of the guest RAM of `generation`
    pixels,     // the fd is a sealed memfd of host pixels the device writes
};

struct Lend {
    uint32_t lend_id; // names the memory until Forget
    LendKind kind;
    uint32_t generation; // pieces only
    uint32_t piece_count;
    uint64_t size;
};

struct LendPiece {
    uint32_t region;
    uint32_t pad;
    uint64_t offset; // in the region's fd
    uint64_t length;
};

struct Forget {
    uint32_t lend_id;
};

struct Image {
    uint32_t format; // proto::Format
    uint32_t width;
    uint32_t height;
    uint32_t stride;
    uint64_t offset;
    uint32_t rect_x, rect_y, rect_width, rect_height;
    uint64_t modifier;  // DRM format modifier: 0 (linear) but for a 3D frame a GPU exported
    uint32_t bottom_up; // 1: rows stored bottom first (a 3D renderer's texture): shown flipped
    uint32_t pad;
};

enum class ScanoutSource : uint32_t {
    none = 0,     // the scanout shows nothing
    in_place = 1, // shown from the lent memory itself (a 3D renderer's texture too)
    copy = 2,     // copied from the lent memory (host pixels) as the guest flushes
    readback = 3, // shown from the lent memory (host pixels), which the device fills with a
                  // 3D frame read back from its renderer at each flush
};

struct Scanout {
    uint32_t index;
    uint32_t resource_id;
    uint32_t lend_id;
    uint32_t serial; // counts the Scanout messages of this resource
    ScanoutSource source;
    Image image;
};

struct Flush {
    uint32_t index;
    uint32_t resource_id;
    uint32_t x, y, width, height;
};

struct Fence {
    uint32_t index;
    uint32_t pad;
    uint64_t token;
};

struct CursorHeader {
    uint32_t index;
    uint32_t visible;
    uint32_t image_changed;
    int32_t x, y;
    uint32_t hot_x, hot_y, width, height, format;
    uint32_t pixel_bytes;
};

struct ResourceGone {
    uint32_t resource_id;
};

// Input devices are named by a slot the compositor picks (below max_input_devices).
enum class InputKind : uint32_t { touchscreen = 1, pointer, keyboard };

struct AttachInput {
    uint32_t slot;
    InputKind kind;
    uint32_t scanout;       // a touchscreen's; its name says which
    uint32_t width, height; // the absolute axes' range (touchscreen, pointer), in pixels
};

struct WireInputEvent {
    uint16_t type;
    uint16_t code;
    int32_t value;
};

struct InputFrame {
    uint32_t slot;
    uint32_t count; // events that follow, at most max_input_frame
};

enum class InputDeviceState : uint32_t { gone = 0, connected, running };

struct InputState {
    uint32_t slot;
    InputDeviceState state;
    uint32_t leds; // bit n: LED code n, as the guest last set them
};

struct InputStats {
    uint32_t slot;
    uint32_t queued; // events waiting for the guest's buffers
    uint64_t frames_queued, frames_dropped, events_delivered, refused_events, status_events,
        status_garbage, device_failures, resets;
    uint32_t stuck_ms; // events have waited this long with the guest taking no buffer (0: none)
    uint32_t pad;
};

struct Stats {
    uint64_t sequence; // of the Ping answered; 0 when sent unasked
    uint64_t commands, errors, flushes, transfers, transfer_bytes, cursor_commands, deferred_unrefs,
        blobs, fenced_frames;
    uint64_t submits, submit_bytes, fenced_3d, readbacks, readback_bytes, exports; // 3D
    uint64_t requests, device_failures, resets;
    uint64_t rss_bytes;   // the device process's resident memory
    uint32_t input_count; // entries of `inputs` in use: the input devices attached now
    // Control-queue answers the guest has not taken back, where the ring says so (event-idx:
    // answers_watched 1), and for how long it has taken none while some waited (0: none wait).
    uint32_t answers_watched;
    uint32_t answers_unread;
    uint32_t answers_stuck_ms;
    InputStats inputs[max_input_devices];
};

struct Closed {
    uint32_t reason_length;
};

// A received message: its type, body and fds.
struct Message {
    Type type{};
    std::vector<std::byte> body;
    std::vector<UniqueFd> fds;

    // The body as T when it is exactly sizeof(T) bytes (`at_least`: it may carry more after).
    template <typename T> [[nodiscard]] bool read(T& out, bool at_least = false) const {
        static_assert(std::is_trivially_copyable_v<T>);
        if (body.size() < sizeof(T) || (!at_least && body.size() != sizeof(T))) {
            return false;
        }
        std::memcpy(&out, body.data(), sizeof(T));
        return true;
    }
    // What follows a T at the start of the body.
    template <typename T> [[nodiscard]] std::span<const std::byte> after() const {
        return std::span(body).subspan(std::min(body.size(), sizeof(T)));
    }
};

// A message being built: a fixed part, then any trailing bytes.
class Outgoing {
public:
    explicit Outgoing(Type type) : type_(type) {}
    template <typename T> Outgoing& add(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        const auto* p = reinterpret_cast<const std::byte*>(&value);
        body_.insert(body_.end(), p, p + sizeof(T));
        return *this;
    }
    Outgoing& add_bytes(std::span<const std::byte> bytes) {
        body_.insert(body_.end(), bytes.begin(), bytes.end());
        return *this;
    }
    Outgoing& add_fd(int fd) {
        fds_.push_back(fd);
        return *this;
    }
    [[nodiscard]] Type type() const { return type_; }
    [[nodiscard]] std::span<const std::byte> body() const { return body_; }
    [[nodiscard]] std::span<const int> fds() const { return fds_; }

private:
    Type type_;
    std::vector<std::byte> body_;
    std::vector<int> fds_;
};

// A connected SOCK_SEQPACKET pair; the first end is the compositor's.
std::expected<std::pair<UniqueFd, UniqueFd>, std::string> make_pair();

enum class SendResult { sent, full, failed };
// Sends one message without blocking: `full` when the peer's queue has no room.
SendResult send(int socket, const Outgoing& message);

struct ReceiveError {
    bool hung_up = false; // the peer closed its end (else: what it sent broke the format)
    std::string what;
};

// Receives one message without blocking: nullopt when none is queued. The error says what was
// wrong with it, or that the peer hung up: the channel is then done.
std::expected<std::optional<Message>, ReceiveError> receive(int socket);

} // namespace tessera::gpu::channel
