// NatsLink's two threads: the publisher (the queue of deltas, purges) and the fetcher (the durable pull consumer,
// trimming). Both retry after a pause while NATS is away; neither ever holds the mutex across a network call.
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "crdt_sync/batch_frame.hpp"
#include "crdt_sync/nats_link.hpp"

namespace eustress::net::crdt {

namespace {

constexpr int kFetchBatch = 256;
constexpr std::int64_t kFetchWaitMs = 250;
constexpr std::int64_t kPublishWaitMs = 2000;
constexpr std::chrono::milliseconds kRetryPause{200};
constexpr std::int64_t kAckWaitNanos = 60'000'000'000;

}  // namespace

void NatsLink::run_publisher()
{
    for (;;)
    {
        std::optional<Outgoing> outgoing;
        std::vector<std::uint64_t> ids;
        std::optional<std::string> purge_filter;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stopping || !m_outgoing.empty() || !m_purges.empty(); });
            if (m_stopping)
                return;
            if (!m_purges.empty())
                purge_filter = m_purges.front();
            else
                outgoing = next_message(ids);
        }
        const bool done = ensure_stream() && (purge_filter ? purge_one(*purge_filter) : publish_one(*outgoing));
        if (!done)
        {
            pause(kRetryPause);
            continue;
        }
        const std::lock_guard lock(m_mutex);
        if (purge_filter)
        {
            m_purges.pop_front();
            --m_purges_pending;
        }
        else
        {
            m_outgoing.erase(m_outgoing.begin(), m_outgoing.begin() + static_cast<std::ptrdiff_t>(ids.size()));
            for (const std::uint64_t id : ids)
                if (id != 0)
                    m_published.push_back(id);
        }
    }
}

Outgoing NatsLink::next_message(std::vector<std::uint64_t>& ids) const
{
    const std::size_t count = batch_length(m_outgoing);
    for (std::size_t index = 0; index < count; ++index)
        ids.push_back(m_outgoing[index].id);
    if (count == 1)
        return m_outgoing.front();
    // A batch's id is its last delta's: the same run published again is a duplicate. A different run over the
    // same deltas (after a restart) is stored twice, and merging a delta twice changes nothing.
    return {.id = ids.back(), .subject = m_outgoing.front().subject, .bytes = pack_batch(m_outgoing, count)};
}

bool NatsLink::publish_one(const Outgoing& outgoing)
{
    // The message id makes a publish retried after a lost acknowledgement a duplicate the stream drops.
    const std::string id = m_config.durable + "-" + std::to_string(outgoing.id);
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MaxWait = kPublishWaitMs;
    if (outgoing.id != 0)
        options.MsgId = id.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    const natsStatus status = js_Publish(&ack, m_jetstream, outgoing.subject.c_str(), outgoing.bytes.data(),
                                         static_cast<int>(outgoing.bytes.size()), &options, &error);
    jsPubAck_Destroy(ack);
    return status == NATS_OK;
}

bool NatsLink::purge_one(const std::string& filter)
{
    jsOptions options;
    jsOptions_Init(&options);
    options.Stream.Purge.Subject = filter.c_str();
    jsErrCode error = static_cast<jsErrCode>(0);
    return js_PurgeStream(m_jetstream, m_config.stream.c_str(), &options, &error) == NATS_OK;
}

bool NatsLink::ensure_subscription()
{
    if (m_subscription)
        return true;
    if (!ensure_stream())
        return false;
    // A consumer that already exists keeps its own position; a new one (first start, or the consumer was lost)
    // starts after what the store has applied.
    jsConsumerInfo* existing = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    const natsStatus found =
        js_GetConsumerInfo(&existing, m_jetstream, m_config.stream.c_str(), m_config.durable.c_str(), nullptr, &error);
    jsConsumerInfo_Destroy(existing);
    if (found != NATS_OK && found != NATS_NOT_FOUND)
        return false;
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = m_config.stream.c_str();
    if (found == NATS_OK)
        options.Consumer = m_config.durable.c_str();  // bound as it is: restating its configuration is refused
    else
    {
        options.Config.AckPolicy = js_AckExplicit;
        options.Config.AckWait = kAckWaitNanos;
    }
    if (found == NATS_NOT_FOUND && m_config.start_after > 0)
    {
        options.Config.DeliverPolicy = js_DeliverByStartSequence;
        options.Config.OptStartSeq = m_config.start_after + 1;
    }
    const std::string filter = m_config.subject + ".>";
    if (js_PullSubscribe(&m_subscription, m_jetstream, filter.c_str(), m_config.durable.c_str(), nullptr, &options,
                         &error) != NATS_OK)
        m_subscription = nullptr;
    return m_subscription != nullptr;
}

void NatsLink::fetch_batch()
{
    natsMsgList list{};
    jsErrCode error = static_cast<jsErrCode>(0);
    if (natsSubscription_Fetch(&list, m_subscription, kFetchBatch, kFetchWaitMs, &error) != NATS_OK)
        return;  // a timeout (nothing new) or the connection away: the next round tries again
    std::vector<Inbound> fetched;
    for (int index = 0; index < list.Count; ++index)
    {
        natsMsg* message = std::exchange(list.Msgs[index], nullptr);
        jsMsgMetaData* meta = nullptr;
        if (natsMsg_GetMetaData(&meta, message) != NATS_OK)
        {
            natsMsg_Destroy(message);
            continue;
        }
        const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(message));
        fetched.push_back({.sequence = meta->Sequence.Stream,
                           .subject = natsMsg_GetSubject(message),
                           .bytes = {data, data + natsMsg_GetDataLength(message)},
                           .message = message});
        jsMsgMetaData_Destroy(meta);
    }
    natsMsgList_Destroy(&list);
    const std::lock_guard lock(m_mutex);
    for (Inbound& inbound : fetched)
        m_inbound.push_back(std::move(inbound));
}

void NatsLink::trim()
{
    // Every replica's consumer has acknowledged (so applied and stored) everything up to the lowest ack floor:
    // those messages are no longer needed by anyone.
    jsConsumerInfoList* consumers = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    if (js_Consumers(&consumers, m_jetstream, m_config.stream.c_str(), nullptr, &error) != NATS_OK)
        return;
    std::uint64_t floor = std::numeric_limits<std::uint64_t>::max();
    std::size_t found = 0;
    for (int index = 0; index < consumers->Count; ++index)
    {
        const jsConsumerInfo* info = consumers->List[index];
        for (const ReplicaId replica : m_config.replicas)
            if (std::strcmp(info->Name, ("replica-" + std::to_string(replica)).c_str()) == 0)
            {
                ++found;
                floor = std::min(floor, info->AckFloor.Stream);
            }
    }
    jsConsumerInfoList_Destroy(consumers);
    if (found != m_config.replicas.size() || floor == 0)
        return;
    jsOptions options;
    jsOptions_Init(&options);
    options.Stream.Purge.Sequence = floor + 1;
    if (js_PurgeStream(m_jetstream, m_config.stream.c_str(), &options, &error) == NATS_OK)
        ++m_trims;
}

void NatsLink::run_fetcher()
{
    for (;;)
    {
        {
            std::unique_lock lock(m_mutex);
            // Back-pressure: no fetching while the game has not merged what is here.
            m_wake.wait(lock, [this] { return m_stopping || m_inbound.size() < m_config.max_inbound; });
            if (m_stopping)
                return;
        }
        if (!ensure_subscription())
        {
            pause(kRetryPause);
            continue;
        }
        fetch_batch();
        if (m_trim_requested.exchange(false))
            trim();
    }
}

}  // namespace eustress::net::crdt
