#include "reference_image.hpp"

#include "test_paths.hpp"

#include <cstdlib>
#include <filesystem>
#include <format>

namespace tessera::test {

std::string test_output_dir() {
    std::filesystem::create_directories(TESSERA_TEST_OUTPUT_DIR);
    return TESSERA_TEST_OUTPUT_DIR;
}

std::string compare_with_reference(const Image& actual, const std::string& name, int tolerance) {
    std::string reference_path = std::format("{}/{}.png", TESSERA_REFERENCE_DIR, name);
    const char* update = std::getenv("TESSERA_UPDATE_REFERENCES");
    if (update && std::string_view(update) == "1") {
        if (auto written = write_png(actual, reference_path); !written) {
            return written.error();
        }
        return {};
    }
    auto expected = read_png(reference_path);
    if (!expected) {
        return std::format("cannot read the reference image: {}", expected.error());
    }
    auto comparison = compare_images(actual, *expected, tolerance);
    if (comparison.matches()) {
        return {};
    }
    auto dir = test_output_dir();
    auto actual_path = std::format("{}/{}-actual.png", dir, name);
    auto diff_path = std::format("{}/{}-diff.png", dir, name);
    (void)write_png(actual, actual_path);
    std::string where = std::format("screenshot: {}", actual_path);
    if (comparison.sizes_match) {
        (void)write_png(comparison.diff, diff_path);
        where += std::format(", diff: {}", diff_path);
    } else {
        where = std::format("actual {}x{}, reference {}x{}; {}", actual.width(), actual.height(),
                            expected->width(), expected->height(), where);
    }
    return std::format("{} does not match {} (tolerance {}): {}; {}", name, reference_path,
                       tolerance, comparison.describe(), where);
}

} // namespace tessera::test
