#include "app_config.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <unistd.h>

#include <sys/stat.h>
#include <toml++/toml.h>

namespace eustress::net::apps {
namespace {

using namespace std::chrono;

Error config_error(const std::string& path, const std::string& message)
{
    return make_error(ErrorCode::InvalidArgument, path + ": " + message);
}

/// Every key of `table` must be in `known`.
std::optional<std::string> unknown_key(const toml::table& table, const std::set<std::string>& known)
{
    for (const auto& [key, value] : table)
        if (!known.count(std::string(key.str())))
            return std::string(key.str());
    return std::nullopt;
}

template <typename T> void read(const toml::table& table, const char* key, T& out)
{
    if (auto value = table[key].value<T>())
        out = *value;
}

/// Appends the strings of the array at `key` (other values are skipped).
void read_strings(const toml::table& table, const char* key, std::vector<std::string>& out)
{
    if (const auto* values = table[key].as_array())
        for (const auto& value : *values)
            if (auto text = value.value<std::string>())
                out.push_back(*text);
}

/// The port at `key` of the table `name`, when set: `lowest`..65535, or an error naming it.
Result<void> read_port(const std::string& path, const toml::table& table, const std::string& name, const char* key,
                       std::int64_t lowest, std::uint16_t& out)
{
    auto port = table[key].value<std::int64_t>();
    if (!port)
        return {};
    if (*port < lowest || *port > 65535)
        return config_error(path, name + "." + key + " must be " + std::to_string(lowest) + "..65535");
    out = static_cast<std::uint16_t>(*port);
    return {};
}

void read_ms(const toml::table& table, const char* key, Duration& out)
{
    if (auto value = table[key].value<double>())
        out = duration_cast<Duration>(duration<double, std::milli>(*value));
}

Result<void> read_quic(const std::string& path, const toml::table& root, QuicConfig& quic)
{
    const auto* table = root["quic"].as_table();
    if (!table)
        return {};
    if (auto key = unknown_key(*table, {"congestion_control", "idle_timeout_ms", "keep_alive_ms",
                                        "handshake_timeout_ms", "initial_rtt_ms", "connection_window", "stream_window",
                                        "max_concurrent_streams", "udp_gso", "key_log_file", "qlog_directory"}))
        return config_error(path, "unknown key quic." + *key);
    if (auto name = (*table)["congestion_control"].value<std::string>())
    {
        auto algorithm = parse_congestion_control(*name);
        if (!algorithm)
            return config_error(path, "quic.congestion_control must be reno, cubic, bbr or bbr2");
        quic.congestion_control = *algorithm;
    }
    read_ms(*table, "idle_timeout_ms", quic.idle_timeout);
    read_ms(*table, "keep_alive_ms", quic.keep_alive_interval);
    read_ms(*table, "handshake_timeout_ms", quic.handshake_timeout);
    read_ms(*table, "initial_rtt_ms", quic.initial_rtt);
    read(*table, "connection_window", quic.connection_window);
    read(*table, "stream_window", quic.stream_window);
    read(*table, "max_concurrent_streams", quic.max_concurrent_streams);
    read(*table, "udp_gso", quic.udp_gso);
    if (auto file = (*table)["key_log_file"].value<std::string>())
        quic.key_log_file = *file;
    if (auto directory = (*table)["qlog_directory"].value<std::string>())
        quic.qlog_directory = *directory;
    return {};
}

Result<void> read_link(const std::string& path, const toml::table& root, LinkSimulation& link)
{
    const auto* table = root["link_simulation"].as_table();
    if (!table)
        return {};
    if (auto key = unknown_key(*table, {"enabled", "latency_ms", "jitter_ms", "loss", "duplication", "reordering",
                                        "reorder_delay_ms", "bandwidth_bytes_per_second", "queue_limit_bytes", "seed"}))
        return config_error(path, "unknown key link_simulation." + *key);
    link.enabled = true;
    read(*table, "enabled", link.enabled);
    read_ms(*table, "latency_ms", link.link.latency);
    read_ms(*table, "jitter_ms", link.link.jitter);
    read_ms(*table, "reorder_delay_ms", link.link.reorder_delay);
    read(*table, "loss", link.link.loss);
    read(*table, "duplication", link.link.duplication);
    read(*table, "reordering", link.link.reordering);
    read(*table, "bandwidth_bytes_per_second", link.link.bandwidth_bytes_per_second);
    read(*table, "queue_limit_bytes", link.link.queue_limit_bytes);
    read(*table, "seed", link.link.seed);
    return {};
}

/// [websocket]: the TCP listener for QUIC over WebSocket (docs/WEB.md); the table's presence turns it on.
Result<void> read_websocket(const std::string& path, const toml::table& root,
                            std::optional<WebSocketListenerConfig>& websocket)
{
    const auto* table = root["websocket"].as_table();
    if (!table)
        return {};
    if (auto key = unknown_key(*table, {"bind", "port", "path", "allowed_origins", "max_connections",
                                        "max_connections_per_address", "max_message_size", "max_header_bytes",
                                        "handshake_timeout_ms", "idle_timeout_ms", "max_queued_bytes",
                                        "slow_reader_timeout_ms"}))
        return config_error(path, "unknown key websocket." + *key);
    WebSocketListenerConfig config = websocket.value_or(WebSocketListenerConfig{});
    read(*table, "bind", config.bind_address);
    if (auto ok = read_port(path, *table, "websocket", "port", 0, config.port); !ok)
        return ok;
    read(*table, "path", config.path);
    read_strings(*table, "allowed_origins", config.allowed_origins);
    read(*table, "max_connections", config.max_connections);
    read(*table, "max_connections_per_address", config.max_connections_per_address);
    read(*table, "max_message_size", config.max_message_size);
    read(*table, "max_header_bytes", config.max_header_bytes);
    read_ms(*table, "handshake_timeout_ms", config.handshake_timeout);
    read_ms(*table, "idle_timeout_ms", config.idle_timeout);
    read(*table, "max_queued_bytes", config.max_queued_bytes);
    read_ms(*table, "slow_reader_timeout_ms", config.slow_reader_timeout);
    websocket = config;
    return {};
}

Result<toml::table> parse_file(const std::string& path)
{
    try
    {
        return toml::parse_file(path);
    }
    catch (const toml::parse_error& error)
    {
        return config_error(path,
                            std::string(error.description()) + " at line " + std::to_string(error.source().begin.line));
    }
}

}  // namespace

std::optional<CongestionControl> parse_congestion_control(std::string_view name)
{
    if (name == "reno")
        return CongestionControl::Reno;
    if (name == "cubic")
        return CongestionControl::Cubic;
    if (name == "bbr")
        return CongestionControl::Bbr;
    if (name == "bbr2")
        return CongestionControl::Bbr2;
    return std::nullopt;
}

Result<void> load_server_config(const std::string& path, ServerConfig& config)
{
    auto parsed = parse_file(path);
    if (!parsed)
        return parsed.error();
    const toml::table& root = *parsed;
    if (auto key = unknown_key(root, {"server", "quic", "link_simulation", "websocket"}))
        return config_error(path, "unknown table or key '" + *key + "'");
    if (const auto* server = root["server"].as_table())
    {
        if (auto key =
                unknown_key(*server, {"bind", "port", "certificate", "private_key", "development_certificate_directory",
                                      "max_clients", "max_pending_handshakes", "enable_early_data", "send_rate_limit",
                                      "http_address"}))
            return config_error(path, "unknown key server." + *key);
        read(*server, "bind", config.bind_address);
        read(*server, "http_address", config.observability.http_address);
        if (auto ok = read_port(path, *server, "server", "port", 0, config.port); !ok)
            return ok;
        if (auto file = (*server)["certificate"].value<std::string>())
            config.certificate_file = *file;
        if (auto file = (*server)["private_key"].value<std::string>())
            config.private_key_file = *file;
        if (auto directory = (*server)["development_certificate_directory"].value<std::string>())
            config.development_certificate_directory = *directory;
        read(*server, "max_clients", config.max_clients);
        read(*server, "max_pending_handshakes", config.max_pending_handshakes);
        read(*server, "enable_early_data", config.enable_early_data);
        read(*server, "send_rate_limit", config.send_rate_limit);
    }
    if (auto ok = read_websocket(path, root, config.websocket); !ok)
        return ok;
    if (auto ok = read_quic(path, root, config.quic); !ok)
        return ok;
    return read_link(path, root, config.link_simulation);
}

Result<void> load_client_config(const std::string& path, ClientConfig& config)
{
    auto parsed = parse_file(path);
    if (!parsed)
        return parsed.error();
    const toml::table& root = *parsed;
    if (auto key = unknown_key(root, {"client", "quic", "link_simulation"}))
        return config_error(path, "unknown table or key '" + *key + "'");
    if (const auto* client = root["client"].as_table())
    {
        if (auto key =
                unknown_key(*client, {"server_host", "server_port", "server_name", "bind", "tick_rate", "input_delay",
                                      "packet_loss_simulation", "simulation_seed", "pinned_keys", "ca_file",
                                      "enable_early_data", "send_rate_limit", "routes", "route_timeout_ms"}))
            return config_error(path, "unknown key client." + *key);
        read_strings(*client, "routes", config.routes);
        read_ms(*client, "route_timeout_ms", config.route_timeout);
        read(*client, "server_host", config.server_host);
        if (auto ok = read_port(path, *client, "client", "server_port", 1, config.server_port); !ok)
            return ok;
        read(*client, "server_name", config.server_name);
        read(*client, "bind", config.bind_address);
        read(*client, "tick_rate", config.tick_rate);
        read(*client, "input_delay", config.input_delay);
        read(*client, "packet_loss_simulation", config.packet_loss_simulation);
        read(*client, "simulation_seed", config.simulation_seed);
        if (auto file = (*client)["ca_file"].value<std::string>())
            config.ca_file = *file;
        read(*client, "enable_early_data", config.enable_early_data);
        read(*client, "send_rate_limit", config.send_rate_limit);
        read_strings(*client, "pinned_keys", config.pinned_keys);
    }
    if (auto ok = read_quic(path, root, config.quic); !ok)
        return ok;
    return read_link(path, root, config.link_simulation);
}

Result<std::string> read_secret_file(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return make_error(ErrorCode::IoError, "cannot open '" + path + "': " + std::strerror(errno));
    struct stat status
    {};
    if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode))
    {
        ::close(fd);
        return make_error(ErrorCode::InvalidArgument, "'" + path + "' is not a regular file");
    }
    if ((status.st_mode & 077) != 0)
    {
        ::close(fd);
        return make_error(ErrorCode::InvalidArgument,
                          "'" + path + "' holds a secret but others may read it: chmod 600 '" + path + "'");
    }
    std::string text;
    char buffer[4096];
    for (ssize_t got = 1; got > 0 && text.size() <= 64 * 1024;)
    {
        got = ::read(fd, buffer, sizeof buffer);
        if (got > 0)
            text.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    if (text.size() > 64 * 1024)
        return make_error(ErrorCode::InvalidArgument, "'" + path + "' is larger than a secret");
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    return first == std::string::npos ? std::string{} : text.substr(first, last - first + 1);
}

std::optional<std::string> take_secret_from_environment(const char* name)
{
    const char* value = std::getenv(name);
    if (!value)
        return std::nullopt;
    std::string secret(value);
    ::unsetenv(name);
    return secret;
}

}  // namespace eustress::net::apps
