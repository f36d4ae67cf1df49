#include "tcp/rtt_estimator.hpp"

#include <algorithm>

#include "tcp/kernel_timer.hpp"

namespace vigil::tcp {

Duration RttEstimator::clamp(Duration d) const {
  // §2.4: RTO is at least rto_min; §2.5: a maximum may be placed on it.
  return std::min(std::max(d, min_), max_);
}

void RttEstimator::sample(Duration r) {
  if (r < Duration::zero()) return;
  if (!has_sample_) {
    // §2.2: SRTT <- R, RTTVAR <- R/2.
    srtt_ = r;
    rttvar_ = r / 2;
    has_sample_ = true;
  } else {
    // §2.3 with alpha = 1/8, beta = 1/4; RTTVAR is updated with the old SRTT.
    const Duration diff = srtt_ > r ? srtt_ - r : r - srtt_;
    rttvar_ = (rttvar_ * 3 + diff) / 4;
    srtt_ = (srtt_ * 7 + r) / 8;
  }
  // RTO <- SRTT + max(G, K*RTTVAR), K = 4; Linux floors the variance term
  // instead (SRTT + max(rto_min, 4*RTTVAR)).
  base_rto_ = linux_ ? std::min(srtt_ + std::max(min_, rttvar_ * 4), max_)
                     : clamp(srtt_ + std::max(granularity_, rttvar_ * 4));
  base_rto_ = round_up_to_jiffies(base_rto_, hz_);  // icsk_rto is in jiffies
  rto_ = base_rto_;
  backoffs_ = 0;
}

void RttEstimator::back_off() {
  ++backoffs_;
  rto_ = std::min(rto_ * 2, max_);
}

}  // namespace vigil::tcp
