// The GnuTLS session of a QUIC connection: its set-up for each role, the hooks GnuTLS calls, and its release once
// a server no longer needs it.
#include "transport/quic_connection_impl.hpp"

namespace eustress::net::transport {

auto QuicConnection::Impl::from_session(gnutls_session_t session) -> Impl&
{
    auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
    return *static_cast<Impl*>(ref->user_data);
}

int QuicConnection::Impl::log_tls_secret(gnutls_session_t session, const char* label, const gnutls_datum_t* secret)
{
    auto& self = from_session(session);
    const KeyLogFile* key_log = self.is_client ? self.client_tls->key_log() : self.server_tls->key_log();
    if (key_log == nullptr)
        return 0;
    gnutls_datum_t client_random{nullptr, 0};
    gnutls_datum_t server_random{nullptr, 0};
    gnutls_session_get_random(session, &client_random, &server_random);
    key_log->write(label, Bytes(reinterpret_cast<const std::byte*>(client_random.data), client_random.size),
                   Bytes(reinterpret_cast<const std::byte*>(secret->data), secret->size));
    return 0;
}

int QuicConnection::Impl::verify_server_certificate(gnutls_session_t session)
{
    auto& self = from_session(session);
    if (auto refusal = self.client_tls->verify_peer(session))
    {
        self.local_failure = *refusal;
        return GNUTLS_E_CERTIFICATE_ERROR;
    }
    return 0;
}

int QuicConnection::Impl::on_client_handshake_message(gnutls_session_t session, unsigned type, unsigned when,
                                                      unsigned incoming, const gnutls_datum_t*)
{
    if (type != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET || when != GNUTLS_HOOK_POST || !incoming)
        return 0;
    auto& self = from_session(session);
    if (!self.client_tls->settings().enable_early_data)
        return 0;
    gnutls_datum_t data{nullptr, 0};
    if (gnutls_session_get_data2(session, &data) != 0)
        return 0;
    ResumptionTicket ticket;
    ticket.session_data.assign(data.data, data.data + data.size);
    gnutls_free(data.data);
    const auto* params = reinterpret_cast<const std::uint8_t*>(&self.remote_params_for_resumption);
    ticket.transport_parameters.assign(params, params + sizeof(self.remote_params_for_resumption));
    self.client_tls->store_ticket(std::move(ticket));
    return 0;
}

int QuicConnection::Impl::check_offered_alpn(gnutls_session_t session, unsigned, unsigned, unsigned,
                                             const gnutls_datum_t*)
{
    // With GNUTLS_ALPN_MANDATORY GnuTLS already refuses a ClientHello whose ALPN list lacks ours, sending
    // no_application_protocol; this hook makes sure the selected one is exactly ours.
    gnutls_datum_t selected{nullptr, 0};
    if (gnutls_alpn_get_selected_protocol(session, &selected) != 0 || selected.size != kAlpn.size() ||
        std::memcmp(selected.data, kAlpn.data(), kAlpn.size()) != 0)
        return GNUTLS_E_NO_APPLICATION_PROTOCOL;
    return 0;
}

std::string QuicConnection::Impl::tls_shape() const
{
    if (session == nullptr)
        return released_tls_shape;
    std::string shape;
    for (const char* name :
         {gnutls_protocol_get_name(gnutls_protocol_get_version(session)),
          gnutls_cipher_get_name(gnutls_cipher_get(session)), gnutls_group_get_name(gnutls_group_get(session)),
          gnutls_sign_get_name(static_cast<gnutls_sign_algorithm_t>(gnutls_sign_algorithm_get(session)))})
        shape += std::string(name ? name : "-") + ',';
    gnutls_datum_t selected{nullptr, 0};
    if (gnutls_alpn_get_selected_protocol(session, &selected) == 0)
        shape.append(reinterpret_cast<const char*>(selected.data), selected.size);
    return shape;
}

std::string QuicConnection::Impl::tls_description() const
{
    if (session == nullptr)
        return released_tls_description;
    std::string text = gnutls_protocol_get_name(gnutls_protocol_get_version(session));
    if (const char* group = gnutls_group_get_name(gnutls_group_get(session)))
        text += std::string(" group=") + group;
    gnutls_datum_t selected{nullptr, 0};
    if (gnutls_alpn_get_selected_protocol(session, &selected) == 0)
        text += " alpn=" + std::string(reinterpret_cast<const char*>(selected.data), selected.size);
    return text;
}

void QuicConnection::Impl::release_tls_session_if_done()
{
    if (!tls_release_due || session == nullptr)
        return;
    tls_release_due = false;
    released_tls_shape = tls_shape();
    released_tls_description = tls_description();
    ngtcp2_conn_set_tls_native_handle(conn, nullptr);
    gnutls_deinit(std::exchange(session, nullptr));
    counters.tls_session_released = true;
}

int QuicConnection::Impl::on_recv_crypto_data(ngtcp2_conn* connection, ngtcp2_crypto_level level, std::uint64_t offset,
                                              const std::uint8_t* data, std::size_t length, void* user_data)
{
    if (from(user_data).session == nullptr)
    {
        ngtcp2_conn_set_tls_alert(connection, kAlertUnexpectedMessage);
        return NGTCP2_ERR_CRYPTO;
    }
    return ngtcp2_crypto_recv_crypto_data_cb(connection, level, offset, data, length, user_data);
}

Result<void> QuicConnection::Impl::init_tls_session(unsigned flags)
{
    if (int rv = gnutls_init(&session, flags); rv != 0)
        return make_error(ErrorCode::TlsError, std::string("gnutls_init: ") + gnutls_strerror(rv));
    if (int rv = gnutls_priority_set(session, shared_tls_priority()); rv != 0)
        return make_error(ErrorCode::TlsError, std::string("TLS priority: ") + gnutls_strerror(rv));
    conn_ref.get_conn = get_conn;
    conn_ref.user_data = this;
    gnutls_session_set_ptr(session, &conn_ref);
    return {};
}

Result<void> QuicConnection::Impl::setup_client_tls(const ClientSettings& settings, bool& resuming)
{
    client_tls = settings.tls;
    alpn = settings.alpn;
    const bool early = settings.tls->settings().enable_early_data;
    if (auto ok =
            init_tls_session(GNUTLS_CLIENT | (early ? GNUTLS_ENABLE_EARLY_DATA : 0) | GNUTLS_NO_END_OF_EARLY_DATA);
        !ok)
        return ok;
    if (ngtcp2_crypto_gnutls_configure_client_session(session) != 0)
        return make_error(ErrorCode::TlsError, "configuring the QUIC TLS client session failed");
    if (int rv = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, client_tls->credentials()); rv != 0)
        return make_error(ErrorCode::TlsError, std::string("TLS credentials: ") + gnutls_strerror(rv));
    if (client_tls->key_log() != nullptr)
        gnutls_session_set_keylog_function(session, log_tls_secret);
    gnutls_session_set_verify_function(session, verify_server_certificate);
    gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET, GNUTLS_HOOK_POST,
                                       on_client_handshake_message);
    const gnutls_datum_t protocol{reinterpret_cast<unsigned char*>(alpn.data()), static_cast<unsigned>(alpn.size())};
    gnutls_alpn_set_protocols(session, &protocol, 1, GNUTLS_ALPN_MANDATORY);
    // SNI carries host names only (RFC 6066 section 3): an address literal is verified, not sent.
    const auto& name = client_tls->settings().server_name;
    if (!name.empty() && !SocketAddress::parse(name, 0))
        gnutls_server_name_set(session, GNUTLS_NAME_DNS, name.data(), name.size());

    resuming = false;
    if (early)
        if (auto ticket = client_tls->take_ticket())
            if (gnutls_session_set_data(session, ticket->session_data.data(), ticket->session_data.size()) == 0 &&
                ticket->transport_parameters.size() == sizeof(ngtcp2_transport_params))
            {
                std::memcpy(&remote_params_for_resumption, ticket->transport_parameters.data(),
                            sizeof(remote_params_for_resumption));
                resuming = true;
            }
    return {};
}

Result<void> QuicConnection::Impl::setup_server_tls(const ServerSettings& settings)
{
    server_tls = settings.tls;
    const bool early = server_tls->early_data_enabled();
    if (auto ok = init_tls_session(GNUTLS_SERVER | (early ? GNUTLS_ENABLE_EARLY_DATA : 0) | GNUTLS_NO_AUTO_SEND_TICKET |
                                   GNUTLS_NO_END_OF_EARLY_DATA);
        !ok)
        return ok;
    if (int rv = gnutls_session_ticket_enable_server(session, server_tls->ticket_key()); rv != 0)
        return make_error(ErrorCode::TlsError, std::string("session tickets: ") + gnutls_strerror(rv));
    gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST, check_offered_alpn);
    if (server_tls->key_log() != nullptr)
        gnutls_session_set_keylog_function(session, log_tls_secret);
    if (ngtcp2_crypto_gnutls_configure_server_session(session) != 0)
        return make_error(ErrorCode::TlsError, "configuring the QUIC TLS server session failed");
    if (early)
    {
        gnutls_anti_replay_enable(session, server_tls->anti_replay());
        gnutls_record_set_max_early_data_size(session, 0xffffffffu);
    }
    if (int rv = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, server_tls->credentials()); rv != 0)
        return make_error(ErrorCode::TlsError, std::string("TLS credentials: ") + gnutls_strerror(rv));
    const gnutls_datum_t protocol{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn.data())),
                                  static_cast<unsigned>(kAlpn.size())};
    gnutls_alpn_set_protocols(session, &protocol, 1, GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE);
    return {};
}

}  // namespace eustress::net::transport
