// TLS as the threat model needs it: 1.3 only, an ephemeral key exchange on every handshake (resumed ones too, so
// a stolen ticket key does not open recorded traffic), and server keys that can rotate under pinned clients.
#include <gtest/gtest.h>

#include "eustress/net/certificate.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

bool forward_secret(const std::string& tls)
{
    return tls.find("group=X25519") != std::string::npos || tls.find("group=SECP256R1") != std::string::npos;
}

TEST(TlsPolicy, HandshakesAreTls13WithAnEphemeralGroupAndSoAreResumptions)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const auto first = client.status(world.now);
    EXPECT_EQ(first.tls.rfind("TLS1.3", 0), 0u) << first.tls;
    EXPECT_TRUE(forward_secret(first.tls)) << first.tls;
    EXPECT_FALSE(first.resumed);
    const auto server_side = world.server->status(client.id(), world.now);
    ASSERT_TRUE(server_side);
    EXPECT_TRUE(forward_secret(server_side->tls)) << server_side->tls;

    world.run_until([] { return false; }, 200ms);  // the session ticket arrives
    ASSERT_TRUE(client.reconnect(world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const auto resumed = client.status(world.now);
    EXPECT_TRUE(resumed.resumed);
    EXPECT_TRUE(forward_secret(resumed.tls)) << "a resumption without (EC)DHE is not forward secret: " << resumed.tls;
}

/// A server key on disk, as an operator would deploy it.
struct ServerKey
{
    std::filesystem::path certificate;
    std::filesystem::path key;
    SpkiPin pin;

    explicit ServerKey(const std::string& name)
    {
        const auto directory = std::filesystem::temp_directory_path() / ("eustress-rotation-" + name);
        std::filesystem::create_directories(directory);
        certificate = directory / "cert.pem";
        key = directory / "key.pem";
        auto generated = generate_self_signed_certificate({"localhost"}).value();
        EXPECT_TRUE(save_certificate(generated, certificate, key).ok());
        pin = spki_pin_of_pem(generated.certificate_pem).value();
    }
};

TEST(TlsPolicy, TwoPinsCarryAClientAcrossAServerKeyRotationAndTheOldPinAloneIsRefused)
{
    const ServerKey old_key("old"), new_key("new");
    ServerConfig config;
    config.certificate_file = old_key.certificate;
    config.private_key_file = old_key.key;
    SessionWorld world(config);
    ASSERT_EQ(world.server->certificate_pin(), old_key.pin);

    auto rotating = world.client_config();
    rotating.pinned_keys = {old_key.pin.to_base64(), new_key.pin.to_base64()};
    rotating.quic.idle_timeout = 1s;
    auto stuck = rotating;
    stuck.pinned_keys = {old_key.pin.to_base64()};
    Client& ready = world.add_client(rotating, "10.0.0.2:5000");
    Client& not_ready = world.add_client(stuck, "10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return ready.is_connected() && not_ready.is_connected(); }));

    // The operator restarts the server with the new key; both clients lose their connection and reconnect.
    world.server.reset();
    world.server_config.certificate_file = new_key.certificate;
    world.server_config.private_key_file = new_key.key;
    world.server = std::move(Server::create(world.server_config,
                                            std::move(world.network.bind(world.server_address)).value(), world.now))
                       .value();
    ASSERT_EQ(world.server->certificate_pin(), new_key.pin);

    ASSERT_TRUE(world.run_until([&] { return not_ready.is_disconnected(); }, 15s));
    EXPECT_TRUE(world.run_until([&] { return ready.is_connected(); }, 5s));
    const auto refused = world.client_events_of<DisconnectedEvent>(1);
    ASSERT_FALSE(refused.empty());
    EXPECT_NE(refused.back().reason.find("pin mismatch"), std::string::npos) << refused.back().reason;
    EXPECT_FALSE(refused.back().reconnecting);  // a wrong key is not a network problem: no retry loop
    EXPECT_EQ(world.server->clients().size(), 1u);
}

}  // namespace
}  // namespace eustress::net::testing
