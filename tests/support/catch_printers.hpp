#pragma once

#include "util/image.hpp"

#include <catch2/catch_tostring.hpp>

#include <format>

// Lets Catch2 show pixel values in failed assertions.
template <> struct Catch::StringMaker<tessera::Rgba> {
    static std::string convert(const tessera::Rgba& c) {
        return std::format("rgba({}, {}, {}, {})", c.r, c.g, c.b, c.a);
    }
};
