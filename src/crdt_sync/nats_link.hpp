// The network side of crdt::JetStreamSync: a NATS connection and two threads of ours that wait on it, one
// publishing the queue of deltas (and purges), one fetching from the durable pull consumer and trimming the
// stream. The game thread talks to them only through the bounded queues here, so it never waits on the network.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nats/nats.h>

#include "eustress/net/crdt_sync.hpp"

namespace eustress::net::crdt {

struct LinkConfig
{
    std::string url;
    std::string stream;   ///< EUSTRESS_<world>
    std::string subject;  ///< eustress.<world>: every subject of the world is under it
    std::string durable;  ///< replica-<id>
    std::vector<ReplicaId> replicas;
    std::uint64_t start_after = 0;  ///< the stream sequence the store has applied, for a new consumer
    std::chrono::seconds max_age{0};
    std::size_t max_inbound = 4096;
};

/// A message fetched from the stream; `message` is acknowledged (and freed) by NatsLink::acknowledge.
struct Inbound
{
    std::uint64_t sequence = 0;
    std::string subject;
    std::vector<std::byte> bytes;
    natsMsg* message = nullptr;
};

class NatsLink
{
  public:
    explicit NatsLink(LinkConfig config);
    ~NatsLink();
    NatsLink(const NatsLink&) = delete;
    NatsLink& operator=(const NatsLink&) = delete;

    /// Queues a delta (outbox id; 0 for a control message kept nowhere else) for the publisher.
    void publish(Outgoing outgoing);
    /// Outbox ids the stream has stored since the last call.
    std::vector<std::uint64_t> take_published();
    /// Moves up to `max` fetched messages into `out`, oldest first.
    void take_inbound(std::vector<Inbound>& out, std::size_t max);
    /// Tells the stream the message is applied and stored (it is then not delivered again), and frees it.
    static void acknowledge(Inbound& inbound);
    /// Queues a purge of every message whose subject matches `filter`.
    void purge(std::string filter);
    std::size_t purges_pending() const noexcept { return m_purges_pending.load(); }
    bool connected() const noexcept;
    std::uint64_t trims() const noexcept { return m_trims.load(); }
    /// Asks the fetcher to trim the stream on its next round (the game's clock decides when: JetStreamSync::update).
    void request_trim() noexcept { m_trim_requested = true; }

  private:
    void run_publisher();
    void run_fetcher();
    bool ensure_stream();
    bool ensure_subscription();
    void fetch_batch();
    void trim();
    /// The next message to publish (one delta or a batch of them), with the outbox ids it carries. Under m_mutex.
    Outgoing next_message(std::vector<std::uint64_t>& ids) const;
    bool publish_one(const Outgoing& outgoing);
    bool purge_one(const std::string& filter);
    /// Waits up to `duration` or until stopped (our threads only).
    void pause(std::chrono::milliseconds duration);

    LinkConfig m_config;
    natsConnection* m_connection = nullptr;
    jsCtx* m_jetstream = nullptr;
    natsSubscription* m_subscription = nullptr;  // the fetcher's only

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopping = false;
    std::deque<Outgoing> m_outgoing;
    std::deque<std::string> m_purges;
    std::vector<std::uint64_t> m_published;
    std::deque<Inbound> m_inbound;
    std::atomic<std::size_t> m_purges_pending{0};
    std::atomic<std::uint64_t> m_trims{0};
    std::atomic<bool> m_trim_requested{false};
    std::atomic<bool> m_stream_ready{false};

    std::thread m_publisher;
    std::thread m_fetcher;
};

}  // namespace eustress::net::crdt
