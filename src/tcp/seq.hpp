// Sequence-number arithmetic lives in wire/seq.hpp (the analyzer, which
// depends only on wire, needs it too); tcp's code keeps calling it unqualified.
#pragma once

#include "wire/seq.hpp"

namespace vigil::tcp {

using wire::seq_diff;
using wire::seq_ge;
using wire::seq_gt;
using wire::seq_in;
using wire::seq_le;
using wire::seq_lt;
using wire::seq_max;
using wire::seq_min;

}  // namespace vigil::tcp
