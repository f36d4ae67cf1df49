// Round-trip time estimation and the retransmission timeout, RFC 6298.
#pragma once

#include <cstdint>

#include "vigil/time.hpp"

namespace vigil::tcp {

class RttEstimator {
 public:
  // hz > 0: the RTO is kept in whole jiffies of 1/hz s, rounded up, as
  // Linux keeps icsk_rto (__tcp_set_rto's usecs_to_jiffies), so that its
  // doublings stay whole jiffies too.
  RttEstimator(Duration initial, Duration min, Duration max, Duration granularity,
               bool linux_formula = false, uint32_t hz = 0)
      : rto_(initial),
        min_(min),
        max_(max),
        granularity_(granularity),
        linux_(linux_formula),
        hz_(hz) {}

  // A new RTT measurement R (§2.2, §2.3). Callers apply Karn's algorithm
  // (§3): no samples from retransmitted segments unless timestamps
  // disambiguate them. A sample also clears the back-off (§5.7 note).
  void sample(Duration r);
  // §5.5: the timer expired; double the RTO, up to the maximum.
  void back_off();
  // §5.7: after a SYN timed out with no sample, data starts at this RTO.
  void reset_to(Duration rto) {
    if (!has_sample_) base_rto_ = rto_ = clamp(rto);
  }

  Duration rto() const { return rto_; }
  bool has_sample() const { return has_sample_; }
  Duration srtt() const { return srtt_; }
  Duration rttvar() const { return rttvar_; }
  uint32_t backoffs() const { return backoffs_; }

 private:
  Duration clamp(Duration d) const;

  Duration rto_;
  Duration base_rto_ = rto_;  // RTO before back-off
  Duration min_, max_, granularity_;
  bool linux_;
  uint32_t hz_;  // beside linux_: no bigger than before (issue 15's footprint)
  Duration srtt_, rttvar_;
  bool has_sample_ = false;
  uint32_t backoffs_ = 0;
};

}  // namespace vigil::tcp
