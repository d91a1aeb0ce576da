#include "transport/tls_context.hpp"

#include <cstdlib>
#include <ctime>

#include <gnutls/x509.h>

#include "transport/gnutls_global.hpp"

namespace eustress::net::transport {
namespace {

Error tls_error(const std::string& what, int code)
{
    return make_error(ErrorCode::TlsError, what + ": " + gnutls_strerror(code));
}

int record_client_hello(void* context, time_t expires, const gnutls_datum_t* key, const gnutls_datum_t*)
{
    auto* record = static_cast<AntiReplayRecord*>(context);
    std::string entry(reinterpret_cast<const char*>(key->data), key->size);
    return record->insert(std::move(entry), static_cast<std::uint64_t>(expires)) ? 0 : GNUTLS_E_DB_ENTRY_EXISTS;
}

}  // namespace

gnutls_priority_t shared_tls_priority()
{
    // Parsed once, never freed: it lives as long as the process may open connections.
    static gnutls_priority_t priority = [] {
        ensure_gnutls_initialized();
        gnutls_priority_t parsed = nullptr;
        if (gnutls_priority_init(&parsed, kTlsPriority, nullptr) != GNUTLS_E_SUCCESS)
            std::abort();  // a constant string: failing here is a build of GnuTLS without TLS 1.3
        return parsed;
    }();
    return priority;
}

bool AntiReplayRecord::insert(std::string key, std::uint64_t expires_unix_seconds)
{
    std::lock_guard lock(m_mutex);
    const auto now = static_cast<std::uint64_t>(std::time(nullptr));
    if (auto found = m_expiry_by_key.find(key); found != m_expiry_by_key.end() && found->second >= now)
    {
        ++m_replays;
        return false;
    }
    // Forget what has expired (insertion order is expiry order: every entry lives one anti-replay window). When
    // the record is still full, refuse: evicting a live entry would let its ClientHello be replayed, while a
    // refusal only sends this client through a full round trip instead of 0-RTT.
    while (!m_insertion_order.empty())
    {
        const auto oldest = m_expiry_by_key.find(m_insertion_order.front());
        if (oldest != m_expiry_by_key.end() && oldest->second >= now)
            break;
        if (oldest != m_expiry_by_key.end())
            m_expiry_by_key.erase(oldest);
        m_insertion_order.pop_front();
    }
    if (m_expiry_by_key.size() >= m_capacity)
    {
        ++m_refused_full;
        return false;
    }
    m_insertion_order.push_back(key);
    m_expiry_by_key[std::move(key)] = expires_unix_seconds;
    return true;
}

std::size_t AntiReplayRecord::size() const
{
    std::lock_guard lock(m_mutex);
    return m_expiry_by_key.size();
}

std::uint64_t AntiReplayRecord::replays_refused() const
{
    std::lock_guard lock(m_mutex);
    return m_replays;
}

std::uint64_t AntiReplayRecord::refused_full() const
{
    std::lock_guard lock(m_mutex);
    return m_refused_full;
}

Result<std::unique_ptr<ServerTlsContext>> ServerTlsContext::create(const Settings& settings)
{
    ensure_gnutls_initialized();
    std::unique_ptr<ServerTlsContext> context(new ServerTlsContext());
    context->m_early_data = settings.enable_early_data;

    if (int rv = gnutls_certificate_allocate_credentials(&context->m_credentials); rv != 0)
        return tls_error("allocating server credentials", rv);
    const gnutls_datum_t certificate{
        reinterpret_cast<unsigned char*>(const_cast<char*>(settings.certificate.certificate_pem.data())),
        static_cast<unsigned>(settings.certificate.certificate_pem.size())};
    const gnutls_datum_t key{
        reinterpret_cast<unsigned char*>(const_cast<char*>(settings.certificate.private_key_pem.data())),
        static_cast<unsigned>(settings.certificate.private_key_pem.size())};
    if (int rv = gnutls_certificate_set_x509_key_mem(context->m_credentials, &certificate, &key, GNUTLS_X509_FMT_PEM);
        rv < 0)
        return tls_error("loading the server certificate and key", rv);

    if (int rv = gnutls_session_ticket_key_generate(&context->m_ticket_key); rv != 0)
        return tls_error("generating the session ticket key", rv);

    context->m_record = std::make_unique<AntiReplayRecord>(settings.anti_replay_capacity);
    if (int rv = gnutls_anti_replay_init(&context->m_anti_replay); rv != 0)
        return tls_error("creating the 0-RTT anti-replay record", rv);
    gnutls_anti_replay_set_add_function(context->m_anti_replay, record_client_hello);
    gnutls_anti_replay_set_ptr(context->m_anti_replay, context->m_record.get());
    if (!settings.key_log_file.empty())
    {
        auto key_log = KeyLogFile::open(settings.key_log_file);
        if (!key_log)
            return key_log.error();
        context->m_key_log = std::move(key_log).value();
    }
    return context;
}

ServerTlsContext::~ServerTlsContext()
{
    if (m_anti_replay)
        gnutls_anti_replay_deinit(m_anti_replay);
    if (m_ticket_key.data)
    {
        gnutls_memset(m_ticket_key.data, 0, m_ticket_key.size);
        gnutls_free(m_ticket_key.data);
    }
    if (m_credentials)
        gnutls_certificate_free_credentials(m_credentials);
}

Result<std::unique_ptr<ClientTlsContext>> ClientTlsContext::create(const Settings& settings)
{
    ensure_gnutls_initialized();
    std::unique_ptr<ClientTlsContext> context(new ClientTlsContext());
    context->m_settings = settings;
    if (int rv = gnutls_certificate_allocate_credentials(&context->m_credentials); rv != 0)
        return tls_error("allocating client credentials", rv);
    if (settings.pins.empty())
    {
        const int loaded = settings.ca_file.empty()
                               ? gnutls_certificate_set_x509_system_trust(context->m_credentials)
                               : gnutls_certificate_set_x509_trust_file(context->m_credentials,
                                                                        settings.ca_file.c_str(), GNUTLS_X509_FMT_PEM);
        if (loaded < 0)
            return tls_error("loading trust anchors from '" + settings.ca_file.string() + "'", loaded);
        if (loaded == 0 && !settings.ca_file.empty())
            return make_error(ErrorCode::TlsError, "no certificate in CA file '" + settings.ca_file.string() + "'");
    }
    if (!settings.key_log_file.empty())
    {
        auto key_log = KeyLogFile::open(settings.key_log_file);
        if (!key_log)
            return key_log.error();
        context->m_key_log = std::move(key_log).value();
    }
    return context;
}

ClientTlsContext::~ClientTlsContext()
{
    if (m_credentials)
        gnutls_certificate_free_credentials(m_credentials);
}

std::optional<std::string> ClientTlsContext::verify_peer(gnutls_session_t session) const
{
    if (!m_settings.pins.empty())
    {
        unsigned count = 0;
        const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
        if (chain == nullptr || count == 0)
            return "the server sent no certificate";
        auto pin = spki_pin_of_der(Bytes(reinterpret_cast<const std::byte*>(chain[0].data), chain[0].size));
        if (!pin)
            return "the server certificate could not be parsed: " + pin.error().message;
        for (const auto& accepted : m_settings.pins)
            if (accepted == *pin)
                return std::nullopt;
        return "certificate pin mismatch: the server key is " + pin->to_base64();
    }

    unsigned status = 0;
    const gnutls_typed_vdata_st hostname{
        GNUTLS_DT_DNS_HOSTNAME, reinterpret_cast<unsigned char*>(const_cast<char*>(m_settings.server_name.c_str())), 0};
    if (int rv = gnutls_certificate_verify_peers(session, const_cast<gnutls_typed_vdata_st*>(&hostname), 1, &status);
        rv < 0)
        return std::string("certificate verification failed: ") + gnutls_strerror(rv);
    if (status != 0)
    {
        gnutls_datum_t text{nullptr, 0};
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
        std::string reason = "certificate rejected: ";
        reason += text.data ? reinterpret_cast<const char*>(text.data) : "unknown reason";
        gnutls_free(text.data);
        return reason;
    }
    return std::nullopt;
}

void ClientTlsContext::store_ticket(ResumptionTicket ticket)
{
    constexpr std::size_t kTicketsKept = 4;
    std::lock_guard lock(m_ticket_mutex);
    m_tickets.push_back(std::move(ticket));
    while (m_tickets.size() > kTicketsKept)
        m_tickets.pop_front();
}

std::optional<ResumptionTicket> ClientTlsContext::take_ticket()
{
    std::lock_guard lock(m_ticket_mutex);
    if (m_tickets.empty())
        return std::nullopt;
    auto newest = std::move(m_tickets.back());
    m_tickets.pop_back();
    return newest;
}

}  // namespace eustress::net::transport
