#pragma once
#include "core/backend.h"

namespace ember::cpu {

// The process-wide CPU backend.
Backend& cpu_backend();

}  // namespace ember::cpu
