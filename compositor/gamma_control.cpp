#include "gamma_control.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "server.hpp"

namespace tessera::compositor {

GammaControl::GammaControl(Server& server)
    : server_(server), manager_(wlr_gamma_control_manager_v1_create(server.display())) {
    on_set_gamma_.connect(&manager_->events.set_gamma,
                          [this](wlr_gamma_control_manager_v1_set_gamma_event* event) {
                              if (auto* output = server_.find_output(event->output)) {
                                  output->gamma_changed();
                              }
                          });
}

void GammaControl::apply(wlr_output* output, wlr_output_state& state) {
    auto* control = wlr_gamma_control_manager_v1_get_control(manager_, output);
    if (!wlr_gamma_control_v1_apply(control, &state)) {
        return; // out of memory: the ramp stays as it was
    }
    if (control && !wlr_output_test_state(output, &state)) {
        log::info(comp_log, "output {}: gamma ramp refused by the output", output->name);
        wlr_gamma_control_v1_send_failed_and_destroy(control);
        wlr_output_state_set_gamma_lut(&state, 0, nullptr, nullptr, nullptr);
        return;
    }
    log::info(comp_log, "output {}: gamma ramp {}", output->name, control ? "set" : "reset");
}

} // namespace tessera::compositor
