// A server over stack::Stack: listens on one port, accepts every
// connection and serves each as echo, discard or HTTP/1.1 (GET /bytes/N:
// N bytes of the mod-251 pattern). `vigil tun serve` drives it over a TUN
// device; what is printed and the --stats file stay with the driver.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "app/pattern.hpp"
#include "app/read_pause.hpp"
#include "stack/stack.hpp"
#include "tcp/config.hpp"
#include "util/sha256.hpp"
#include "vigil/time.hpp"

namespace vigil::app {

enum class ServeKind : uint8_t { kEcho, kDiscard, kHttp };

class Server {
 public:
  // A connection that ended, just before it is released: the bytes read on
  // it and (discard and echo, with hashing on) their sha256, still open.
  using EndFn =
      std::function<void(const tcp::Connection& c, uint64_t bytes_in, util::Sha256* in_hash)>;

  // `pause` applies to each discard or echo connection on its own.
  Server(ServeKind kind, uint16_t port, const tcp::TcpConfig& cfg, ReadPausePlan pause = {});
  void set_hash_in(bool on) { hash_in_ = on; }
  void on_end(EndFn fn) { on_end_ = std::move(fn); }

  void poll(stack::Stack& s, Instant now);
  Instant next_wake(Instant now) const;
  // Closes every connection, and each one accepted from now on.
  void stop(stack::Stack& s, Instant now);
  bool quiesced() const { return conns_.empty(); }
  // Why the server could not listen ("" while it can).
  const std::string& error() const { return error_; }
  ServeKind kind() const { return kind_; }

  // The connections still open, with the bytes read on each.
  void for_each_open(const stack::Stack& s,
                     const std::function<void(const tcp::Connection&, uint64_t)>& fn) const;
  size_t open() const { return conns_.size(); }
  uint64_t accepted() const { return accepted_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  struct Conn {
    explicit Conn(const ReadPausePlan& p) : pause(p) {}
    std::vector<uint8_t> out;  // bytes owed before anything else (echo data, HTTP header)
    size_t out_pos = 0;
    std::string request;  // HTTP bytes not yet parsed
    uint64_t body_pos = 0, body_end = 0;
    bool close_after = false;  // HTTP: close once the response is queued
    bool closed = false;
    uint64_t in = 0;       // bytes read on this connection
    util::Sha256 in_hash;  // discard and echo: of the bytes read
    ReadPause pause;
  };

  void close_conn(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn);
  bool flush(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn);
  size_t read(stack::Stack& s, Instant now, stack::ConnId id);
  size_t read_counted(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn);
  void service(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn,
               const tcp::Connection& c);
  void serve_http(stack::Stack& s, Instant now, stack::ConnId id, Conn& conn);
  static void respond(Conn& conn, const std::string& status, const std::string& body);
  static void handle_request(Conn& conn, const std::string& head);

  ServeKind kind_;
  uint16_t port_;
  tcp::TcpConfig cfg_;
  ReadPausePlan pause_;
  bool hash_in_ = true;
  bool listening_ = false;
  bool stopping_ = false;
  std::string error_;
  EndFn on_end_;
  std::map<stack::ConnId, Conn> conns_;
  std::vector<uint8_t> buf_;
  Pattern pattern_;
  uint64_t accepted_ = 0, bytes_in_ = 0, bytes_out_ = 0;
};

}  // namespace vigil::app
