#pragma once

#include "layout.hpp"

#include <expected>
#include <string>
#include <string_view>

// Layout files: TOML, documented in data/layouts/README.md.
namespace tessera::ivi {

// Where and why a layout file is wrong.
struct LayoutError {
    std::string file;
    int line = 0; // 1-based; 0 when unknown
    int column = 0;
    std::string key; // dotted path, e.g. "zones.cluster.fit"; empty for syntax errors
    std::string message;

    // "FILE:LINE:COLUMN: KEY: MESSAGE" (parts that are unknown are left out).
    [[nodiscard]] std::string describe() const;
};

// Parses and validates a layout; `file_name` is used in errors and to resolve relative paths.
std::expected<Layout, LayoutError> parse_layout(std::string_view text,
                                                const std::string& file_name);
std::expected<Layout, LayoutError> load_layout_file(const std::string& path);

} // namespace tessera::ivi
