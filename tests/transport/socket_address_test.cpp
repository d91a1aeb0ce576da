#include <cstring>
#include <unordered_set>

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "eustress/net/socket_address.hpp"

namespace eustress::net {
namespace {

TEST(SocketAddress, ParsesIpv4AndPrintsItBack)
{
    const auto address = SocketAddress::parse("192.168.1.20:4433");
    ASSERT_TRUE(address);
    EXPECT_TRUE(address->is_valid());
    EXPECT_EQ(address->family(), AF_INET);
    EXPECT_EQ(address->port(), 4433);
    EXPECT_EQ(address->size(), sizeof(sockaddr_in));
    EXPECT_EQ(address->to_string(), "192.168.1.20:4433");
    EXPECT_EQ(SocketAddress::parse(address->to_string()), address);
}

TEST(SocketAddress, ParsesBracketedIpv6AndPrintsItBack)
{
    const auto address = SocketAddress::parse("[2001:db8::7]:65535");
    ASSERT_TRUE(address);
    EXPECT_EQ(address->family(), AF_INET6);
    EXPECT_EQ(address->port(), 65535);
    EXPECT_EQ(address->size(), sizeof(sockaddr_in6));
    EXPECT_EQ(address->to_string(), "[2001:db8::7]:65535");
    EXPECT_EQ(SocketAddress::parse(address->to_string()), address);
}

TEST(SocketAddress, ParsesHostAndPortSeparately)
{
    EXPECT_EQ(SocketAddress::parse("10.0.0.1", 1000), SocketAddress::parse("10.0.0.1:1000"));
    EXPECT_EQ(SocketAddress::parse("::1", 80), SocketAddress::parse("[::1]:80"));
    EXPECT_EQ(SocketAddress::parse("[::1]", 80), SocketAddress::parse("[::1]:80"));
    EXPECT_EQ(SocketAddress::parse("0.0.0.0", 0)->port(), 0);
}

TEST(SocketAddress, RejectsWhatIsNotANumericAddressWithAPort)
{
    for (const char* text :
         {"", ":5", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:+5", "1.2.3.4:12x", "1.2.3:5",
          "256.1.1.1:5", "::1:5", "[::1:5", "[1.2.3.4]:5", "[]:5", "localhost:80", "example.com:443", "1.2.3.4 :5"})
        EXPECT_FALSE(SocketAddress::parse(text)) << text;
    EXPECT_FALSE(SocketAddress::parse("", 5));
    EXPECT_FALSE(SocketAddress::parse("[]", 5));
    EXPECT_FALSE(SocketAddress::parse("[10.0.0.1]", 5));
}

TEST(SocketAddress, KeepsTheIpv6Zone)
{
    const auto zoned = SocketAddress::parse("[fe80::1%3]:9");
    ASSERT_TRUE(zoned);
    EXPECT_EQ(reinterpret_cast<const sockaddr_in6*>(zoned->data())->sin6_scope_id, 3u);
    EXPECT_EQ(zoned->port(), 9);
    EXPECT_EQ(zoned->to_string(), "[fe80::1%3]:9");
    EXPECT_EQ(SocketAddress::parse(zoned->to_string()), zoned);
    EXPECT_NE(zoned, SocketAddress::parse("[fe80::1]:9"));  // link-local addresses on two links differ
}

TEST(SocketAddress, DefaultIsInvalid)
{
    SocketAddress none;
    EXPECT_FALSE(none.is_valid());
    EXPECT_EQ(none.port(), 0);
    none.set_port(7);  // no family: nothing to set
    EXPECT_EQ(none.port(), 0);
    EXPECT_EQ(none.to_string(), "(none)");
    EXPECT_EQ(none, SocketAddress());
    EXPECT_NE(none, SocketAddress::ipv4_loopback(0));
}

TEST(SocketAddress, SetsPortOnBothFamilies)
{
    auto v4 = *SocketAddress::parse("10.1.2.3:1");
    v4.set_port(5555);
    EXPECT_EQ(v4.port(), 5555);
    EXPECT_EQ(v4.to_string(), "10.1.2.3:5555");
    auto v6 = *SocketAddress::parse("[::1]:1");
    v6.set_port(6666);
    EXPECT_EQ(v6.port(), 6666);
    EXPECT_EQ(v6.to_string(), "[::1]:6666");
}

TEST(SocketAddress, Ipv4LoopbackIs127001)
{
    EXPECT_EQ(SocketAddress::ipv4_loopback(7), SocketAddress::parse("127.0.0.1:7"));
    EXPECT_EQ(SocketAddress::ipv4_loopback(7).to_string(), "127.0.0.1:7");
}

TEST(SocketAddress, EqualityIgnoresFieldsThatDoNotIdentifyTheEndpoint)
{
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(443);
    ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::1", &a.sin6_addr), 1);
    sockaddr_in6 b = a;
    b.sin6_flowinfo = htonl(0x12345);  // the kernel fills the flow label as it likes
    const SocketAddress first(reinterpret_cast<const sockaddr*>(&a), sizeof a);
    const SocketAddress second(reinterpret_cast<const sockaddr*>(&b), sizeof b);
    EXPECT_EQ(first, second);
    EXPECT_EQ(SocketAddressHash{}(first), SocketAddressHash{}(second));

    sockaddr_in c{};
    c.sin_family = AF_INET;
    c.sin_port = htons(9);
    c.sin_addr.s_addr = htonl(0x0a000001);
    sockaddr_in d = c;
    std::memset(d.sin_zero, 0xab, sizeof d.sin_zero);
    EXPECT_EQ(SocketAddress(reinterpret_cast<const sockaddr*>(&c), sizeof c),
              SocketAddress(reinterpret_cast<const sockaddr*>(&d), sizeof d));
}

TEST(SocketAddress, DiffersByFamilyHostOrPort)
{
    const auto base = *SocketAddress::parse("10.0.0.1:1000");
    EXPECT_NE(base, *SocketAddress::parse("10.0.0.2:1000"));
    EXPECT_NE(base, *SocketAddress::parse("10.0.0.1:1001"));
    EXPECT_NE(base, *SocketAddress::parse("[::ffff:10.0.0.1]:1000"));  // same host, but a different family
}

TEST(SocketAddress, HashesWellEnoughForAMap)
{
    std::unordered_set<SocketAddress, SocketAddressHash> seen;
    for (int host = 1; host <= 50; ++host)
        for (int port = 1000; port < 1020; ++port)
        {
            seen.insert(*SocketAddress::parse("10.0.0." + std::to_string(host), static_cast<std::uint16_t>(port)));
            seen.insert(*SocketAddress::parse("fd00::" + std::to_string(host), static_cast<std::uint16_t>(port)));
        }
    EXPECT_EQ(seen.size(), 2000u);
    EXPECT_EQ(seen.count(*SocketAddress::parse("10.0.0.17:1005")), 1u);
    EXPECT_EQ(seen.count(*SocketAddress::parse("[fd00::17]:1005")), 1u);
    EXPECT_EQ(seen.count(*SocketAddress::parse("10.0.0.17:1020")), 0u);
}

TEST(SocketAddress, ConstructorCopiesAndClampsTheLength)
{
    sockaddr_storage big{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&big);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(77);
    const SocketAddress address(reinterpret_cast<const sockaddr*>(&big), sizeof big + 100);
    EXPECT_EQ(address.size(), sizeof(sockaddr_storage));
    EXPECT_EQ(address.port(), 77);
    EXPECT_FALSE(SocketAddress(nullptr, 16).is_valid());
}

TEST(SocketAddress, ResolveTakesLiteralsWithoutDns)
{
    EXPECT_EQ(SocketAddress::resolve("127.0.0.1", 80), SocketAddress::parse("127.0.0.1:80"));
    EXPECT_EQ(SocketAddress::resolve("::1", 80), SocketAddress::parse("[::1]:80"));
}

TEST(SocketAddress, ResolvePrefersIpv4)
{
    // "localhost" comes from the hosts file, not the network; machines without one skip.
    const auto address = SocketAddress::resolve("localhost", 8080);
    if (!address)
        GTEST_SKIP() << "localhost does not resolve here";
    EXPECT_EQ(address->port(), 8080);
    EXPECT_EQ(address->family(), AF_INET);
}

}  // namespace
}  // namespace eustress::net
