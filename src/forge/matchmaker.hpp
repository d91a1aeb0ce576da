// Matchmaking in the manner of Open Match: players queue tickets (mode, region, rating); a matcher groups them into
// matches of the mode's size within a rating window that widens the longer the oldest player waits, allocates a
// server per match, and writes the assignment (address, pin, connect token) into each ticket for its player to poll.
// Tickets live in the store, so any agent's API takes them and only the leader's matcher reads them.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "forge/allocator.hpp"

namespace eustress::net::forge {

struct MatchmakingPolicy
{
    double initial_window = 100;   ///< rating difference accepted at once
    double widen_per_second = 50;  ///< added for each second the oldest ticket of a group has waited
    double max_window = 1000;
    std::chrono::seconds ticket_lifetime{120};  ///< a ticket nobody matched (or fetched) disappears after this
    std::size_t max_tickets = 100000;           ///< queued at once; more are refused (bounded memory)
};

struct MatchRequest
{
    ClientId player{};
    std::string mode;
    std::string region;
    double rating = 1000;
};

struct Ticket
{
    std::string id;
    MatchRequest request;
    std::uint64_t created_ms = 0;  ///< unix milliseconds
    enum class State : std::uint8_t
    {
        Queued,
        Matched,
    } state = State::Queued;
    std::string server_id, address, pin, token;  ///< when matched
    std::uint64_t matched_ms = 0;

    std::string to_json() const;
    static ForgeResult<Ticket> from_json(std::string_view text);
};

struct MatchRound
{
    std::size_t matches = 0;
    std::size_t players_matched = 0;
    std::size_t waiting_for_capacity = 0;  ///< players of groups found but left queued for want of a server
};

class Matchmaker
{
  public:
    Matchmaker(KeyValueStore& store, Allocator& allocator, MatchmakingPolicy policy = {});

    /// A player has one queued ticket at a time: asking again answers the same ticket id. Ticket ids are 128 bits
    /// from the CSPRNG (32 hex digits), so one cannot be guessed.
    /// Errors: Invalid (unknown mode, zero player), QueueFull (max_tickets), Unavailable.
    ForgeResult<std::string> enqueue(const MatchRequest& request, std::uint64_t now_ms);
    ForgeResult<std::optional<Ticket>> ticket(const std::string& id);
    /// One matching pass over every queued ticket (the leader calls it a few times a second).
    ForgeResult<MatchRound> run_once(std::uint64_t now_ms);

  private:
    KeyValueStore& m_store;
    Allocator& m_allocator;
    MatchmakingPolicy m_policy;
};

}  // namespace eustress::net::forge
