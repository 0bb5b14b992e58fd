#include "display_priority.hpp"

#include "log_scopes.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace tessera::compositor {

namespace {
constexpr int display_nice = -10;
} // namespace

void raise_display_priority() {
    if (setpriority(PRIO_PROCESS, 0, display_nice) != 0) {
        log::info(comp_log, "priority: normal ({}: no CAP_SYS_NICE, or an RLIMIT_NICE below {})",
                  std::strerror(errno), 20 - display_nice);
        return;
    }
    // Children start at nice 0 again, whatever tessera runs at.
    sched_param param{};
    if (sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &param) != 0) {
        // Keeping the raised priority would hand it to every VM and client: give it back.
        setpriority(PRIO_PROCESS, 0, 0);
        log::warn(comp_log, "priority: normal (children would inherit a raised one: {})",
                  std::strerror(errno));
        return;
    }
    log::info(comp_log, "priority: nice {}; what it starts runs at the normal priority",
              display_nice);
}

} // namespace tessera::compositor
