#include "output_management.hpp"

#include "log_scopes.hpp"
#include "output.hpp"
#include "server.hpp"

#include <cstdlib>

namespace tessera::compositor {

OutputManagement::OutputManagement(Server& server)
    : server_(server), manager_(wlr_output_manager_v1_create(server.display())) {
    on_apply_.connect(&manager_->events.apply,
                      [this](wlr_output_configuration_v1* config) { handle(config, false); });
    on_test_.connect(&manager_->events.test,
                     [this](wlr_output_configuration_v1* config) { handle(config, true); });
}

void OutputManagement::publish() {
    auto* config = wlr_output_configuration_v1_create();
    for (const auto& output : server_.outputs()) {
        auto* head = wlr_output_configuration_head_v1_create(config, output->wlr());
        wlr_box box = output->layout_box();
        head->state.enabled = output->enabled() && !wlr_box_empty(&box);
        head->state.x = box.x;
        head->state.y = box.y;
    }
    wlr_output_manager_v1_set_configuration(manager_, config);
}

void OutputManagement::handle(wlr_output_configuration_v1* config, bool test_only) {
    size_t count = 0;
    auto* states = wlr_output_configuration_v1_build_state(config, &count);
    bool ok = states != nullptr;
    if (ok) {
        ok = test_only ? wlr_backend_test(server_.backend(), states, count)
                       : wlr_backend_commit(server_.backend(), states, count);
    }
    if (ok && !test_only) {
        wlr_output_configuration_head_v1* head = nullptr;
        wl_list_for_each(head, &config->heads, link) {
            auto* output = server_.find_output(head->state.output);
            if (!output) {
                continue;
            }
            log::debug(comp_log, "output {}: {} at {},{}", output->name(),
                       head->state.enabled ? "enabled" : "disabled", head->state.x, head->state.y);
            if (head->state.enabled) {
                output->add_to_layout(std::pair{head->state.x, head->state.y});
            } else {
                output->remove_from_layout();
            }
        }
    }
    for (size_t i = 0; i < count; ++i) {
        wlr_output_state_finish(&states[i].base);
    }
    std::free(states);

    log::info(comp_log, "output configuration {} {}", test_only ? "test" : "apply",
              ok ? "succeeded" : "failed");
    if (ok) {
        wlr_output_configuration_v1_send_succeeded(config);
    } else {
        wlr_output_configuration_v1_send_failed(config);
    }
    wlr_output_configuration_v1_destroy(config);
    if (!test_only) {
        publish();
    }
}

} // namespace tessera::compositor
