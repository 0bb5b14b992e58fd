#pragma once

// How tessera-device starts and ends, as tessera reads it.
namespace tessera::gpu::device_exit {

inline constexpr int vmm_fd = 3;
inline constexpr int channel_fd = 4;

inline constexpr int done = 0;          // the VMM or tessera went
inline constexpr int failed = 1;        // an unexpected error
inline constexpr int bad_start = 2;     // started wrongly (not by tessera)
inline constexpr int no_sandbox = 3;    // the sandbox could not be raised
inline constexpr int out_of_memory = 4; // an allocation failed at its memory limit
inline constexpr int no_renderer = 5;   // 3D was asked for and the renderer did not start

} // namespace tessera::gpu::device_exit
