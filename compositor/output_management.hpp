#pragma once

#include "listener.hpp"
#include "wlr.hpp"

namespace tessera::compositor {

class Server;

// wlr-output-management: lets clients such as wlr-randr list and change outputs' modes,
// positions, scales, transforms and enabled state, tested and applied atomically.
class OutputManagement {
public:
    explicit OutputManagement(Server& server);
    OutputManagement(const OutputManagement&) = delete;
    OutputManagement& operator=(const OutputManagement&) = delete;

    // Sends the current state of every output to the clients.
    void publish();

private:
    void handle(wlr_output_configuration_v1* config, bool test_only);

    Server& server_;
    wlr_output_manager_v1* manager_;
    Listener<wlr_output_configuration_v1> on_apply_;
    Listener<wlr_output_configuration_v1> on_test_;
};

} // namespace tessera::compositor
