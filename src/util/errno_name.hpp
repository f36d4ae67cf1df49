// errno values by name: "ETIMEDOUT" for ETIMEDOUT.
#pragma once

#include <string>

namespace vigil::util {

// "" for 0; unknown values give "E<number>".
std::string errno_name(int err);

}  // namespace vigil::util
