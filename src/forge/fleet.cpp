#include "forge/fleet.hpp"

#include <nlohmann/json.hpp>

namespace eustress::net::forge {

namespace {

using nlohmann::json;

constexpr const char* kStates[] = {"Starting", "Ready", "Allocated", "Draining", "Shutdown"};

ForgeResult<json> parse_object(std::string_view text, const char* what)
{
    auto parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
        return forge_error(ForgeErrc::Corrupt, std::string(what) + " is not a JSON object");
    return parsed;
}

template <typename T> ForgeResult<void> read(const json& object, const char* field, T& out, const char* what)
{
    const auto found = object.find(field);
    if (found == object.end())
        return forge_error(ForgeErrc::Corrupt, std::string(what) + " has no " + field);
    try
    {
        out = found->get<T>();
    }
    catch (const json::exception&)
    {
        return forge_error(ForgeErrc::Corrupt, std::string(what) + "." + field + " has the wrong type");
    }
    return {};
}

}  // namespace

const char* to_string(ServerState state) noexcept
{
    return kStates[static_cast<std::size_t>(state)];
}

std::optional<ServerState> server_state_from(std::string_view name) noexcept
{
    for (std::size_t i = 0; i < std::size(kStates); ++i)
        if (name == kStates[i])
            return static_cast<ServerState>(i);
    return std::nullopt;
}

std::string ServerRecord::to_json() const
{
    return json{{"id", id},
                {"agent", agent},
                {"region", region},
                {"mode", mode},
                {"address", address},
                {"pin", pin},
                {"capacity", capacity},
                {"players", players},
                {"state", forge::to_string(state)},
                {"allocation", allocation},
                {"allocated_unix", allocated_unix}}
        .dump();
}

ForgeResult<ServerRecord> ServerRecord::from_json(std::string_view text)
{
    auto object = parse_object(text, "server record");
    if (!object)
        return object.error();
    ServerRecord record;
    std::string state;
    for (auto result :
         {read(*object, "id", record.id, "server record"), read(*object, "agent", record.agent, "server record"),
          read(*object, "region", record.region, "server record"), read(*object, "mode", record.mode, "server record"),
          read(*object, "address", record.address, "server record"), read(*object, "pin", record.pin, "server record"),
          read(*object, "capacity", record.capacity, "server record"),
          read(*object, "players", record.players, "server record"), read(*object, "state", state, "server record"),
          read(*object, "allocation", record.allocation, "server record"),
          read(*object, "allocated_unix", record.allocated_unix, "server record")})
        if (!result)
            return result.error();
    const auto parsed_state = server_state_from(state);
    if (!parsed_state)
        return forge_error(ForgeErrc::Corrupt, "server record has an unknown state '" + state + "'");
    record.state = *parsed_state;
    return record;
}

std::string AgentRecord::to_json() const
{
    return json{{"id", id}, {"region", region}, {"api", api}, {"max_servers", max_servers}}.dump();
}

ForgeResult<AgentRecord> AgentRecord::from_json(std::string_view text)
{
    auto object = parse_object(text, "agent record");
    if (!object)
        return object.error();
    AgentRecord record;
    for (auto result :
         {read(*object, "id", record.id, "agent record"), read(*object, "region", record.region, "agent record"),
          read(*object, "api", record.api, "agent record"),
          read(*object, "max_servers", record.max_servers, "agent record")})
        if (!result)
            return result.error();
    return record;
}

std::string DesiredServers::to_json() const
{
    return json(by_mode).dump();
}

ForgeResult<DesiredServers> DesiredServers::from_json(std::string_view text)
{
    auto object = parse_object(text, "desired servers");
    if (!object)
        return object.error();
    DesiredServers desired;
    for (const auto& [mode, count] : object->items())
    {
        if (!count.is_number_unsigned())
            return forge_error(ForgeErrc::Corrupt, "desired servers of '" + mode + "' is not a count");
        desired.by_mode[mode] = count.get<std::uint32_t>();
    }
    return desired;
}

}  // namespace eustress::net::forge
