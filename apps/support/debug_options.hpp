// The debugging flags eustress-server and eustress-client share: TLS key log, qlog directory, UDP GSO switch.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "eustress/net/config.hpp"

namespace eustress::net::apps {

struct DebugOptions
{
    std::string key_log_file;
    std::string qlog_directory;
    bool no_gso = false;
};

/// Adds --key-log, --qlog-dir and --no-gso to `app`, filling `options`.
void add_debug_options(CLI::App& app, DebugOptions& options);
/// Puts the flags that were given over `quic` (which may come from a TOML file).
void apply_debug_options(const DebugOptions& options, QuicConfig& quic);

}  // namespace eustress::net::apps
