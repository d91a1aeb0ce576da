#include <cstdio>
#include <string>

#include "eustress/net/privacy.hpp"
#include "eustress/net/status.hpp"

namespace eustress::net {
namespace {

double milliseconds(Duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

std::string format_status_table(std::span<const ConnectionStatus> connections, Pseudonymizer& pseudonyms, Timestamp now)
{
    std::string table;
    char line[512];
    std::snprintf(line, sizeof line, "%-6s %-22s %-10s %4s %8s %8s %8s %7s %9s %9s %10s %10s %8s %8s %8s %9s\n",
                  "client", "peer", "state", "qual", "rtt ms", "min ms", "var ms", "loss %", "pkts out", "pkts in",
                  "bytes out", "bytes in", "out kB/s", "in kB/s", "cwnd", "queue B");
    table += line;
    for (const auto& c : connections)
    {
        std::snprintf(
            line, sizeof line,
            "%-6llu %-22s %-10s %4.2f %8.2f %8.2f %8.2f %7.2f %9llu %9llu %10llu %10llu %8.1f %8.1f %8llu "
            "%9llu\n",
            static_cast<unsigned long long>(c.client_id), pseudonyms.pseudonym(c.remote, now).c_str(),
            to_string(c.state), c.quality, milliseconds(c.smoothed_rtt), milliseconds(c.min_rtt),
            milliseconds(c.rtt_variance), 100.0 * c.datagram_loss, static_cast<unsigned long long>(c.packets_sent),
            static_cast<unsigned long long>(c.packets_received), static_cast<unsigned long long>(c.bytes_sent),
            static_cast<unsigned long long>(c.bytes_received), c.send_bytes_per_second / 1000.0,
            c.receive_bytes_per_second / 1000.0, static_cast<unsigned long long>(c.congestion_window),
            static_cast<unsigned long long>(c.send_queue_bytes));
        table += line;
        for (const auto& ch : c.channels)
        {
            std::snprintf(
                line, sizeof line,
                "         %-12s %-20s sent %7llu msgs %10llu B | recv %7llu msgs %10llu B | acked %6llu "
                "lost %5llu stale %5llu\n",
                ch.name.c_str(), to_string(ch.kind), static_cast<unsigned long long>(ch.messages_sent),
                static_cast<unsigned long long>(ch.bytes_sent), static_cast<unsigned long long>(ch.messages_received),
                static_cast<unsigned long long>(ch.bytes_received), static_cast<unsigned long long>(ch.messages_acked),
                static_cast<unsigned long long>(ch.messages_lost), static_cast<unsigned long long>(ch.stale_dropped));
            table += line;
        }
    }
    return table;
}

}  // namespace eustress::net
