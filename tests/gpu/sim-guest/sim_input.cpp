// tessera-sim-input: a simulated virtio-input device of a VM for tessera's input sockets. It
// plays QEMU's vhost-user-input-pci and Linux's virtio_input driver (InputDriver): it reads the
// device's identity and axes as the driver does at probe, prints them, then reads events and
// prints each. For tests and the benchmark where QEMU cannot run.
//
// Prints "name TEXT", "serial TEXT", "props HEX" (the first byte of PROP_BITS), "abs CODE MIN
// MAX" per axis of ABS_X, ABS_Y and ABS_MT_SLOT, then "ready", then "event TYPE CODE VALUE"
// per event (decimal) and with --timestamps "read NS" after each SYN_REPORT (CLOCK_MONOTONIC).
// --stall: posts its four buffers once and never again (a guest that stops reading).
// --leds N: sets the keyboard LEDs to N on the status queue after "ready".
#include "frontend.hpp"
#include "input_driver.hpp"
#include "test_loop.hpp"

#include <linux/input-event-codes.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <format>
#include <optional>
#include <print>
#include <string>
#include <string_view>

using namespace tessera::gpu;
using namespace tessera::gpu::test;

namespace {

struct Args {
    std::string socket;
    bool stall = false;
    bool timestamps = false;
    std::optional<int> leds;
};

[[noreturn]] void usage(const char* error) {
    std::println(stderr,
                 "tessera-sim-input: {}\nusage: tessera-sim-input --socket PATH [--stall] "
                 "[--timestamps] [--leds N]",
                 error);
    std::exit(2);
}

Args parse(int argc, char** argv) {
    Args args;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--socket" && i + 1 < argc) {
            args.socket = argv[++i];
        } else if (arg == "--leds" && i + 1 < argc) {
            args.leds = std::atoi(argv[++i]);
        } else if (arg == "--stall") {
            args.stall = true;
        } else if (arg == "--timestamps") {
            args.timestamps = true;
        } else {
            usage(std::format("unknown argument {}", arg).c_str());
        }
    }
    if (args.socket.empty()) {
        usage("--socket is required");
    }
    return args;
}

uint8_t select(input::ConfigSelect which) {
    return static_cast<uint8_t>(which);
}

std::string text(const std::vector<std::byte>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool print_identity(InputDriver& driver) {
    auto name = driver.query(select(input::ConfigSelect::id_name), 0);
    auto serial = driver.query(select(input::ConfigSelect::id_serial), 0);
    auto props = driver.query(select(input::ConfigSelect::prop_bits), 0);
    if (!name || !serial || !props) {
        return false;
    }
    std::println("name {}", text(*name));
    std::println("serial {}", text(*serial));
    std::println("props {:02x}", props->empty() ? 0u : std::to_integer<unsigned>((*props)[0]));
    for (uint8_t axis : {ABS_X, ABS_Y, ABS_MT_SLOT}) {
        auto info = driver.query(select(input::ConfigSelect::abs_info), axis);
        if (!info) {
            return false;
        }
        if (info->size() >= sizeof(input::AbsInfo)) {
            input::AbsInfo abs{};
            std::memcpy(&abs, info->data(), sizeof(abs));
            std::println("abs {} {} {}", axis, abs.min, abs.max);
        }
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    Args args = parse(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, nullptr, _IOLBF, 0);

    TestEventLoop loop;
    FrontendOptions options = input_frontend_options();
    options.connect_path = args.socket;
    std::optional<Frontend> frontend;
    try {
        frontend.emplace(loop, options);
    } catch (const std::exception& e) {
        std::println(stderr, "tessera-sim-input: {}", e.what());
        return 1;
    }
    if (!frontend->negotiate()) {
        std::println(stderr, "tessera-sim-input: the device did not answer");
        return 1;
    }
    InputDriver driver(*frontend);
    if (!print_identity(driver) || !frontend->driver_ok() || !driver.post_event_buffers()) {
        std::println(stderr, "tessera-sim-input: the device did not start");
        return 1;
    }
    std::println("ready");
    if (args.leds) {
        for (uint16_t led = 0; led < 3; ++led) {
            if (!driver.send_status({EV_LED, led, (*args.leds >> led) & 1})) {
                return 1;
            }
        }
        driver.send_status({EV_SYN, SYN_REPORT, 0});
        std::println("leds {}", *args.leds);
    }
    for (;;) {
        auto event = driver.next_event(!args.stall, 200);
        if (!event) {
            if (frontend->backend_closed(0)) {
                std::println("disconnected");
                return 0;
            }
            continue;
        }
        std::println("event {} {} {}", event->type, event->code, event->value);
        if (args.timestamps && event->type == EV_SYN) {
            auto now = std::chrono::steady_clock::now().time_since_epoch();
            std::println("read {}", std::chrono::nanoseconds(now).count());
        }
    }
}
