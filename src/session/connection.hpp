// One peer at the session layer: our channels, framing and events on top of one QUIC connection. Used by both
// Server (one per client) and Client (one). Sans-I/O like the QUIC layer beneath it; the owner does the I/O.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "eustress/net/channel.hpp"
#include "eustress/net/events.hpp"
#include "eustress/net/rate_limit.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/status.hpp"
#include "session/datagram_bundle.hpp"
#include "session/fragment_assembler.hpp"
#include "session/message_rate_limiter.hpp"
#include "session/probe_answerer.hpp"
#include "session/protocol_violation.hpp"
#include "session/wire_format.hpp"
#include "transport/quic_connection.hpp"

namespace eustress::net::session {

class MessageCompression;

/// Application error codes carried in QUIC CONNECTION_CLOSE, so both ends can say why.
enum class CloseCode : std::uint64_t
{
    Normal = 0,
    ProtocolError = 1,
    ChannelMismatch = 2,
    ServerFull = 3,
    Kicked = 4,
    ServerShutdown = 5,
    VersionMismatch = 6,
    TokenRefused = 7,  ///< the connect token was missing, forged, expired, for another server or replayed
};

/// Counters of a peer's bad input: each is a drop we made instead of trusting it.
struct InputErrorCounts
{
    std::uint64_t malformed_datagrams = 0;  ///< bad header, unknown channel, reliable channel id in a datagram
    /// Bundles dropped whole: broken framing, or a record that is not a well-formed unfragmented message
    std::uint64_t malformed_bundles = 0;
    std::uint64_t malformed_fragments = 0;
    std::uint64_t evicted_fragments = 0;
    std::uint64_t stale_sequenced = 0;
    std::uint64_t rate_limited = 0;          ///< messages dropped over a rate limit
    std::uint64_t malformed_compressed = 0;  ///< on a compressing channel: bad tag, bomb, corrupt frame
};

class Connection final : public transport::QuicConnectionHandler
{
  public:
    enum class Role : std::uint8_t
    {
        Client,
        Server,
    };

    struct Settings
    {
        Role role = Role::Client;
        const ChannelTable* channels = nullptr;
        /// The zstd coder of the channels that compress (null when none does); shared by the owner's connections.
        MessageCompression* compression = nullptr;
        std::uint64_t send_rate_limit = 0;
        std::size_t max_pending_before_admission = 256 * 1024;  ///< bytes a peer may send before its hello
        /// Server: the limits on what this peer may send (null = none).
        const RateLimits* rate_limits = nullptr;
        /// Client: the connect token its hello carries (may be empty).
        const std::vector<std::byte>* connect_token = nullptr;
        /// Client: the build id its hello carries (may be empty).
        const std::string* build_id = nullptr;
        /// Server: answer probes from this peer within these limits (null = never answer).
        const ProbeLimits* probe_limits = nullptr;
        /// Server: keeps the routing table in step with the connection ids QUIC issues and retires.
        std::function<void(std::string_view id, bool issued)> connection_id_changed;
    };

    Connection(const Settings& settings, std::deque<NetworkEvent>& events);
    ~Connection() override;

    void attach(std::unique_ptr<transport::QuicConnection> quic) { m_quic = std::move(quic); }
    transport::QuicConnection& quic() noexcept { return *m_quic; }
    const transport::QuicConnection& quic() const noexcept { return *m_quic; }

    /// Client: opens the control stream and queues our hello (it goes out in 0-RTT when resuming).
    void send_hello(Timestamp now);
    /// Server: the hello received from this peer, once (then nullopt).
    std::optional<Hello> take_hello() { return std::exchange(m_received_hello, std::nullopt); }
    /// Server: admits the peer under `id`: sends the welcome and releases messages held back until now.
    void admit(ClientId id, Timestamp now);
    /// Client: our id once the server's welcome arrived.
    bool admitted() const noexcept { return m_admitted; }
    ClientId peer_id() const noexcept { return m_peer_id; }
    ClientId own_id() const noexcept { return m_own_id; }

    Result<MessageId> send(ChannelId channel, Bytes message, Timestamp now);
    /// Client: a probe of `size` bytes asking for an answer of `answer_size` (Client::send_probe).
    Result<std::uint32_t> send_probe(std::size_t size, std::size_t answer_size, Timestamp now);
    /// Moves messages waiting for a bandwidth share into QUIC, as far as each share allows, and hands QUIC the
    /// bundles of small unreliable messages filled since the last write.
    void flush_channels(Timestamp now);
    /// True while something is queued that a later write must send: channel queues, unsent stream bytes, or
    /// unreliable datagrams held back by the congestion window.
    bool has_pending_output() const;
    /// When a channel waiting for its bandwidth share may send again; nullopt when none is waiting.
    std::optional<Timestamp> next_share_refill() const;
    /// Drops fragment reassemblies that waited too long.
    /// Drops fragment groups that will never complete, and settles as lost the datagrams QUIC never settled.
    void expire(Timestamp now);

    /// Set when the peer broke the protocol; the owner closes the connection with this reason.
    const std::optional<ProtocolError>& protocol_error() const noexcept { return m_protocol_error; }

    ConnectionStatus status(Timestamp now) const;
    /// Connecting until admitted (QUIC handshake, then hello and welcome), Migrating while QUIC validates a new
    /// path, Closing once QUIC is closed.
    ConnectionState state() const noexcept;
    const InputErrorCounts& input_errors() const noexcept { return m_input_errors; }
    const FragmentAssembler& assembler() const noexcept { return m_assembler; }
    /// Server: probes answered, and left unanswered over the limits.
    std::uint64_t probes_answered() const noexcept { return m_probe_answerer ? m_probe_answerer->answered() : 0; }
    std::uint64_t probes_refused() const noexcept { return m_probe_answerer ? m_probe_answerer->refused() : 0; }
    /// Server: the probe answerer (its refusals by reason), when this peer's probes may be answered.
    const ProbeAnswerer* probe_answerer() const noexcept { return m_probe_answerer ? &*m_probe_answerer : nullptr; }

    // transport::QuicConnectionHandler
    void on_handshake_completed(Timestamp /*now*/) override { m_handshake_completed = true; }
    void on_stream_data(std::int64_t stream_id, Bytes data, bool fin, bool early, Timestamp now) override;
    void on_stream_closed(std::int64_t stream_id, Timestamp now) override;
    void on_datagram(Bytes data, bool early, Timestamp now) override;
    void on_datagram_acked(std::uint64_t datagram_id, Timestamp now) override;
    void on_datagram_lost(std::uint64_t datagram_id, Timestamp now) override;
    void on_connection_id_issued(std::string_view id, Timestamp now) override;
    void on_connection_id_retired(std::string_view id, Timestamp now) override;

  private:
    struct QueuedMessage
    {
        std::vector<std::byte> bytes;
        MessageId id;
        Timestamp enqueued;
    };

    static constexpr std::array<std::int64_t, kUnorderedLanes> filled_lanes()
    {
        std::array<std::int64_t, kUnorderedLanes> lanes{};
        lanes.fill(-1);
        return lanes;
    }

    struct ChannelState
    {
        ChannelConfig config;
        ChannelStatus status;
        /// Looked up once, not per message: whether the channel's messages are zstd-coded (MessageCompression),
        /// and the most bytes one of them may take on the wire (its tag byte included).
        bool compressed = false;
        std::size_t wire_limit = 0;
        MessageId next_message_id = 0;
        /// Our stream handles: a ReliableOrdered channel uses the first, a ReliableUnordered one all (-1 = not
        /// opened yet).
        std::array<std::int64_t, kUnorderedLanes> lanes = filled_lanes();
        std::size_t next_lane = 0;
        std::uint16_t next_sequence = 0;  // UnreliableSequenced, sending
        std::optional<std::uint16_t> newest_received;
        std::uint16_t next_fragment_group = 0;
        double tokens = 0.0;  // bandwidth share bucket, in bytes
        Timestamp last_refill{};
        // Only channels with a bandwidth share queue here. A list allocates nothing while empty; a deque takes 576
        // bytes up front, per channel and connection.
        std::list<QueuedMessage> queue;
        std::size_t queued_bytes = 0;
    };

    struct IncomingStream
    {
        std::vector<std::byte> buffer;
        std::size_t consumed = 0;
        std::optional<StreamHeader> header;
        bool early = false;
        /// A large message in progress: its payload goes from QUIC straight into the vector its event carries,
        /// reserved once at the declared length (one copy, no regrowth). Empty when none is in progress.
        std::vector<std::byte> body;
        std::size_t body_wanted = 0;       ///< the payload length it declared; 0 = none in progress
        std::size_t body_record_size = 0;  ///< its whole record, given back to flow control once complete
    };

    struct InFlightMessage
    {
        ChannelId channel;
        MessageId id;
        std::uint16_t datagrams_left;
        bool lost_reported = false;
    };

    bool has_bandwidth_share(const ChannelState& channel) const noexcept;
    void transmit(ChannelId channel_id, ChannelState& channel, Bytes message, MessageId id, Timestamp now);
    void transmit_unreliable(ChannelId channel_id, ChannelState& channel, Bytes message, MessageId id, Timestamp now);
    void transmit_fragments(ChannelId channel_id, ChannelState& channel, DatagramHeader header, Bytes message,
                            MessageId id, Timestamp now);
    void bundle_message(const ChannelState& channel, const DatagramHeader& header, Bytes message, SentMessage sent,
                        Timestamp now);
    DatagramBundle& open_bundle(std::uint8_t priority);
    void seal_bundle(DatagramBundle& bundle);
    void seal_bundles();
    /// Hands one datagram to QUIC; `messages` are what its acknowledgement or loss settles.
    void queue_datagram(Bytes datagram, std::vector<SentMessage> messages, bool fragment, std::uint8_t priority,
                        Timestamp queued);
    void settle_message(const SentMessage& message, bool fragment, bool acked);
    /// A DeliveryEvent for the message, unless its channel turned them off (ChannelConfig::delivery_events).
    void report_delivery(const ChannelState& channel, ChannelId id, MessageId message, bool acked);
    void on_bundle(Bytes bundle, bool early, Timestamp now);
    /// A single message's datagram: parses and delivers it, or says why it was dropped.
    enum class DatagramVerdict : std::uint8_t
    {
        Delivered,
        Malformed,
        Stale,
    };
    DatagramVerdict on_message_datagram(Bytes data, bool early, Timestamp now);
    /// The same for a message datagram already parsed (a bundle's records are parsed once, while checked).
    DatagramVerdict on_parsed_datagram(const ParsedDatagram& parsed, bool early, Timestamp now);
    /// For the datagram parser: whether channel `id` is sequenced; nullopt when no datagram may carry it.
    std::optional<bool> datagram_kind(ChannelId id) const noexcept;
    void parse_stream(std::int64_t stream_id, IncomingStream& stream, bool fin, Timestamp now);
    /// Reads and checks the stream's header from `pending`: sets `stream.header`, or fails the connection, or
    /// leaves both alone while the header is incomplete.
    void read_stream_header(std::int64_t stream_id, IncomingStream& stream, Bytes pending, bool fin);
    bool start_body(IncomingStream& stream, const StreamRecord& record, Bytes pending);
    Bytes fill_body(std::int64_t stream_id, IncomingStream& stream, Bytes data, Timestamp now);
    void release_body(IncomingStream& stream);
    void handle_control_frame(std::uint64_t type, Bytes payload);
    void deliver(ChannelId channel, Bytes message, bool early, Timestamp now);
    /// The same for a message already in a vector of its own, which the event then carries without a copy.
    void deliver(ChannelId channel, std::vector<std::byte>&& message, bool early, Timestamp now);
    void emit(ChannelId channel, std::vector<std::byte>&& message, std::size_t wire_size, bool early);
    void fail(ProtocolViolation violation, std::string detail);
    void settle_datagram(std::uint64_t datagram_id, bool acked);
    void settle_overdue_datagrams(Timestamp now);
    void on_probe(Bytes datagram, bool early, Timestamp now);

    Settings m_settings;
    std::deque<NetworkEvent>& m_events;
    std::unique_ptr<transport::QuicConnection> m_quic;
    std::vector<ChannelState> m_channels;
    std::unordered_map<std::int64_t, IncomingStream> m_incoming;
    std::size_t m_reserved_body_bytes = 0;  // over all streams' `body`: bounded by kMaxReservedBodyBytes
    struct SentDatagram
    {
        std::vector<SentMessage> messages;  ///< one, or a bundle's
        bool fragment = false;              ///< of a fragmented message: settled through m_in_flight
        Timestamp queued{};
    };
    std::unordered_map<std::uint64_t, SentDatagram> m_sent;          // datagram id -> what it carries
    std::unordered_map<std::uint64_t, InFlightMessage> m_in_flight;  // fragmented messages, by in_flight_key
    std::vector<DatagramBundle> m_open_bundles;                      // one per priority in use
    std::vector<std::vector<SentMessage>> m_spare_message_lists;     // settled datagrams' lists, reused
    // The bundle being received, its records parsed; reused, so no allocation when warm. Holds at most one
    // bundle's records (under 600 of 32 bytes: a record takes at least 2 of a bundle's 1,150 bytes).
    std::vector<ParsedDatagram> m_bundle_records;
    std::uint64_t m_next_datagram_id = 0;
    Timestamp m_next_overdue_sweep{};  // settle_overdue_datagrams runs at most once a second
    struct SentProbe
    {
        std::uint32_t id;
        std::size_t size;
    };
    std::unordered_map<std::uint64_t, SentProbe> m_probe_by_datagram;  // client: until QUIC settles the datagram
    std::uint32_t m_next_probe_id = 0;
    std::optional<ProbeAnswerer> m_probe_answerer;  // server, when it answers probes
    FragmentAssembler m_assembler;
    InputErrorCounts m_input_errors;

    std::optional<Hello> m_received_hello;
    /// Rate limiting (server side): connection-wide and per-channel buckets, and since when messages are dropped.
    bool within_rate_limits(ChannelId channel, std::size_t size, Timestamp now);
    /// The largest message on the wire a channel accepts: its limit, plus the tag of a compressing channel.
    std::size_t wire_limit(ChannelId channel) const noexcept;
    MessageRateLimiter m_rate_limiter;
    bool m_handshake_completed = false;  // stays true after the close, so a refusal can tell TLS went through
    bool m_hello_seen = false;
    bool m_admitted = false;
    ClientId m_peer_id{};
    ClientId m_own_id{};
    std::vector<MessageEvent> m_held_until_admitted;
    std::size_t m_held_bytes = 0;
    std::optional<ProtocolError> m_protocol_error;
};

}  // namespace eustress::net::session
