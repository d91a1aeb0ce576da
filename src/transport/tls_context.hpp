// GnuTLS state that outlives single connections: credentials, the session-ticket key and the 0-RTT anti-replay
// record on a server; trust anchors, pins and kept session tickets on a client. Knows nothing of QUIC: the QUIC
// adapter (quic_connection.cpp) creates per-connection sessions from these.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <gnutls/gnutls.h>

#include "eustress/net/certificate.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/types.hpp"
#include "transport/key_log.hpp"

namespace eustress::net::transport {

/// The application protocol we negotiate; a client offering anything else is refused with
/// no_application_protocol (RFC 8446 / RFC 7301), before any of our code sees it.
inline constexpr std::string_view kAlpn = "eustress/1";

/// TLS 1.3 only, forward-secret groups only. %DISABLE_TLS13_COMPAT_MODE because QUIC forbids the
/// middlebox-compatibility ChangeCipherSpec (RFC 9001 section 8.4).
inline constexpr const char* kTlsPriority =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1";

/// The parsed kTlsPriority, shared by every session: parsing it per session costs about 8 KiB per connection.
gnutls_priority_t shared_tls_priority();

/// Remembers the ClientHellos that carried 0-RTT data within GnuTLS' anti-replay window, so a replayed first
/// flight is refused early data (it still completes a normal 1-RTT handshake). Bounded: expired entries are
/// forgotten, and when it is full of live ones new ClientHellos are refused 0-RTT; GnuTLS' own time window bounds
/// how old an accepted ClientHello may be.
class AntiReplayRecord
{
  public:
    explicit AntiReplayRecord(std::size_t capacity) : m_capacity(capacity) {}

    /// True when `key` is new (and records it); false for a replay.
    bool insert(std::string key, std::uint64_t expires_unix_seconds);
    std::size_t size() const;
    std::uint64_t replays_refused() const;
    /// New ClientHellos refused 0-RTT because the record was full of live entries.
    std::uint64_t refused_full() const;

  private:
    mutable std::mutex m_mutex;  // GnuTLS may call from any thread that runs a handshake
    std::size_t m_capacity;
    std::unordered_map<std::string, std::uint64_t> m_expiry_by_key;
    std::deque<std::string> m_insertion_order;
    std::uint64_t m_replays = 0;
    std::uint64_t m_refused_full = 0;
};

class ServerTlsContext
{
  public:
    struct Settings
    {
        CertificateAndKey certificate;
        bool enable_early_data = true;
        std::size_t anti_replay_capacity = 65536;
        std::filesystem::path key_log_file{};  ///< empty = no key log (QuicConfig::key_log_file)
    };

    static Result<std::unique_ptr<ServerTlsContext>> create(const Settings& settings);
    ~ServerTlsContext();

    gnutls_certificate_credentials_t credentials() const noexcept { return m_credentials; }
    const gnutls_datum_t* ticket_key() const noexcept { return &m_ticket_key; }
    gnutls_anti_replay_t anti_replay() const noexcept { return m_anti_replay; }
    bool early_data_enabled() const noexcept { return m_early_data; }
    const AntiReplayRecord& anti_replay_record() const noexcept { return *m_record; }
    /// Where this context's connections log their TLS secrets; nullptr when off.
    const KeyLogFile* key_log() const noexcept { return m_key_log.get(); }

  private:
    ServerTlsContext() = default;

    gnutls_certificate_credentials_t m_credentials = nullptr;
    gnutls_datum_t m_ticket_key{nullptr, 0};
    gnutls_anti_replay_t m_anti_replay = nullptr;
    std::unique_ptr<AntiReplayRecord> m_record;
    std::unique_ptr<KeyLogFile> m_key_log;
    bool m_early_data = true;
};

/// What a client keeps to resume a server with 0-RTT: the TLS session data and the server's transport
/// parameters (opaque bytes here; the QUIC adapter encodes and decodes them).
struct ResumptionTicket
{
    std::vector<std::uint8_t> session_data;
    std::vector<std::uint8_t> transport_parameters;
};

class ClientTlsContext
{
  public:
    struct Settings
    {
        std::string server_name;
        std::vector<SpkiPin> pins;      ///< non-empty: pin mode, no CA check
        std::filesystem::path ca_file;  ///< CA mode: this bundle, or the system store when empty
        bool enable_early_data = true;
        std::filesystem::path key_log_file{};  ///< empty = no key log (QuicConfig::key_log_file)
    };

    static Result<std::unique_ptr<ClientTlsContext>> create(const Settings& settings);
    ~ClientTlsContext();

    gnutls_certificate_credentials_t credentials() const noexcept { return m_credentials; }
    const Settings& settings() const noexcept { return m_settings; }
    /// Where this context's connections log their TLS secrets; nullptr when off.
    const KeyLogFile* key_log() const noexcept { return m_key_log.get(); }

    /// Checks the peer's certificate (called from the TLS verify hook). In pin mode the leaf key must match a
    /// pin; in CA mode the chain must verify for `server_name`. Returns a reason when refused.
    std::optional<std::string> verify_peer(gnutls_session_t session) const;

    /// Tickets are only kept from handshakes whose certificate this context verified, and this context's pins
    /// never change, so a ticket can never let a resumed connection skip a pin check it would fail.
    void store_ticket(ResumptionTicket ticket);
    std::optional<ResumptionTicket> take_ticket();

  private:
    ClientTlsContext() = default;

    Settings m_settings;
    gnutls_certificate_credentials_t m_credentials = nullptr;
    std::unique_ptr<KeyLogFile> m_key_log;
    std::mutex m_ticket_mutex;
    std::deque<ResumptionTicket> m_tickets;  // TLS 1.3 tickets are single-use by preference: take one per connect
};

}  // namespace eustress::net::transport
