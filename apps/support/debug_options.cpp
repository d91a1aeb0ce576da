#include "debug_options.hpp"

namespace eustress::net::apps {

void add_debug_options(CLI::App& app, DebugOptions& options)
{
    app.add_option("--key-log", options.key_log_file,
                   "append TLS secrets to FILE (NSS key log format, for Wireshark); anyone holding it can decrypt "
                   "the traffic");
    app.add_option("--qlog-dir", options.qlog_directory, "write one qlog file per connection into DIR")
        ->check(CLI::ExistingDirectory);
    app.add_flag("--no-gso", options.no_gso,
                 "send every packet on its own (no UDP GSO), so loopback captures show real packets");
}

void apply_debug_options(const DebugOptions& options, QuicConfig& quic)
{
    if (!options.key_log_file.empty())
        quic.key_log_file = options.key_log_file;
    if (!options.qlog_directory.empty())
        quic.qlog_directory = options.qlog_directory;
    if (options.no_gso)
        quic.udp_gso = false;
}

}  // namespace eustress::net::apps
