#include "app/server.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace vigil::app {

namespace {

bool done_state(tcp::State st) { return st == tcp::State::kClosed || st == tcp::State::kTimeWait; }

std::string lower(std::string v) {
  for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return v;
}

}  // namespace

Server::Server(ServeKind kind, uint16_t port, const tcp::TcpConfig& cfg, ReadPausePlan pause)
    : kind_(kind),
      port_(port),
      cfg_(cfg),
      pause_(pause),
      buf_(64 * 1024),
      pattern_(Pattern::Kind::kMod251) {}

void Server::poll(stack::Stack& s, Instant now) {
  if (!listening_ && error_.empty()) {
    stack::OpenError err;
    if (!s.listen(port_, 128, &err, &cfg_)) {
      error_ = "cannot listen on port " + std::to_string(port_) + ": " + err.message;
      return;
    }
    listening_ = true;
  }
  while (auto id = s.accept(port_)) {
    Conn& conn = conns_.insert_or_assign(*id, Conn(pause_)).first->second;
    ++accepted_;
    if (stopping_) close_conn(s, now, *id, conn);
  }
  for (auto it = conns_.begin(); it != conns_.end();) {
    const tcp::Connection* c = s.connection(it->first);
    if (c && !done_state(c->state())) service(s, now, it->first, it->second, *c);
    if (!c || done_state(c->state())) {
      if (c) {
        if (on_end_) on_end_(*c, it->second.in, hash_in_ ? &it->second.in_hash : nullptr);
        s.release(it->first);
      }
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

Instant Server::next_wake(Instant now) const {
  Instant t = Instant::never();
  for (const auto& [id, conn] : conns_) t = std::min(t, conn.pause.next_wake(now));
  return t;
}

void Server::stop(stack::Stack& s, Instant now) {
  stopping_ = true;
  for (auto& [id, conn] : conns_) close_conn(s, now, id, conn);
}

void Server::for_each_open(const stack::Stack& s,
                           const std::function<void(const tcp::Connection&, uint64_t)>& fn) const {
  for (const auto& [id, conn] : conns_) {
    if (const tcp::Connection* c = s.connection(id)) fn(*c, conn.in);
  }
}

void Server::close_conn(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn) {
  if (conn.closed) return;
  conn.closed = true;
  s.close(now, id);
}

bool Server::flush(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn) {
  if (conn.out_pos < conn.out.size()) {
    const size_t n = s.send(now, id, std::span<const uint8_t>(conn.out).subspan(conn.out_pos));
    conn.out_pos += n;
    bytes_out_ += n;
    if (conn.out_pos < conn.out.size()) return false;
  }
  conn.out.clear();
  conn.out_pos = 0;
  if (conn.body_pos < conn.body_end) {
    const uint64_t n = pattern_.send(s, now, id, conn.body_pos, conn.body_end, nullptr);
    conn.body_pos += n;
    bytes_out_ += n;
    if (conn.body_pos < conn.body_end) return false;
  }
  return true;
}

size_t Server::read(stack::Stack& s, Instant now, stack::ConnId id) {
  const size_t n = s.recv(now, id, buf_);
  bytes_in_ += n;
  return n;
}

// discard and echo: reads and hashes, honouring the read pause; returns 0
// while paused.
size_t Server::read_counted(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn) {
  const uint64_t room = conn.pause.room(now, conn.in);
  if (room == 0) return 0;
  const size_t n =
      s.recv(now, id, std::span<uint8_t>(buf_).first(std::min<uint64_t>(room, buf_.size())));
  bytes_in_ += n;
  conn.in += n;
  if (hash_in_) conn.in_hash.update(std::span<const uint8_t>(buf_.data(), n));
  return n;
}

void Server::service(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn,
                     const tcp::Connection& c) {
  if (conn.closed) {
    // Closing: keep draining what the peer still sends.
    while (read(s, now, id) > 0) {
    }
    return;
  }
  switch (kind_) {
    case ServeKind::kDiscard:
      while (read_counted(s, now, id, conn) > 0) {
      }
      break;
    case ServeKind::kEcho:
      // Read only what can be sent back, so the peer sees back-pressure.
      while (flush(s, now, id, conn)) {
        const size_t n = read_counted(s, now, id, conn);
        if (n == 0) break;
        conn.out.assign(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(n));
      }
      break;
    case ServeKind::kHttp:
      serve_http(s, now, id, conn);
      break;
  }
  if (conn.closed || conn.pause.paused(now)) return;
  const bool idle = conn.out.empty() && conn.body_pos >= conn.body_end;
  if (c.peer_closed() && c.recv_available() == 0 && idle) close_conn(s, now, id, conn);
}

void Server::serve_http(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn) {
  for (;;) {
    if (!flush(s, now, id, conn)) return;
    if (conn.close_after) {
      close_conn(s, now, id, conn);
      return;
    }
    const size_t end = conn.request.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (conn.request.size() > 16 * 1024) {
        respond(conn, "431 Request Header Fields Too Large", "request header too large\n");
        conn.close_after = true;
        continue;
      }
      const size_t n = read(s, now, id);
      if (n == 0) return;
      conn.request.append(reinterpret_cast<const char*>(buf_.data()), n);
      continue;
    }
    const std::string head = conn.request.substr(0, end);
    conn.request.erase(0, end + 4);
    handle_request(conn, head);
  }
}

void Server::respond(Conn& conn, const std::string& status, const std::string& body) {
  std::string text = "HTTP/1.1 " + status + "\r\nContent-Type: text/plain\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n" +
                     (conn.close_after ? "Connection: close\r\n" : "") + "\r\n" + body;
  conn.out.assign(text.begin(), text.end());
  conn.out_pos = 0;
}

void Server::handle_request(Conn& conn, const std::string& head) {
  const size_t eol = head.find("\r\n");
  const std::string line = head.substr(0, eol);
  const std::string headers = lower(eol == std::string::npos ? "" : head.substr(eol));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) {
    conn.close_after = true;
    respond(conn, "400 Bad Request", "malformed request line\n");
    return;
  }
  const std::string method = line.substr(0, sp1);
  const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string version = line.substr(sp2 + 1);
  if (version == "HTTP/1.0") {
    conn.close_after = headers.find("\nconnection: keep-alive") == std::string::npos;
  } else {
    conn.close_after = headers.find("\nconnection: close") != std::string::npos;
  }
  if (headers.find("\ncontent-length:") != std::string::npos ||
      headers.find("\ntransfer-encoding:") != std::string::npos) {
    conn.close_after = true;  // request bodies are not supported
    respond(conn, "501 Not Implemented", "request bodies are not supported\n");
    return;
  }
  if (method != "GET" && method != "HEAD") {
    respond(conn, "405 Method Not Allowed", "only GET and HEAD\n");
    return;
  }
  const std::string prefix = "/bytes/";
  uint64_t n = 0;
  bool ok = target.rfind(prefix, 0) == 0 && target.size() > prefix.size() &&
            target.size() - prefix.size() <= 15;
  for (size_t i = prefix.size(); ok && i < target.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(target[i]))) ok = false;
    n = n * 10 + static_cast<uint64_t>(target[i] - '0');
  }
  if (!ok) {
    respond(conn, "404 Not Found", "try GET /bytes/N\n");
    return;
  }
  std::string text =
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
      "Content-Length: " +
      std::to_string(n) + "\r\n" + (conn.close_after ? "Connection: close\r\n" : "") + "\r\n";
  conn.out.assign(text.begin(), text.end());
  conn.out_pos = 0;
  conn.body_pos = 0;
  conn.body_end = method == "HEAD" ? 0 : n;
}

}  // namespace vigil::app
