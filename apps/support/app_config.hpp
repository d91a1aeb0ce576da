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

/// A secret from a file only its owner can read (mode 0600 or 0400; anything readable or writable by group or
/// others is refused, naming the fix), trimmed of surrounding whitespace. Errors: IoError, InvalidArgument.
Result<std::string> read_secret_file(const std::string& path);

/// A secret from the environment variable `name`, which is then removed from our environment so that processes
/// we start do not inherit it; nullopt when it is not set.
std::optional<std::string> take_secret_from_environment(const char* name);

}  // namespace eustress::net::apps
