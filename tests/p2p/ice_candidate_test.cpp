// The remote-candidate check: what libnice generates passes and comes out as the line libnice parses; anything a
// hostile peer could use to reach GLib criticals, DNS or another component is refused before libnice sees it.
#include <gtest/gtest.h>

#include "p2p/ice_candidate.hpp"

namespace eustress::net::testing {
namespace {

using p2p::normalise_remote_candidate;

TEST(IceCandidate, WhatLibniceGeneratesComesBackAsTheSameLine)
{
    for (const std::string line : {"a=candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host",
                                   "a=candidate:2 1 UDP 1677721855 198.51.100.4 53000 typ srflx raddr 10.0.0.2 rport "
                                   "40000",
                                   "a=candidate:3 1 UDP 16777215 203.0.113.9 61000 typ relay raddr 10.0.0.2 rport "
                                   "40000",
                                   "a=candidate:4 1 UDP 2015363327 2001:db8::2 40000 typ host"})
    {
        EXPECT_EQ(normalise_remote_candidate(p2p::attribute_value_of(line)), line);
        EXPECT_EQ(normalise_remote_candidate(line), line);
    }
}

TEST(IceCandidate, TransportIsWrittenAsLibniceExpectsAndExtensionsAreDropped)
{
    EXPECT_EQ(normalise_remote_candidate("candidate:x+/Y 1 udp 1 192.0.2.1 1 typ host generation 0 ufrag abcd"),
              "a=candidate:x+/Y 1 UDP 1 192.0.2.1 1 typ host");
    EXPECT_EQ(normalise_remote_candidate("candidate:1 1 UdP 1 192.0.2.1 1 typ host rport 5 raddr 192.0.2.9"),
              "a=candidate:1 1 UDP 1 192.0.2.1 1 typ host raddr 192.0.2.9 rport 5");
}

TEST(IceCandidate, HalfARelatedAddressOrTooManyExtensionsIsRefused)
{
    EXPECT_FALSE(normalise_remote_candidate("candidate:1 1 UDP 1 192.0.2.1 1 typ srflx raddr 192.0.2.9"));
    EXPECT_FALSE(normalise_remote_candidate("candidate:1 1 UDP 1 192.0.2.1 1 typ srflx rport 9"));
    std::string many = "candidate:1 1 UDP 1 192.0.2.1 1 typ host";
    for (int i = 0; i < 9; ++i)
        many += " x" + std::to_string(i) + " 1";
    EXPECT_FALSE(normalise_remote_candidate(many));
}

TEST(IceCandidate, AddressesNoPeerCanHaveAreRefused)
{
    for (const char* address : {"255.255.255.255", "239.1.2.3", "::", "ff02::1", "::ffff:192.0.2.1", "fe80::1%eth0",
                                "localhost", "1.2.3", "01.2.3.4.5"})
        EXPECT_FALSE(normalise_remote_candidate(std::string("candidate:1 1 UDP 1 ") + address + " 9 typ host"))
            << address;
}

TEST(IceCandidate, PriorityAndFoundationMustBeInRange)
{
    EXPECT_FALSE(normalise_remote_candidate("candidate:1 1 UDP 0 192.0.2.1 9 typ host"));
    EXPECT_FALSE(normalise_remote_candidate("candidate:1 1 UDP 2147483648 192.0.2.1 9 typ host"));
    EXPECT_TRUE(normalise_remote_candidate("candidate:1 1 UDP 2147483647 192.0.2.1 9 typ host"));
    EXPECT_FALSE(normalise_remote_candidate("candidate:1 1 UDP -1 192.0.2.1 9 typ host"));
    EXPECT_FALSE(normalise_remote_candidate("candidate:a-b 1 UDP 1 192.0.2.1 9 typ host"));
    EXPECT_TRUE(normalise_remote_candidate("candidate:" + std::string(32, 'f') + " 1 UDP 1 192.0.2.1 9 typ host"));
}

}  // namespace
}  // namespace eustress::net::testing
