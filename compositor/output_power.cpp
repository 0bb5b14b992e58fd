#include "output_power.hpp"

#include "log_scopes.hpp"
#include "server.hpp"

namespace tessera::compositor {

OutputPower::OutputPower(Server& server)
    : server_(server), manager_(wlr_output_power_manager_v1_create(server.display())) {
    on_set_mode_.connect(&manager_->events.set_mode,
                         [this](wlr_output_power_v1_set_mode_event* event) {
                             set_mode(event->output, event->mode == ZWLR_OUTPUT_POWER_V1_MODE_ON);
                         });
}

void OutputPower::set_mode(wlr_output* output, bool on) {
    if (output->enabled == on) {
        return;
    }
    wlr_output_state state;
    wlr_output_state_init(&state);
    wlr_output_state_set_enabled(&state, on);
    bool ok = wlr_output_commit_state(output, &state);
    wlr_output_state_finish(&state);
    log::info(comp_log, "output {}: power {}{}", output->name, on ? "on" : "off",
              ok ? "" : " failed");
    if (ok) {
        server_.health().publish("output-power", {{"output", output->name}, {"on", on}});
        server_.arrange_outputs(); // what covers each enabled output (the lock's blank)
        if (on) {
            wlr_output_schedule_frame(output);
        }
    }
}

} // namespace tessera::compositor
