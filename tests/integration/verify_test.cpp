// On-screen verification (tests/data/layouts/verify.toml): verified zones are checked against
// what their content sent, pixel for pixel, every N frames and on request with tessera-ctl
// verify; whatever is drawn over a zone is a mismatch and a verify-failed health event.
#include "guest_rig.hpp"
#include "health_watcher.hpp"
#include "zone_scene.hpp"

#include <catch2/catch_test_macros.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

using namespace tessera;
using namespace tessera::test;
using json = nlohmann::json;
using Verdict = compositor::ZoneVerifier::Verdict;

namespace {

struct VerifyRig : GuestRig {
    HealthWatcher watcher{compositor.server().health()};

    VerifyRig() : GuestRig(test_data_path("layouts/verify.toml"), {{960, 240, 60000}}) {}

    const compositor::ZoneVerifier::Stats* stats(const char* zone) {
        const auto& all = compositor.server().zones()->verifier().stats();
        auto it = all.find(zone);
        return it == all.end() ? nullptr : &it->second;
    }
    // Waits for a check of `zone` after the ones counted so far whose verdict is `verdict`.
    bool next_check_is(const char* zone, Verdict verdict) {
        const uint64_t seen = stats(zone) ? stats(zone)->checks : 0;
        return compositor.run_until(
            [&] {
                const auto* s = stats(zone);
                return s && s->checks > seen + 1 && s->last->verdict == verdict;
            },
            10s);
    }
    // tessera-ctl --json verify zone NAME: its exit status and reply.
    std::pair<int, json> verify(const char* zone) {
        auto result =
            compositor.run_command({tessera_ctl_path(), "--json", "verify", "zone", zone});
        int status = WIFEXITED(result.status) ? WEXITSTATUS(result.status) : -1;
        auto reply = json::parse(result.output, nullptr, false);
        INFO(result.output);
        return {status, reply.is_discarded() ? json::object() : reply};
    }
    int ctl(std::vector<std::string> args) {
        args.insert(args.begin(), tessera_ctl_path());
        auto result = compositor.run_command(args);
        return WIFEXITED(result.status) ? WEXITSTATUS(result.status) : -1;
    }
};

} // namespace

TEST_CASE("Verified zones hold their content's pixels; what covers one is reported", "[verify]") {
    VerifyRig rig;
    // No content yet: each zone shows its fallback colour, and that is what is checked.
    auto [empty_status, empty] = rig.verify("blob");
    CHECK(empty_status == 0);
    CHECK(empty["result"] == "match");
    CHECK(empty["shown"] == "fallback");
    CHECK(empty["checked"] == 320 * 240);

    // Guests that draw into buffers off screen and flip, as a cluster must: a guest drawing into
    // the buffer on screen can be caught mid-drawing, and the check then rightly fails. So the
    // blob guest waits for each flip's fence as long as it takes: Linux gives up after 50 ms and
    // draws into the buffer still shown, which a loaded test machine would turn into a tear.
    auto a = rig.start("a", {"--cursor", "--cheap"});
    auto b = rig.start("b", {"--blob", "--fence-wait-ms", "10000"});
    auto native = rig.compositor.spawn({test_client_path(), "--app-id", "tessera-verify-client",
                                        "--follow-configure", "--frames", "100000"});
    REQUIRE(rig.frames_reach("a", 30));
    REQUIRE(rig.frames_reach("b", 30));
    REQUIRE(native->wait_for_line("mapped"));

    // The 2D guest's zone, checked every frame, keeps matching its content; its cursor (a 64x64
    // virtio-gpu cursor buffer) is its own drawing beside its screen, left out of the comparison.
    REQUIRE(rig.next_check_is("guest", Verdict::match));
    REQUIRE(rig.compositor.run_until([&] { return rig.stats("guest")->checks >= 30; }, 10s));
    CHECK(rig.stats("guest")->mismatches == 0);
    CHECK(rig.stats("guest")->last->shown == "content");
    CHECK(rig.stats("guest")->last->checked == 320 * 240 - 64 * 64);
    CHECK(rig.stats("guest")->cost_us_total > 0);

    // The blob guest's and the native window's, on request.
    auto [blob_status, blob] = rig.verify("blob");
    CHECK(blob_status == 0);
    CHECK(blob["result"] == "match");
    CHECK(blob["shown"] == "content");
    CHECK(blob["checked"] == 320 * 240);
    auto [native_status, window] = rig.verify("native");
    CHECK(native_status == 0);
    CHECK(window["result"] == "match");
    CHECK(window["shown"] == "content");
    CHECK(window["checked"].get<int>() > 0);

    // A zone drawn over the guest's: the next check fails where the cover starts.
    const size_t events_from = rig.watcher.events.size();
    REQUIRE(rig.ctl({"zone", "cover", "show"}) == 0);
    REQUIRE(rig.compositor.run_until(
        [&] { return rig.watcher.find_where("verify-failed", "zone", "guest", events_from); },
        10s));
    const auto& failed = *rig.watcher.find_where("verify-failed", "zone", "guest", events_from);
    CHECK(failed["shown"] == "content");
    CHECK(failed["x"] == 100);
    CHECK(failed["y"] == 50);
    CHECK(failed["mismatched"].get<int>() > 100 * 100 / 2);
    CHECK(failed["mismatched"].get<int>() <= 100 * 100);
    auto [covered_status, covered] = rig.verify("guest");
    CHECK(covered_status == 4);
    CHECK(covered["result"] == "mismatch");
    // The cover only touches the guest's zone.
    CHECK_FALSE(rig.watcher.find_where("verify-failed", "zone", "blob", events_from));
    CHECK(rig.verify("blob").first == 0);

    // Uncovered, it matches again.
    REQUIRE(rig.ctl({"zone", "cover", "hide"}) == 0);
    REQUIRE(rig.next_check_is("guest", Verdict::match));
    CHECK(rig.verify("guest").first == 0);
    CHECK(rig.stats("guest")->mismatches > 0);
}

TEST_CASE("What cannot be checked exactly is said, and a zone off screen is refused", "[verify]") {
    VerifyRig rig;
    // Translucent: blended with what lies below, so no pixel is the content's own.
    REQUIRE(rig.ctl({"zone", "blob", "opacity", "0.5"}) == 0);
    auto [status, reply] = rig.verify("blob");
    CHECK(status == 5);
    CHECK(reply["result"] == "unchecked");
    CHECK(reply["detail"].get<std::string>().find("translucent") != std::string::npos);

    CHECK(rig.ctl({"verify", "zone", "cover"}) == 1); // hidden: not on screen
    CHECK(rig.ctl({"verify", "zone", "nope"}) == 1);
    CHECK(rig.ctl({"verify", "zone"}) == 2);
    CHECK(rig.ctl({"verify", "output", "main"}) == 2);
}
