#pragma once

// The display must not wait for busy VMs and clients: with them saturating the CPUs, a frame
// handler that is not scheduled in time misses its vblank. As sway and KWin do, tessera asks for
// a higher priority where it may have one.
namespace tessera::compositor {

// Lowers tessera's nice value to -10 when allowed (CAP_SYS_NICE, or an RLIMIT_NICE of 30 or
// more, as PAM limits can grant), and makes every process it starts from then on (VMs,
// clients, startup commands) begin at the normal priority again (SCHED_RESET_ON_FORK). Logs
// what it got. Call before threads are created, so that they share it.
void raise_display_priority();

} // namespace tessera::compositor
