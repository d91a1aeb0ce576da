// Configuration for the apps: a TOML file (optional) and then command-line flags over it.
#pragma once

#include <optional>
#include <string>

#include "eustress/net/config.hpp"
#include "eustress/net/result.hpp"

namespace eustress::net::apps {

/// Reads [server], [quic] and [link_simulation] tables into `config`. Unknown keys are errors, so a typo in a
/// deployment file is caught at start-up instead of silently ignored.
Result<void> load_server_config(const std::string& path, ServerConfig& config);
/// Reads [client], [quic] and [link_simulation] tables into `config`.
Result<void> load_client_config(const std::string& path, ClientConfig& config);

std::optional<CongestionControl> parse_congestion_control(std::string_view name);

}  // namespace eustress::net::apps
