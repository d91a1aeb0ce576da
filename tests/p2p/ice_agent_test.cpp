// IceAgent over real libnice and real UDP on 127.0.0.1: two agents find each other from trickled candidates, carry
// datagrams intact both ways, restart onto new credentials, and shrug off what a hostile peer or a stranger sends.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>

#include <gtest/gtest.h>

#include "eustress/net/datagram_socket.hpp"
#include "p2p/ice_pair.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;
using p2p::CandidateKind;
using p2p::IceState;

double milliseconds_since(Timestamp start)
{
    return std::chrono::duration<double, std::milli>(MonotonicClock::now() - start).count();
}

/// Sends one datagram each way and waits until both arrive.
bool one_datagram_each_way(IcePair& pair)
{
    const auto datagram = patterned_datagram(100, 9);
    if (!pair.a().send(datagram) || !pair.b().send(datagram))
        return false;
    std::vector<ReceiveSlot> slots(4);
    std::size_t at_a = 0, at_b = 0;
    return pair.pump(2s, [&] {
        at_a += pair.a().receive(slots);
        at_b += pair.b().receive(slots);
        return at_a >= 1 && at_b >= 1;
    });
}

TEST(IceAgent, TwoAgentsOnLoopbackConnectAndCarryEverySizeIntactBothWays)
{
    IcePair pair(loopback_ice_config(true), loopback_ice_config(false));
    const auto started = MonotonicClock::now();
    ASSERT_TRUE(pair.connect(2s)) << "a: " << to_string(pair.a().state()) << ", b: " << to_string(pair.b().state());
    std::printf("host candidates on loopback: both Connected %.1f ms after gathering started\n",
                milliseconds_since(started));

    const auto a_path = pair.a().selected_path();
    const auto b_path = pair.b().selected_path();
    ASSERT_TRUE(a_path && b_path);
    EXPECT_EQ(a_path->local_kind, CandidateKind::Host);
    EXPECT_EQ(a_path->remote_kind, CandidateKind::Host);
    EXPECT_FALSE(a_path->relayed());
    EXPECT_EQ(a_path->local, b_path->remote);
    EXPECT_EQ(a_path->remote, b_path->local);
    EXPECT_EQ(a_path->local.to_string().rfind("127.0.0.1:", 0), 0u) << a_path->local.to_string();

    expect_every_size_passes(pair, pair.a(), pair.b(), 1400, 1);
    expect_every_size_passes(pair, pair.b(), pair.a(), 1400, 2);
    constexpr std::uint64_t kBytes = 1400 * 1401 / 2;
    for (auto* agent : {&pair.a(), &pair.b()})
    {
        const auto stats = agent->stats();
        EXPECT_EQ(stats.datagrams_sent, 1400u);
        EXPECT_EQ(stats.bytes_sent, kBytes);
        EXPECT_EQ(stats.datagrams_received, 1400u);
        EXPECT_EQ(stats.bytes_received, kBytes);
        EXPECT_EQ(stats.send_failures, 0u);
        EXPECT_EQ(stats.inbox_dropped, 0u);
        EXPECT_EQ(stats.remote_candidates_refused, 0u);
    }
}

TEST(IceAgent, ReceivedDatagramsComeFromTheSelectedPairsRemoteAddress)
{
    IcePair pair(loopback_ice_config(true), loopback_ice_config(false));
    ASSERT_TRUE(pair.connect(2s));
    ASSERT_TRUE(pair.a().send(patterned_datagram(10, 3)));
    std::vector<ReceiveSlot> slots(1);
    ASSERT_TRUE(pair.pump(2s, [&] { return pair.b().receive(slots) == 1; }));
    EXPECT_EQ(slots[0].from, pair.b().selected_path()->remote);
}

// libnice sends its first check one pacing interval (Ta) after checks can start: a slow pacing shows as a floor
// under the time to connect, which no load on the machine can lower.
TEST(IceAgent, CheckPacingReachesLibnice)
{
    auto slow_a = loopback_ice_config(true);
    auto slow_b = loopback_ice_config(false);
    slow_a.check_pacing = slow_b.check_pacing = 150ms;
    IcePair pair(slow_a, slow_b);
    const auto started = MonotonicClock::now();
    ASSERT_TRUE(pair.connect(3s)) << "a: " << to_string(pair.a().state()) << ", b: " << to_string(pair.b().state());
    EXPECT_GE(milliseconds_since(started), 140.0);
}

TEST(IceAgent, CandidatesThatArriveBeforeTheCredentialsWaitForThem)
{
    IcePair pair(loopback_ice_config(true), loopback_ice_config(false));
    ASSERT_TRUE(pair.a().start_gathering());
    ASSERT_TRUE(pair.b().start_gathering());
    ASSERT_TRUE(pair.pump(2s, [&] { return pair.a().gathering_done() && pair.b().gathering_done(); }));
    ASSERT_GT(pair.trickled(), 1u);
    // Nothing can be checked without the peer's password: no pair, however long we wait for one.
    EXPECT_FALSE(pair.pump(100ms, [&] { return pair.a().selected_path() || pair.b().selected_path(); }));
    pair.exchange_credentials();
    ASSERT_TRUE(pair.pump(2s, [&] { return pair.both_connected(); }));
    EXPECT_TRUE(one_datagram_each_way(pair));
}

TEST(IceAgent, RestartReconnectsBothEndsOnNewCredentials)
{
    IcePair pair(loopback_ice_config(true), loopback_ice_config(false));
    ASSERT_TRUE(pair.connect(2s));
    const auto old_a = pair.a().local_credentials();
    const auto old_b = pair.b().local_credentials();

    ASSERT_TRUE(pair.a().restart());
    ASSERT_TRUE(pair.b().restart());
    EXPECT_NE(pair.a().local_credentials().ufrag, old_a.ufrag);
    EXPECT_NE(pair.a().local_credentials().password, old_a.password);
    EXPECT_NE(pair.b().local_credentials().ufrag, old_b.ufrag);
    for (auto* agent : {&pair.a(), &pair.b()})
        EXPECT_TRUE(agent->state() == IceState::Gathering || agent->state() == IceState::Checking)
            << to_string(agent->state());

    const auto started = MonotonicClock::now();
    pair.exchange_credentials();
    ASSERT_TRUE(pair.pump(2s, [&] { return pair.both_connected(); }))
        << "a: " << to_string(pair.a().state()) << ", b: " << to_string(pair.b().state());
    std::printf("restart on loopback: both Connected again %.1f ms after the new credentials\n",
                milliseconds_since(started));
    EXPECT_TRUE(one_datagram_each_way(pair));
    EXPECT_EQ(pair.a().stats().restarts, 1u);
    EXPECT_EQ(pair.b().stats().restarts, 1u);
    EXPECT_EQ(pair.a().stats().remote_candidates_refused, 0u);
}

TEST(IceAgent, RestartBeforeGatheringIsRefused)
{
    auto peer = make_ice_peer(loopback_ice_config(true));
    const auto restarted = peer.agent->restart();
    ASSERT_FALSE(restarted);
    EXPECT_EQ(restarted.error().code, ErrorCode::InvalidArgument);
}

TEST(IceAgent, UnparsableOrUnusableCandidatesAreRefusedAndCounted)
{
    auto peer = make_ice_peer(loopback_ice_config(true));
    const std::vector<std::string> refused = {
        "",
        "candidate:",
        "garbage",
        "candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ",        // no type
        "candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ bogus",  // unknown type
        "candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ prflx",  // never signalled
        "candidate:1 1 TCP 2013266431 127.0.0.1 40000 typ host",   // TCP without tcptype: a GLib critical
        "candidate:1 1 TCP 2013266431 127.0.0.1 40000 typ host tcptype passive",  // UDP only
        "candidate:1 2 UDP 2013266431 127.0.0.1 40000 typ host",                  // component 2
        "candidate:1 1 UDP 2013266431 game.example 40000 typ host",               // a name to resolve
        "candidate:1 1 UDP 2013266431 0.0.0.0 40000 typ host",                    // unspecified
        "candidate:1 1 UDP 2013266431 224.0.0.1 40000 typ host",                  // multicast
        "candidate:1 1 UDP 2013266431 127.0.0.1 0 typ host",                      // port 0
        "candidate:1 1 UDP 2013266431 127.0.0.1 70000 typ host",                  // port out of range
        "candidate:1 1 UDP 99999999999 127.0.0.1 40000 typ host",                 // priority out of range
        "candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host raddr",            // odd extension
        "candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host raddr x rport 9",
        "candidate:1  1 UDP 2013266431 127.0.0.1 40000 typ host",                            // doubled space
        "candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host\n",                           // control byte
        "candidate:f\xc3\xa9 1 UDP 2013266431 127.0.0.1 40000 typ host",                     // not ASCII
        "candidate:" + std::string(40, 'f') + " 1 UDP 1 127.0.0.1 40000 typ host",           // foundation too long
        "candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host x " + std::string(600, 'y'),  // too long
        std::string("candidate:1 1 UDP 2013266431 127.0.0.1") + '\0' + " 40000 typ host",    // a NUL inside
    };
    for (const auto& candidate : refused)
    {
        const auto added = peer.agent->add_remote_candidate(candidate);
        ASSERT_FALSE(added) << candidate;
        EXPECT_EQ(added.error().code, ErrorCode::InvalidArgument) << candidate;
    }
    EXPECT_EQ(peer.agent->stats().remote_candidates_refused, refused.size());
    // And the forms a peer does send are taken, with or without SDP's "a=" and extension attributes.
    EXPECT_TRUE(peer.agent->add_remote_candidate("candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host"));
    EXPECT_TRUE(peer.agent->add_remote_candidate("a=candidate:2 1 udp 1677721855 192.0.2.7 40001 typ srflx "
                                                 "raddr 127.0.0.1 rport 40000 generation 0 network-id 1"));
    EXPECT_TRUE(peer.agent->add_remote_candidate("candidate:3 1 UDP 16777215 2001:db8::7 40002 typ relay "
                                                 "raddr 0.0.0.0 rport 9"));
    EXPECT_EQ(peer.agent->stats().remote_candidates_refused, refused.size());
}

TEST(IceAgent, CandidatesPastTheLimitAreRefusedUntilTheNextGeneration)
{
    auto config = loopback_ice_config(true);
    config.max_remote_candidates = 3;
    auto peer = make_ice_peer(config);
    ASSERT_TRUE(peer.agent->start_gathering());
    const auto candidate = [](int port) {
        return "candidate:1 1 UDP 2013266431 127.0.0.1 " + std::to_string(port) + " typ host";
    };
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(peer.agent->add_remote_candidate(candidate(40000 + i)));
    for (int i = 3; i < 6; ++i)
    {
        const auto added = peer.agent->add_remote_candidate(candidate(40000 + i));
        ASSERT_FALSE(added);
        EXPECT_EQ(added.error().code, ErrorCode::QueueFull);
    }
    EXPECT_EQ(peer.agent->stats().remote_candidates_refused, 3u);

    ASSERT_TRUE(peer.agent->restart());
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(peer.agent->add_remote_candidate(candidate(41000 + i)));
    EXPECT_FALSE(peer.agent->add_remote_candidate(candidate(41003)));
    EXPECT_EQ(peer.agent->stats().remote_candidates_refused, 4u);
}

TEST(IceAgent, RemoteCredentialsThatAreNotIceCharsAreRefused)
{
    auto peer = make_ice_peer(loopback_ice_config(true));
    const std::string password(22, 'p');
    for (const auto& credentials : std::vector<p2p::IceCredentials>{{"", password},
                                                                    {"abc", password},
                                                                    {"ab:c", password},
                                                                    {"abcd", "short"},
                                                                    {"abcd", std::string(257, 'p')},
                                                                    {std::string(257, 'u'), password},
                                                                    {"abcd", password + " "}})
    {
        const auto set = peer.agent->set_remote_credentials(credentials);
        ASSERT_FALSE(set) << credentials.ufrag << " / " << credentials.password;
        EXPECT_EQ(set.error().code, ErrorCode::InvalidArgument);
    }
    EXPECT_TRUE(peer.agent->set_remote_credentials({"abcd", password}));
}

/// What a stranger who learnt the port might throw at it: connectivity checks with made-up credentials, STUN
/// responses to nothing, STUN headers that lie about their length, and plain bytes.
std::vector<std::vector<std::uint8_t>> junk_datagrams(const std::string& ufrag)
{
    std::vector<std::vector<std::uint8_t>> junk;
    std::vector<std::uint8_t> check = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
                                       3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
    const std::string username = ufrag + ":evil";
    check.insert(check.end(), {0x00, 0x06, 0x00, static_cast<std::uint8_t>(username.size())});
    check.insert(check.end(), username.begin(), username.end());
    check.resize((check.size() + 3) / 4 * 4, 0);
    check.insert(check.end(), {0x00, 0x08, 0x00, 0x14});  // MESSAGE-INTEGRITY of 20 made-up bytes
    check.insert(check.end(), 20, 0xab);
    const auto body = static_cast<std::uint16_t>(check.size() - 20);
    check[2] = static_cast<std::uint8_t>(body >> 8);
    check[3] = static_cast<std::uint8_t>(body & 0xff);
    junk.push_back(check);
    junk.push_back({0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9});
    junk.push_back({0x00, 0x01, 0x7f, 0xfc, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    junk.push_back({0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1,    2,    3, 4, 5, 6,
                    7,    8,    9,    10,   11,   12,   0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0});
    junk.push_back({'h', 'e', 'l', 'l', 'o'});
    junk.push_back(std::vector<std::uint8_t>(1200, 0x5a));
    return junk;
}

TEST(IceAgent, AStrangersJunkAtTheAgentsPortNeverReachesTheInbox)
{
    IcePair pair(loopback_ice_config(true), loopback_ice_config(false));
    ASSERT_TRUE(pair.connect(2s));
    auto stranger = open_udp_socket(SocketAddress::ipv4_loopback(0));
    ASSERT_TRUE(stranger);
    const auto target = pair.b().selected_path()->local;
    const auto junk = junk_datagrams(pair.b().local_credentials().ufrag);
    for (const auto& datagram : junk)
    {
        const OutgoingDatagram outgoing{target, std::as_bytes(std::span(datagram))};
        ASSERT_EQ((*stranger)->send({&outgoing, 1}, MonotonicClock::now()), 1u);
    }
    // The peer's datagram, sent after the junk, arrives after it (one loopback receive queue): once it is in,
    // the agent has read and judged every junk datagram.
    const auto marker = patterned_datagram(77, 5);
    ASSERT_TRUE(pair.a().send(marker));
    std::vector<ReceiveSlot> slots(16);
    std::size_t received = 0;
    ASSERT_TRUE(pair.pump(2s, [&] { return (received += pair.b().receive(std::span(slots).subspan(received))) > 0; }));
    EXPECT_FALSE(
        pair.pump(20ms, [&] { return (received += pair.b().receive(std::span(slots).subspan(received))) > 1; }));
    ASSERT_EQ(received, 1u);
    EXPECT_EQ(slots[0].size, marker.size());
    EXPECT_EQ(pair.b().stats().datagrams_received, 1u);
    EXPECT_EQ(pair.b().state(), IceState::Connected);
    EXPECT_TRUE(one_datagram_each_way(pair));
}

TEST(IceAgent, DatagramsPastTheInboxLimitAreDroppedAndCounted)
{
    auto b_config = loopback_ice_config(false);
    b_config.inbox_limit = 4;
    IcePair pair(loopback_ice_config(true), b_config);
    ASSERT_TRUE(pair.connect(2s));
    for (std::size_t size = 1; size <= 10; ++size)
        ASSERT_TRUE(pair.a().send(patterned_datagram(size, 4)));
    ASSERT_TRUE(pair.pump(2s, [&] {
        const auto stats = pair.b().stats();
        return stats.datagrams_received + stats.inbox_dropped == 10;
    }));
    EXPECT_EQ(pair.b().stats().datagrams_received, 4u);
    EXPECT_EQ(pair.b().stats().inbox_dropped, 6u);
    std::vector<ReceiveSlot> slots(16);
    ASSERT_EQ(pair.b().receive(slots), 4u);
    for (std::size_t i = 0; i < 4; ++i)
        EXPECT_EQ(slots[i].size, i + 1);       // the first four, in order
    EXPECT_TRUE(one_datagram_each_way(pair));  // room again
}

TEST(IceAgent, SendWithoutASelectedPairFailsAndIsCounted)
{
    auto peer = make_ice_peer(loopback_ice_config(true));
    EXPECT_FALSE(peer.agent->send(patterned_datagram(10, 0)));
    EXPECT_EQ(peer.agent->stats().send_failures, 1u);
    EXPECT_EQ(peer.agent->state(), IceState::New);
    EXPECT_FALSE(peer.agent->selected_path());
}

TEST(IceAgent, EmptyAndOversizedDatagramsAreNotSent)
{
    IcePair pair(loopback_ice_config(true), loopback_ice_config(false));
    ASSERT_TRUE(pair.connect(2s));
    EXPECT_FALSE(pair.a().send({}));
    EXPECT_FALSE(pair.a().send(patterned_datagram(kMaxDatagramSize + 1, 0)));
    EXPECT_TRUE(pair.a().send(patterned_datagram(kMaxDatagramSize, 0)));
    EXPECT_EQ(pair.a().stats().send_failures, 2u);
    EXPECT_EQ(pair.a().stats().datagrams_sent, 1u);
}

TEST(IceAgent, ConfigurationsThatCannotWorkAreRefused)
{
    auto loop = std::move(p2p::IceLoop::create()).value();
    auto relay_without_turn = loopback_ice_config(true);
    relay_without_turn.relay_only = true;
    auto no_inbox = loopback_ice_config(true);
    no_inbox.inbox_limit = 0;
    auto stun_without_port = loopback_ice_config(true);
    stun_without_port.servers.stun = SocketAddress::ipv4_loopback(0);
    auto turn_without_address = loopback_ice_config(true);
    turn_without_address.servers.turn = p2p::TurnServer{SocketAddress{}, "user", "password"};
    auto pacing_under_rfc_floor = loopback_ice_config(true);
    pacing_under_rfc_floor.check_pacing = 4ms;
    auto pacing_over_a_second = loopback_ice_config(true);
    pacing_over_a_second.check_pacing = 1001ms;
    for (const auto& config : {relay_without_turn, no_inbox, stun_without_port, turn_without_address,
                               pacing_under_rfc_floor, pacing_over_a_second})
    {
        const auto created = p2p::IceAgent::create(*loop, config);
        ASSERT_FALSE(created);
        EXPECT_EQ(created.error().code, ErrorCode::InvalidArgument);
    }
}

std::size_t open_descriptors()
{
    return static_cast<std::size_t>(
        std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator{}));
}

// LeakSanitizer cannot prove this one: an agent that is never freed stays reachable from GLib's global tables
// (signal handlers, weak references), so a leaked agent is a kept socket. Counting descriptors sees it.
TEST(IceAgent, DestroyedAgentsAndLoopsCloseEveryDescriptorTheyOpened)
{
    const auto connect_and_destroy = [] {
        IcePair pair(loopback_ice_config(true), loopback_ice_config(false));
        EXPECT_TRUE(pair.connect(2s));
    };
    connect_and_destroy();  // GLib's process-wide helpers (a worker thread and its wake-up) start once, on first use
    const auto before = open_descriptors();
    connect_and_destroy();
    EXPECT_EQ(open_descriptors(), before);
}

TEST(IceLoop, AnIdleLoopArmsNoTimerAndItsHandleStaysQuiet)
{
    auto loop = std::move(p2p::IceLoop::create()).value();
    const auto now = MonotonicClock::now();
    loop->run_ready(now);
    EXPECT_FALSE(loop->next_wakeup(now));
    pollfd handle{loop->native_handle(), POLLIN, 0};
    EXPECT_EQ(::poll(&handle, 1, 0), 0);
}

TEST(IceLoop, AGatheringAgentArmsATimerAndDestroyingItDisarmsIt)
{
    auto loop = std::move(p2p::IceLoop::create()).value();
    {
        auto agent = std::move(p2p::IceAgent::create(*loop, loopback_ice_config(true))).value();
        ASSERT_TRUE(agent->start_gathering());
        ASSERT_TRUE(agent->add_remote_candidate("candidate:1 1 UDP 2013266431 127.0.0.1 9 typ host"));
        ASSERT_TRUE(agent->set_remote_credentials({"abcd", std::string(22, 'p')}));
        EXPECT_TRUE(loop->next_wakeup(MonotonicClock::now()));  // connectivity checks are paced by a timer
    }
    ASSERT_TRUE(pump_ice_loops({loop.get()}, 1s, [&] { return !loop->next_wakeup(MonotonicClock::now()); }));
}

}  // namespace
}  // namespace eustress::net::testing
