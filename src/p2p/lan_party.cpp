// The host's and the guest's settings for a LAN party: an ordinary Server and an ordinary Client, with the
// certificate, pins and connect tokens that make the connection as trustworthy as the announcement it came from.
#include "eustress/net/lan_party.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <sodium.h>

#include <arpa/inet.h>

#include "eustress/net/server.hpp"
#include "security/sodium_global.hpp"

namespace eustress::net {
namespace {

/// How long a guest's connect token is good for, in the host's time. Long enough for a slow handshake, short enough
/// that the host's replay record of used tokens stays small.
constexpr std::uint64_t kGuestTokenLifetimeSeconds = 300;

std::string host_of(const SocketAddress& address)
{
    char text[INET6_ADDRSTRLEN] = {};
    if (address.family() == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address.data())->sin_addr, text, sizeof text);
    else if (address.family() == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address.data())->sin6_addr, text, sizeof text);
    return text;
}

/// Random, up to kMaxClientId (what a token may carry).
ClientId random_client_id()
{
    security::ensure_sodium_initialized();
    std::uint64_t id = 0;
    while (id == 0)
    {
        randombytes_buf(&id, sizeof id);
        id &= kMaxClientId;
    }
    return ClientId{id};
}

/// A token for one connection to the party, dated in the host's time. A fresh client id each time: a guest
/// reconnecting while the host still holds its old connection is not refused as already connected.
std::vector<std::byte> guest_token(const ConnectTokenKey& key, std::uint64_t party_id, std::int64_t clock_offset)
{
    // clock_offset is within ±2^40 (LanDiscovery bounds it), so this neither overflows nor goes below 1970 unseen.
    const std::int64_t host_time = static_cast<std::int64_t>(default_unix_time()) + clock_offset;
    const auto host_now = static_cast<std::uint64_t>(std::max<std::int64_t>(host_time, 0));
    ConnectTokenContents contents;
    contents.client_id = random_client_id();
    contents.servers = {lan_party_token_address(party_id)};
    contents.expires_unix = host_now + kGuestTokenLifetimeSeconds;
    auto sealed = seal_connect_token(contents, key, host_now);
    return sealed ? std::move(sealed).value() : std::vector<std::byte>{};
}

}  // namespace

std::string lan_party_token_address(std::uint64_t party_id)
{
    char text[32];
    std::snprintf(text, sizeof text, "lan-party:%016" PRIx64, party_id);
    return text;
}

Result<ServerConfig> make_lan_host_config(ServerConfig base, std::uint64_t party_id,
                                          const std::optional<LanPartySecret>& secret)
{
    if (!base.certificate && base.certificate_file.empty() && base.private_key_file.empty())
    {
        auto generated = generate_self_signed_certificate({kLanServerName});
        if (!generated)
            return generated.error();
        base.certificate = std::move(generated).value();
    }
    if (secret)
    {
        base.connect_token_key = secret->admission_key;
        base.connect_token_address = lan_party_token_address(party_id);
    }
    return base;
}

LanAnnouncement make_lan_announcement(const Server& server, std::string party_name, std::string host_name,
                                      std::uint64_t party_id)
{
    LanAnnouncement announcement;
    announcement.party_name = std::move(party_name);
    announcement.host_name = std::move(host_name);
    announcement.party_id = party_id;
    announcement.port = server.local_address().port();
    announcement.pin = server.certificate_pin();
    announcement.players = static_cast<std::uint8_t>(std::min<std::size_t>(server.clients().size() + 1, 255));
    return announcement;
}

Result<ClientConfig> make_lan_guest_config(ClientConfig base, const LanParty& party,
                                           const std::optional<LanPartySecret>& secret)
{
    if (party.requires_code && !secret)
        return make_error(ErrorCode::InvalidArgument,
                          "party '" + party.announcement.party_name + "' needs its party code to join");
    if (!party.address.is_valid() || party.address.port() == 0)
        return make_error(ErrorCode::InvalidArgument, "the party has no address to connect to");
    base.server_host = host_of(party.address);
    base.server_port = party.address.port();
    base.server_name = kLanServerName;
    base.pinned_keys = {party.announcement.pin.to_base64()};
    if (secret && party.authenticated)
    {
        const ConnectTokenKey key = secret->admission_key;
        const std::uint64_t party_id = party.announcement.party_id;
        const std::int64_t offset = party.clock_offset_seconds;
        base.connect_token = guest_token(key, party_id, offset);
        if (base.connect_token.empty())
            return make_error(ErrorCode::InvalidArgument, "could not seal a connect token for the party");
        base.refresh_connect_token = [key, party_id, offset] {
            return guest_token(key, party_id, offset);
        };
    }
    return base;
}

}  // namespace eustress::net
