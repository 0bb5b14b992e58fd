#pragma once

#include "listener.hpp"
#include "wlr.hpp"

namespace tessera::compositor {

class Server;

// wlr-gamma-control-unstable-v1 (wlsunset, gammastep): a client's gamma ramps for an output go
// into that output's next frame. An output without a gamma table (headless, some drivers)
// answers `failed` at once (wlroots); a ramp the output refuses fails its client, and the output
// goes back to no ramp. A client that goes away takes its ramp with it.
class GammaControl {
public:
    explicit GammaControl(Server& server);
    GammaControl(const GammaControl&) = delete;
    GammaControl& operator=(const GammaControl&) = delete;

    // Puts the output's current ramp (or none) into `state`, its next frame, if the output
    // accepts it; a ramp it refuses fails its client.
    void apply(wlr_output* output, wlr_output_state& state);

private:
    Server& server_;
    wlr_gamma_control_manager_v1* manager_;
    Listener<wlr_gamma_control_manager_v1_set_gamma_event> on_set_gamma_;
};

} // namespace tessera::compositor
