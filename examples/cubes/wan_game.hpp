// The cube game across a real network, as two processes (eustress-cubes --serve ADDR / --connect ADDR): the server
// replicates the FieldScene to its clients at 60 Hz through the library's real UDP sockets, so each client's
// replication budget follows the path the kernel routes (across the delay line between namespaces in
// bench/wan_budget_bench.py). Both write one CSV row per 100 ms; times are CLOCK_MONOTONIC seconds, one clock for
// every process on the machine, so the rows of both sides can be joined:
//
//   server: t, tick, tick_time (when that tick ran), budget_bps, wire_bytes (to the first client, IPv4+UDP
//           headers included), snapshots_sent, snapshots_acked, snapshots_lost, deferred, srtt_ms, min_rtt_ms,
//           cwnd, send_queue_age_ms, latest_rtt_ms
//   client: t, tick (the newest snapshot applied), near_tick, far_tick (the oldest tick the 10 nearest and the 10
//           farthest cubes show), snapshots_applied, bytes_received, entities
#pragma once

#include <string>

#include "eustress/net/types.hpp"

namespace cubes {

struct WanGameOptions
{
    std::string address;  ///< HOST:PORT (or [V6]:PORT) to bind (server) or to connect to (client)
    std::string pin;      ///< the server's key pin (client; the server prints it)
    double seconds = 30;  ///< run this long, then exit
    std::string csv_path;
    bool adapt = true;  ///< ReplicationConfig::path.enabled (server)
};

/// Each returns the process's exit status.
int serve(const WanGameOptions& options);
int play(const WanGameOptions& options);

/// "10.77.0.2:7777" or "[fd77::2]:7777" into host and port; false when it is neither.
bool split_host_port(const std::string& address, std::string& host, unsigned& port);
/// Sleeps until `fd` is readable or `wake` comes (at most 50 ms).
void wait_readable(int fd, eustress::net::Timestamp wake, eustress::net::Timestamp now);

}  // namespace cubes
