#include <catch2/catch_test_macros.hpp>

#include <linux/input-event-codes.h>
#include <linux/input.h>

#include <string>
#include <vector>

#include "gpu-backend/base/bytes.hpp"
#include "gpu-backend/virtio_input/config_space.hpp"

using namespace tessera::gpu;
using namespace tessera::gpu::input;

namespace {

// What Linux's virtio_input does for one query: writes select and subsel (QEMU writes the whole
// struct), reads size and the union.
std::vector<std::byte> query(InputConfigSpace& space, ConfigSelect select, uint8_t subsel = 0) {
    auto config = space.read();
    config[0] = std::byte(static_cast<uint8_t>(select));
    config[1] = std::byte{subsel};
    REQUIRE_FALSE(space.write(0, config));
    config = space.read();
    REQUIRE(config.size() == config_size);
    auto size = static_cast<size_t>(config[2]);
    REQUIRE(size <= config_payload_size);
    return {config.begin() + config_payload_offset,
            config.begin() + config_payload_offset + static_cast<ptrdiff_t>(size)};
}

std::string text(const std::vector<std::byte>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool bit(const std::vector<std::byte>& bitmap, unsigned n) {
    return n / 8 < bitmap.size() && (static_cast<unsigned>(bitmap[n / 8]) >> (n % 8)) & 1;
}

AbsInfo abs_of(InputConfigSpace& space, uint8_t axis) {
    auto bytes = query(space, ConfigSelect::abs_info, axis);
    REQUIRE(bytes.size() == 20);
    auto at = [&](size_t i) { return static_cast<int32_t>(load_le<uint32_t>(bytes.data() + i)); };
    return AbsInfo{at(0), at(4), at(8), at(12), at(16)};
}

} // namespace

TEST_CASE("A touchscreen names its scanout and is direct multitouch", "[input-config]") {
    InputConfigSpace space(touchscreen_profile(1, 1280, 720));
    CHECK(text(query(space, ConfigSelect::id_name)) == "tessera touchscreen Virtual-2");
    CHECK(text(query(space, ConfigSelect::id_serial)) == "Virtual-2");
    auto ids = query(space, ConfigSelect::id_devids);
    REQUIRE(ids.size() == 8);
    CHECK(load_le<uint16_t>(ids.data()) == BUS_VIRTUAL);

    auto props = query(space, ConfigSelect::prop_bits);
    CHECK(bit(props, INPUT_PROP_DIRECT));
    CHECK_FALSE(bit(props, INPUT_PROP_POINTER));

    auto abs = query(space, ConfigSelect::ev_bits, EV_ABS);
    for (unsigned axis :
         {ABS_X, ABS_Y, ABS_MT_SLOT, ABS_MT_TRACKING_ID, ABS_MT_POSITION_X, ABS_MT_POSITION_Y}) {
        CHECK(bit(abs, axis));
    }
    CHECK(bit(query(space, ConfigSelect::ev_bits, EV_KEY), BTN_TOUCH));
    CHECK(query(space, ConfigSelect::ev_bits, EV_REL).empty());

    // Linux makes max(ABS_MT_SLOT) + 1 slots: at least ten fingers.
    CHECK(abs_of(space, ABS_MT_SLOT).max + 1 >= 10);
    CHECK(abs_of(space, ABS_MT_POSITION_X) == AbsInfo{.min = 0, .max = 1279});
    CHECK(abs_of(space, ABS_MT_POSITION_Y) == AbsInfo{.min = 0, .max = 719});
    CHECK(abs_of(space, ABS_X).max == 1279);
    CHECK(abs_of(space, ABS_Y).max == 719);
    CHECK(query(space, ConfigSelect::abs_info, ABS_PRESSURE).empty());
}

TEST_CASE("A pointer has tablet axes, three buttons and a wheel", "[input-config]") {
    InputConfigSpace space(pointer_profile(800, 600));
    auto keys = query(space, ConfigSelect::ev_bits, EV_KEY);
    CHECK(bit(keys, BTN_LEFT));
    CHECK(bit(keys, BTN_RIGHT));
    CHECK(bit(keys, BTN_MIDDLE));
    CHECK_FALSE(bit(keys, BTN_TOUCH));
    CHECK(bit(query(space, ConfigSelect::ev_bits, EV_REL), REL_WHEEL));
    CHECK(abs_of(space, ABS_X).max == 799);
    CHECK(abs_of(space, ABS_Y).max == 599);
    CHECK_FALSE(bit(query(space, ConfigSelect::prop_bits), INPUT_PROP_DIRECT));
}

TEST_CASE("A keyboard has every key, repeat and lock LEDs, and no buttons", "[input-config]") {
    InputConfigSpace space(keyboard_profile());
    auto keys = query(space, ConfigSelect::ev_bits, EV_KEY);
    for (unsigned key : {KEY_ESC, KEY_A, KEY_LEFTCTRL, KEY_F12, KEY_KPENTER, KEY_MUTE, KEY_OK,
                         KEY_MACRO1, KEY_ALS_TOGGLE}) {
        CHECK(bit(keys, key));
    }
    for (unsigned button : {BTN_LEFT, BTN_TOUCH, BTN_SOUTH, BTN_DPAD_UP, BTN_TRIGGER_HAPPY1}) {
        CHECK_FALSE(bit(keys, button));
    }
    CHECK_FALSE(bit(keys, KEY_RESERVED));
    // Linux sets EV_REP when the answer has any size at all.
    CHECK_FALSE(query(space, ConfigSelect::ev_bits, EV_REP).empty());
    auto leds = query(space, ConfigSelect::ev_bits, EV_LED);
    CHECK(bit(leds, LED_NUML));
    CHECK(bit(leds, LED_CAPSL));
    CHECK(bit(leds, LED_SCROLLL));
    CHECK(query(space, ConfigSelect::ev_bits, EV_ABS).empty());
}

TEST_CASE("Unknown selections read size 0 and bad writes are refused", "[input-config]") {
    InputConfigSpace space(keyboard_profile());
    CHECK(query(space, ConfigSelect::unset).empty());
    CHECK(query(space, static_cast<ConfigSelect>(0x7f), 3).empty());
    CHECK(query(space, ConfigSelect::id_name, 1).empty()); // strings have no subsel
    CHECK(query(space, ConfigSelect::ev_bits, EV_MAX).empty());

    // Writes past the struct are refused and change nothing.
    uint8_t selected = space.select();
    std::vector<std::byte> junk(200, std::byte{0xff});
    CHECK(space.write(0, junk));
    CHECK(space.write(136, std::span(junk).first(1)));
    CHECK(space.write(UINT32_MAX, std::span(junk).first(1)));
    CHECK(space.select() == selected);
    // Byte writes work as the driver's own would.
    std::byte select{static_cast<uint8_t>(ConfigSelect::id_name)};
    std::byte subsel{0};
    CHECK_FALSE(space.write(0, std::span(&select, 1)));
    CHECK_FALSE(space.write(1, std::span(&subsel, 1)));
    auto config = space.read();
    auto name_end = config.begin() + 8 + static_cast<ptrdiff_t>(config[2]);
    CHECK(text(std::vector<std::byte>(config.begin() + 8, name_end)) == "tessera keyboard");
    // The device's own fields ignore writes.
    std::vector<std::byte> size_write{std::byte{0xff}};
    CHECK_FALSE(space.write(2, size_write));
    CHECK(static_cast<unsigned>(space.read()[2]) == std::string("tessera keyboard").size());
}
