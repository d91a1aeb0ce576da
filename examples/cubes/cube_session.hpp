// The cube scene replicated to clients over QUIC on the in-memory network, in virtual time, through the link
// conditioner: what examples/cubes prints and bench/cubes_bench.cpp measures. Beside the replicated clients, an
// optional naive peer receives the whole scene as full floats every tick, over the same conditioned link.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "eustress/net/replication.hpp"
#include "eustress/net/types.hpp"

namespace cubes {

struct CubeSessionConfig
{
    std::size_t clients = 1;
    eustress::net::Duration one_way_latency = std::chrono::milliseconds(50);
    eustress::net::Duration jitter{0};
    double loss = 0.02;
    std::uint32_t snapshot_rate = 60;
    bool naive_peer = true;
    /// Position grid step (metres; error is at most half) and smallest-three bits per component.
    float position_resolution = 0.0019f;
    unsigned rotation_bits = 10;
    /// Pose hysteresis (TransformQuantization::hold_*): the error the scene tolerates, 1 mm per axis and 0.5
    /// degrees (a hair under, so float rounding in the measurement cannot tip a held pose over); 0 turns it off.
    float hold_position = 0.001f;
    float hold_rotation_degrees = 0.49f;
    std::uint64_t seed = 1;
    /// Replaces the seed's budget table (0 keeps it): set high to see what the encoding needs when not capped.
    std::uint64_t budget_bits_per_second = 0;
    bool katamari = true;  ///< the busy scene (see CubeScene)
    /// The replicated clients' snapshot format (the naive peer is not replicated).
    eustress::net::SnapshotCodec codec = eustress::net::SnapshotCodec::Predictive;
    /// Rate caps on the server's link to the replicated clients, by the second they start (bits per second;
    /// 0 lifts the cap): a path that narrows mid-game, for the budget to follow (ReplicationConfig::path).
    std::map<int, std::uint64_t> link_caps;
    bool adapt_to_path = true;  ///< ReplicationConfig::path.enabled
    /// ReplicationConfig::whole_snapshot_wait (with snapshots up to 16 KiB): a snapshot the budget cannot fill
    /// with every change waits up to this many ticks for the allowance to grow. 0: partial snapshots.
    std::uint32_t whole_snapshot_wait = 3;
};

/// One second of the run.
struct SecondReport
{
    int second = 0;
    double kbps_min = 0;  ///< replicated clients: bits on the wire per second, server to client (IPv4+UDP included)
    double kbps_max = 0;
    double naive_offered_kbps = 0;  ///< what the naive stream asks of the link: every full snapshot, with overheads
    double naive_kbps = 0;          ///< what QUIC's congestion control let through to the naive peer
    bool naive_connected = false;
    double naive_delivered = 0;   ///< fraction of its full snapshots that arrived whole
    float position_error_mm = 0;  ///< worst |mirror − server| over cubes, clients and ticks of this second
    float rotation_error_degrees = 0;
    /// Of every (client, cube, tick) sample: the share within 1 mm and 0.5 degrees of the truth at its tick.
    double within_target = 1.0;
    std::size_t moving = 0;                ///< cubes whose pose changed this second (server side)
    std::uint64_t deferred = 0;            ///< changed cubes the budget left for a later snapshot
    std::uint64_t snapshot_lag_ticks = 0;  ///< worst age of a client's newest applied snapshot, in ticks
    std::uint64_t link_cap = 0;            ///< bits per second, 0 when uncapped
    std::uint64_t budget_min = 0;          ///< the lowest replication budget of any client at the second's end
    /// Where the predictive snapshots' bits went, every client's since the run started (not this second's).
    eustress::net::CodedBits coded_bits;
};

class CubeSession
{
  public:
    explicit CubeSession(const CubeSessionConfig& config);
    ~CubeSession();

    /// Runs `seconds` of virtual time, calling `report` after each.
    void run(int seconds, const std::function<void(const SecondReport&)>& report);

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace cubes
