// getsockopt(TCP_INFO): Linux's struct tcp_info (<linux/tcp.h>) filled from
// a connection's state. Its own translation unit, because <linux/tcp.h> and
// glibc's <netinet/tcp.h> both define struct tcp_info.
#pragma once

#include <cstddef>

#include "tcp/connection.hpp"
#include "vigil/time.hpp"

namespace vigil::posix {

// Size of Linux's struct tcp_info in the headers this was built with.
size_t tcp_info_size();
// Fills min(len, tcp_info_size()) bytes of `out`; returns that count. `c`
// may be null (a socket with no connection yet: state CLOSE, zeros).
// `rcvbuf`/`sndbuf`: the descriptor's SO_RCVBUF/SO_SNDBUF (doubled) values.
size_t fill_tcp_info(const tcp::Connection* c, Instant now, void* out, size_t len);

}  // namespace vigil::posix
