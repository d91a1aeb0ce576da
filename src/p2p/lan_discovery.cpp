// Announcer and browser on one socket. Everything that arrives is hostile until it parsed, names our game, verified
// (with a code) or matched what we trust (without), and fits the table's bounds; each refusal is counted by reason.
// No clock is read and no thread runs: `update(now)` does all the work.
#include <algorithm>
#include <deque>

#include "eustress/net/lan_party.hpp"
#include "p2p/lan_socket.hpp"
#include "p2p/lan_trust.hpp"
#include "p2p/lan_wire.hpp"
#include "security/address_rate_limiter.hpp"
#include "security/token_bucket.hpp"

namespace eustress::net {

const char* to_string(LanRefusal refusal) noexcept
{
    switch (refusal)
    {
    case LanRefusal::Truncated:
        return "truncated";
    case LanRefusal::BadMagic:
        return "bad magic";
    case LanRefusal::UnsupportedVersion:
        return "unsupported version";
    case LanRefusal::UnknownType:
        return "unknown type";
    case LanRefusal::ReservedFlags:
        return "reserved flags set";
    case LanRefusal::BadName:
        return "bad name";
    case LanRefusal::BadField:
        return "field out of range";
    case LanRefusal::TrailingBytes:
        return "trailing bytes";
    case LanRefusal::WrongCode:
        return "wrong party code";
    case LanRefusal::PinChanged:
        return "party key changed since we trusted it";
    case LanRefusal::Conflict:
        return "conflicts with an announcement of the same party";
    case LanRefusal::TooManyFromSource:
        return "too many parties from one host";
    }
    return "?";
}

std::uint64_t LanDiscoveryStats::refused_total() const noexcept
{
    std::uint64_t total = 0;
    for (auto count : refused)
        total += count;
    return total;
}

Result<void> LanDiscoveryConfig::validate() const
{
    auto invalid = [](const std::string& what) {
        return make_error(ErrorCode::InvalidArgument, what);
    };
    if (game_id.empty() || game_id.size() > kMaxLanGameId)
        return invalid("LanDiscoveryConfig::game_id must be 1 to " + std::to_string(kMaxLanGameId) + " bytes");
    if (port == 0)
        return invalid("LanDiscoveryConfig::port must not be 0: every peer must know it");
    if (announce_interval < std::chrono::milliseconds(p2p::kMinLanIntervalMs) ||
        announce_interval > std::chrono::milliseconds(p2p::kMaxLanIntervalMs))
        return invalid("LanDiscoveryConfig::announce_interval must be between 100 ms and 60 s");
    if (missed_announcements == 0)
        return invalid("LanDiscoveryConfig::missed_announcements must be at least 1");
    if (max_parties == 0 || max_parties_per_source == 0)
        return invalid("LanDiscoveryConfig::max_parties and max_parties_per_source must be at least 1");
    if (max_events == 0)
        return invalid("LanDiscoveryConfig::max_events must be at least 1");
    if (!unix_time)
        return invalid("LanDiscoveryConfig::unix_time must be set");
    return {};
}

namespace {

/// Datagrams read per update: a flood is read over several updates rather than holding the game's frame.
constexpr std::size_t kMaxDatagramsPerUpdate = 256;
constexpr std::size_t kReceiveSlots = 16;

bool same_host(const SocketAddress& a, const SocketAddress& b)
{
    SocketAddress x = a;
    SocketAddress y = b;
    x.set_port(0);
    y.set_port(0);
    return x == y;
}

/// The host's clock minus ours, in seconds, within ±2^40 s (35,000 years): the host's time is the sender's word, and
/// an absurd one must not overflow what guests compute from it (it only makes their tokens useless).
std::int64_t clock_offset(std::uint64_t host, std::uint64_t ours)
{
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 40;
    if (host >= ours)
        return static_cast<std::int64_t>(std::min(host - ours, kLimit));
    return -static_cast<std::int64_t>(std::min(ours - host, kLimit));
}

struct PartyEntry
{
    LanParty party;
    Timestamp expires{};
};

}  // namespace

struct LanDiscovery::Impl
{
    LanDiscoveryConfig config;
    std::unique_ptr<DatagramSocket> socket;
    SocketAddress destination;
    p2p::LanGameTag game_tag = 0;
    std::uint64_t asker = random_lan_party_id();  ///< in our queries, to know them when they loop back

    std::optional<LanAnnouncement> announcing;
    Timestamp next_announcement{};
    bool answer_due = false;
    std::optional<Timestamp> last_query;

    security::AddressRateLimiter answers_per_source;
    security::TokenBucket answers;
    security::AddressRateLimiter refusal_events;

    std::vector<PartyEntry> parties;
    p2p::LanTrustStore trust;
    std::deque<LanEvent> events;
    LanDiscoveryStats stats;

    std::array<ReceiveSlot, kReceiveSlots> slots{};
    std::array<std::byte, p2p::kMaxLanPacketSize> out{};

    explicit Impl(LanDiscoveryConfig c)
        : config(std::move(c)), game_tag(p2p::lan_game_tag(config.game_id)),
          answers_per_source(config.answers_per_source, config.max_tracked_sources), answers(config.answers),
          refusal_events(config.refusal_events_per_source, config.max_tracked_sources), trust(config.max_trusted)
    {}

    void push_event(LanEvent event)
    {
        if (events.size() >= config.max_events)
        {
            ++stats.events_dropped;
            return;
        }
        events.push_back(std::move(event));
    }

    void refuse(LanRefusal reason, const SocketAddress& from, const LanAnnouncement* announcement, Timestamp now,
                std::optional<SpkiPin> trusted = std::nullopt)
    {
        ++stats.refused[static_cast<std::size_t>(reason)];
        const bool worth_telling =
            reason == LanRefusal::WrongCode || reason == LanRefusal::PinChanged || reason == LanRefusal::Conflict;
        if (!worth_telling || !announcement)
            return;
        if (!refusal_events.take(from, now))
        {
            ++stats.events_dropped;
            return;
        }
        push_event(LanPartyRefusedEvent{from, announcement->party_name, reason, trusted, announcement->pin});
    }

    bool send(Bytes payload, Timestamp now)
    {
        const auto errors_before = socket->stats().send_errors;
        const OutgoingDatagram datagram{destination, payload};
        const bool taken = socket->send(std::span(&datagram, 1), now) == 1;
        if (!taken || socket->stats().send_errors != errors_before)
        {
            ++stats.send_errors;
            return false;
        }
        return true;
    }

    void send_announcement(Timestamp now)
    {
        const auto interval_ms = static_cast<std::uint16_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(config.announce_interval).count());
        const auto* key = config.secret ? &config.secret->announcement_key : nullptr;
        const std::size_t size =
            p2p::write_lan_announcement(game_tag, *announcing, interval_ms, config.unix_time(), key, out);
        if (size != 0 && send(Bytes(out.data(), size), now))
            ++stats.announcements_sent;
    }

    bool send_query(Timestamp now)
    {
        if (last_query && now - *last_query < config.min_query_interval)
            return false;
        last_query = now;
        const std::size_t size = p2p::write_lan_query(game_tag, asker, out);
        if (send(Bytes(out.data(), size), now))
            ++stats.queries_sent;
        return true;
    }

    void receive(Timestamp now)
    {
        std::size_t handled = 0;
        while (handled < kMaxDatagramsPerUpdate)
        {
            const std::size_t count =
                socket->receive(std::span(slots).first(std::min(kReceiveSlots, kMaxDatagramsPerUpdate - handled)), now);
            for (std::size_t i = 0; i < count; ++i)
                handle(slots[i].payload(), slots[i].from, now);
            handled += count;
            if (count == 0)
                break;
        }
    }

    void handle(Bytes datagram, const SocketAddress& from, Timestamp now)
    {
        ++stats.datagrams_received;
        auto parsed = p2p::parse_lan_packet(datagram);
        if (!parsed)
        {
            ++stats.refused[static_cast<std::size_t>(parsed.error())];
            return;
        }
        if (parsed->game_tag != game_tag)
        {
            ++stats.other_games;
            return;
        }
        if (parsed->type == p2p::LanPacketType::Query)
        {
            if (parsed->asker == asker)
                ++stats.own_datagrams;
            else
                handle_query(from, now);
        }
        else
            handle_announcement(datagram, *parsed, from, now);
    }

    void handle_query(const SocketAddress& from, Timestamp now)
    {
        ++stats.queries_received;
        if (!announcing)
            return;
        // Per source first, then the global budget, which only an answer not yet due spends: many queries in one
        // update are answered by one announcement, to the whole group.
        if (!answers_per_source.take(from, now) || (!answer_due && !answers.take(1, now)))
        {
            ++stats.queries_unanswered;
            return;
        }
        answer_due = true;
    }

    void handle_announcement(Bytes datagram, const p2p::LanPacket& packet, const SocketAddress& from, Timestamp now)
    {
        const LanAnnouncement& announcement = packet.announcement;
        if (announcing && announcement.party_id == announcing->party_id)
        {
            ++stats.own_datagrams;
            return;
        }
        LanParty party;
        if (packet.tagged)
        {
            if (config.secret && !p2p::verify_lan_tag(datagram, packet, config.secret->announcement_key))
                return refuse(LanRefusal::WrongCode, from, &announcement, now);
            party.authenticated = config.secret.has_value();
            party.requires_code = !config.secret;
        }
        else if (auto trusted = trust.pin_of(announcement.party_name); trusted && !(*trusted == announcement.pin))
            return refuse(LanRefusal::PinChanged, from, &announcement, now, trusted);

        party.announcement = announcement;
        party.address = from;
        party.address.set_port(announcement.port);
        party.clock_offset_seconds = clock_offset(packet.unix_time, config.unix_time());
        party.announce_interval = std::chrono::milliseconds(packet.interval_ms);
        party.first_seen = now;
        party.last_seen = now;
        const Timestamp expires =
            now + party.announce_interval * config.missed_announcements + party.announce_interval / 2;

        auto known = std::find_if(parties.begin(), parties.end(), [&](const PartyEntry& entry) {
            return entry.party.announcement.party_id == announcement.party_id;
        });
        if (known != parties.end())
            return refresh(*known, std::move(party), expires, from, now);
        admit(std::move(party), expires, from, now);
    }

    /// Another announcement of a party we know. Its address and key are what we knew (else Conflict): a copy
    /// replayed from elsewhere, or a forgery under the same id, never redirects guests. A tag verified with our code
    /// upgrades an open entry (the forged open copy loses); an open copy of a verified party is a downgrade.
    void refresh(PartyEntry& entry, LanParty party, Timestamp expires, const SocketAddress& from, Timestamp now)
    {
        const LanParty& old = entry.party;
        const bool upgrade = party.authenticated && !old.authenticated;
        const bool consistent = party.address == old.address && party.announcement.pin == old.announcement.pin &&
                                party.authenticated == old.authenticated && party.requires_code == old.requires_code;
        if (!upgrade && !consistent)
            return refuse(LanRefusal::Conflict, from, &party.announcement, now);
        ++stats.announcements_received;
        if (!upgrade)
            party.first_seen = old.first_seen;
        entry.party = std::move(party);
        entry.expires = expires;
        if (upgrade)
            push_event(LanPartyFoundEvent{entry.party});
    }

    void admit(LanParty party, Timestamp expires, const SocketAddress& from, Timestamp now)
    {
        const auto from_this_host = std::count_if(parties.begin(), parties.end(), [&](const PartyEntry& entry) {
            return same_host(entry.party.address, from);
        });
        if (static_cast<std::size_t>(from_this_host) >= config.max_parties_per_source)
            return refuse(LanRefusal::TooManyFromSource, from, &party.announcement, now);
        if (parties.size() >= config.max_parties && !make_room(party.authenticated))
        {
            ++stats.parties_not_kept;
            return;
        }
        ++stats.announcements_received;
        parties.push_back({std::move(party), expires});
        push_event(LanPartyFoundEvent{parties.back().party});
    }

    /// Forgets the party heard from least recently, an unverified one if any; a verified one only for another.
    bool make_room(bool newcomer_authenticated)
    {
        auto oldest_of = [&](bool authenticated) {
            auto oldest = parties.end();
            for (auto it = parties.begin(); it != parties.end(); ++it)
                if (it->party.authenticated == authenticated &&
                    (oldest == parties.end() || it->party.last_seen < oldest->party.last_seen))
                    oldest = it;
            return oldest;
        };
        auto victim = oldest_of(false);
        if (victim == parties.end() && newcomer_authenticated)
            victim = oldest_of(true);
        if (victim == parties.end())
            return false;
        ++stats.parties_evicted;
        push_event(LanPartyLostEvent{victim->party, true});
        parties.erase(victim);
        return true;
    }

    void expire(Timestamp now)
    {
        for (auto it = parties.begin(); it != parties.end();)
        {
            if (it->expires > now)
            {
                ++it;
                continue;
            }
            ++stats.parties_expired;
            push_event(LanPartyLostEvent{it->party, false});
            it = parties.erase(it);
        }
    }
};

LanDiscovery::LanDiscovery(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
LanDiscovery::~LanDiscovery() = default;

Result<std::unique_ptr<LanDiscovery>> LanDiscovery::create(const LanDiscoveryConfig& config, Timestamp now)
{
    if (auto valid = config.validate(); !valid)
        return valid.error();
    auto opened = p2p::open_lan_socket(config);
    if (!opened)
        return opened.error();
    return create(config, std::move(opened->socket), opened->destination, now);
}

Result<std::unique_ptr<LanDiscovery>> LanDiscovery::create(const LanDiscoveryConfig& config,
                                                           std::unique_ptr<DatagramSocket> socket,
                                                           const SocketAddress& destination, Timestamp now)
{
    if (auto valid = config.validate(); !valid)
        return valid.error();
    if (!socket || !destination.is_valid())
        return make_error(ErrorCode::InvalidArgument, "LanDiscovery needs a socket and a destination address");
    auto impl = std::make_unique<Impl>(config);
    impl->socket = std::move(socket);
    impl->destination = destination;
    if (!config.trust_file.empty())
        if (auto loaded = impl->trust.load(config.trust_file); !loaded)
            return loaded.error();
    impl->send_query(now);
    return std::unique_ptr<LanDiscovery>(new LanDiscovery(std::move(impl)));
}

Result<void> LanDiscovery::announce(const LanAnnouncement& announcement, Timestamp now)
{
    if (auto valid = p2p::validate_lan_announcement(announcement); !valid)
        return valid;
    m_impl->announcing = announcement;
    m_impl->send_announcement(now);
    m_impl->next_announcement = now + m_impl->config.announce_interval;
    m_impl->answer_due = false;
    return {};
}

void LanDiscovery::stop_announcing()
{
    m_impl->announcing.reset();
    m_impl->answer_due = false;
}

bool LanDiscovery::query(Timestamp now)
{
    return m_impl->send_query(now);
}

void LanDiscovery::update(Timestamp now)
{
    m_impl->receive(now);
    m_impl->expire(now);
    if (!m_impl->announcing)
        return;
    if (now >= m_impl->next_announcement)
    {
        m_impl->send_announcement(now);
        // On the schedule, not from now: a late update does not drift the announcements later and later.
        m_impl->next_announcement += m_impl->config.announce_interval;
        if (m_impl->next_announcement <= now)
            m_impl->next_announcement = now + m_impl->config.announce_interval;
        m_impl->answer_due = false;
    }
    else if (m_impl->answer_due)
    {
        m_impl->send_announcement(now);
        ++m_impl->stats.answers_sent;
        m_impl->answer_due = false;
    }
}

std::optional<LanEvent> LanDiscovery::poll_event()
{
    if (m_impl->events.empty())
        return std::nullopt;
    LanEvent event = std::move(m_impl->events.front());
    m_impl->events.pop_front();
    return event;
}

std::vector<LanParty> LanDiscovery::parties() const
{
    std::vector<LanParty> result;
    result.reserve(m_impl->parties.size());
    for (const auto& entry : m_impl->parties)
        result.push_back(entry.party);
    std::sort(result.begin(), result.end(),
              [](const LanParty& a, const LanParty& b) { return a.last_seen > b.last_seen; });
    return result;
}

Result<void> LanDiscovery::trust(const LanParty& party)
{
    m_impl->trust.bind(party.announcement.party_name, party.announcement.pin);
    if (m_impl->config.trust_file.empty())
        return {};
    return m_impl->trust.save(m_impl->config.trust_file);
}

std::optional<SpkiPin> LanDiscovery::trusted_pin(std::string_view party_name) const
{
    return m_impl->trust.pin_of(party_name);
}

LanDiscoveryStats LanDiscovery::stats() const
{
    LanDiscoveryStats stats = m_impl->stats;
    stats.parties = m_impl->parties.size();
    return stats;
}

SocketAddress LanDiscovery::local_address() const
{
    return m_impl->socket->local_address();
}

int LanDiscovery::native_handle() const
{
    return m_impl->socket->native_handle();
}

Timestamp LanDiscovery::next_wakeup() const
{
    Timestamp earliest = Timestamp::max();
    if (m_impl->announcing)
        earliest = m_impl->next_announcement;  // answers to queries go within the update that received them
    for (const auto& entry : m_impl->parties)
        earliest = std::min(earliest, entry.expires);
    if (auto socket_wakeup = m_impl->socket->next_wakeup())
        earliest = std::min(earliest, *socket_wakeup);
    return earliest;
}

}  // namespace eustress::net
