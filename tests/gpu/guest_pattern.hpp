#pragma once

#include <cstdint>

// The test pattern every test guest draws (the QEMU guest program tests/vm/guest/flipper.c
// and the simulated guest), so one decoder reads both. Frame n of a W x H screen (integer
// divisions): quadrants red, green / blue, white split at W/2 and H/2; over 0 <= y < H/16 a
// 16-cell counter, cell i white when bit 15 - i of n & 0xffff is set, else black (the last
// cell takes the W % 16 rightmost columns); in the band 3H/8 <= y < 5H/8 a black bar W/16
// wide at x = (n % 16) * (W/16).
namespace tessera::test {

inline uint32_t pattern_pixel(uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                              uint32_t frame) {
    uint32_t cell = width / 16;
    if (y < height / 16 && cell > 0) {
        uint32_t i = x / cell < 16 ? x / cell : 15;
        return (frame & 0xffff) & (1u << (15 - i)) ? 0xffffff : 0x000000;
    }
    if (y >= 3 * height / 8 && y < 5 * height / 8) {
        uint32_t bar = (frame % 16) * cell;
        if (x >= bar && x < bar + cell) {
            return 0x000000;
        }
    }
    bool right = x >= width / 2;
    bool bottom = y >= height / 2;
    if (!bottom) {
        return right ? 0x00ff00 : 0xff0000;
    }
    return right ? 0xffffff : 0x0000ff;
}

} // namespace tessera::test
