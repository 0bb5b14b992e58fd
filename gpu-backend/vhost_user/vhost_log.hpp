#pragma once

#include "gpu-backend/base/log.hpp"

namespace tessera::gpu::vhost {

// The log scope of the vhost-user transport.
inline log::Scope vhost_log{"gpu.vhost"};

} // namespace tessera::gpu::vhost
