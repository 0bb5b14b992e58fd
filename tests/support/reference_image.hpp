#pragma once

#include "util/image.hpp"

#include <string>

namespace tessera::test {

// Compares a screenshot with tests/reference/NAME.png, channel by channel within `tolerance`.
// On mismatch writes NAME-actual.png and NAME-diff.png into the test output folder and returns
// a message saying where; returns an empty string on a match.
// With TESSERA_UPDATE_REFERENCES=1 in the environment, (re)writes the reference instead.
std::string compare_with_reference(const Image& actual, const std::string& name, int tolerance);

// Where tests write their artefacts (screenshots, diffs); created on demand.
std::string test_output_dir();

} // namespace tessera::test
