// JetStreamSync, the game thread's side: the store is written here only, the network is reached only through
// NatsLink's queues (nats_link.hpp), so update() never waits on NATS.
#include <algorithm>
#include <charconv>

#include "crdt_sync/batch_frame.hpp"
#include "crdt_sync/sync_impl.hpp"

namespace eustress::net::crdt {

namespace {

bool subject_token(std::string_view token) noexcept
{
    return !token.empty() && token.size() <= 64 && std::all_of(token.begin(), token.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

/// What a subject of the world says: its kind (d delta, p player delta, c compact request) and author.
struct ParsedSubject
{
    char kind = 0;
    ReplicaId replica = 0;
};

std::optional<ParsedSubject> parse_subject(std::string_view subject, std::string_view prefix)
{
    if (subject.size() < prefix.size() + 4 || subject.substr(0, prefix.size()) != prefix ||
        subject[prefix.size()] != '.' || subject[prefix.size() + 2] != '.')
        return std::nullopt;
    const char kind = subject[prefix.size() + 1];
    const auto last_dot = subject.rfind('.');
    const std::string_view replica_text = subject.substr(last_dot + 1);
    ReplicaId replica = 0;
    const auto [end, error] = std::from_chars(replica_text.data(), replica_text.data() + replica_text.size(), replica);
    if (error != std::errc{} || end != replica_text.data() + replica_text.size() ||
        (kind != 'd' && kind != 'p' && kind != 'c'))
        return std::nullopt;
    return ParsedSubject{kind, replica};
}

}  // namespace

JetStreamSync::JetStreamSync(SyncConfig config, Document& document, Store& store)
    : m_impl(std::make_unique<Impl>(std::move(config), document, store))
{
    Impl& impl = *m_impl;
    impl.prefix = "eustress." + impl.config.world;
    impl.stats.stream_sequence = store.stream_sequence();
    if (impl.config.url.empty() || !subject_token(impl.config.world))
        return;
    impl.link = std::make_unique<NatsLink>(LinkConfig{
        .url = impl.config.url,
        .stream = "EUSTRESS_" + impl.config.world,
        .subject = impl.prefix,
        .durable = "replica-" + std::to_string(document.replica()),
        .replicas = document.config().replicas,
        .start_after = impl.stats.stream_sequence,
        .max_age = impl.config.max_age,
        .max_inbound = impl.config.max_inbound,
    });
    // What was written before a restart and never reached the stream goes first.
    auto queued = store.outgoing();
    impl.stats.queued = queued.size();
    for (Outgoing& outgoing : queued)
        impl.link->publish(std::move(outgoing));
}

JetStreamSync::~JetStreamSync() = default;

bool JetStreamSync::write(const Delta& delta, WallTime /*now*/, std::optional<std::string_view> player)
{
    Impl& impl = *m_impl;
    if (player && !subject_token(*player))
        return false;
    impl.document->encode(delta, impl.encoded);
    if (!impl.link)
        return impl.store->append(impl.encoded);
    const std::string subject = impl.own_subject(player ? 'p' : 'd', player.value_or(std::string_view{}));
    const auto id = impl.store->append_outgoing(impl.encoded, subject);
    if (!id)
        return false;
    impl.link->publish({.id = *id, .subject = subject, .bytes = impl.encoded});
    ++impl.stats.queued;
    return true;
}

void JetStreamSync::Impl::apply(Inbound& inbound, WallTime now, bool& compact)
{
    const auto parsed = parse_subject(inbound.subject, prefix);
    if (!parsed)
        return refuse(StreamRefusal::BadSubject);
    const auto& replicas = document->config().replicas;
    if (std::find(replicas.begin(), replicas.end(), parsed->replica) == replicas.end())
        return refuse(StreamRefusal::UnknownReplica);
    if (parsed->kind == 'c')
    {
        compact = compact || parsed->replica != document->replica();
        return;
    }
    if (parsed->replica == document->replica())
    {
        ++stats.own;  // stored when written
        return;
    }
    if (!is_batch(inbound.bytes))
        return merge_one(inbound.bytes, now);
    const auto deltas = unpack_batch(inbound.bytes);
    if (!deltas)
        return refuse(StreamRefusal::MalformedBatch);
    for (const Bytes delta : *deltas)
        merge_one(delta, now);
}

void JetStreamSync::Impl::merge_one(Bytes delta, WallTime now)
{
    if (const auto refusal = document->merge(delta, now))
    {
        refuse(StreamRefusal::Document);
        ++stats.refused_by_document[static_cast<std::size_t>(*refusal)];
        return;
    }
    ++stats.merged;
    merged.push_back(delta);
}

void JetStreamSync::update(WallTime now)
{
    Impl& impl = *m_impl;
    if (!impl.link)
        return;
    const auto published = impl.link->take_published();
    if (!published.empty() && impl.store->published_through(published.back()))
    {
        impl.stats.published += published.size();
        impl.stats.queued -= std::min(impl.stats.queued, published.size());
    }
    impl.batch.clear();
    impl.link->take_inbound(impl.batch, impl.config.max_merges_per_update);
    impl.merged.clear();
    bool compact = false;
    std::uint64_t last = impl.stats.stream_sequence;
    for (Inbound& inbound : impl.batch)
    {
        // Delivered again after a lost acknowledgement: already applied and stored.
        if (inbound.sequence > last)
            impl.apply(inbound, now, compact);
        last = std::max(last, inbound.sequence);
    }
    // Stored before acknowledged: a crash in between only makes the stream deliver them again.
    if (last != impl.stats.stream_sequence && !impl.store->append_received(impl.merged, last))
    {
        for (Inbound& inbound : impl.batch)
            natsMsg_Destroy(std::exchange(inbound.message, nullptr));  // not acknowledged: delivered again
        return;
    }
    impl.stats.stream_sequence = last;
    for (Inbound& inbound : impl.batch)
        NatsLink::acknowledge(inbound);
    if (compact)
    {
        ++impl.stats.compactions_requested;
        impl.store->compact(*impl.document);
    }
    if (impl.config.trim_interval.count() > 0 && now - impl.last_trim_request >= impl.config.trim_interval)
    {
        impl.last_trim_request = now;
        impl.link->request_trim();
    }
    impl.stats.connected = impl.link->connected();
    impl.stats.trims = impl.link->trims();
}

}  // namespace eustress::net::crdt
