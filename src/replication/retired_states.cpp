#include "replication/retired_states.hpp"

#include <algorithm>

namespace eustress::net::replication {

void RetiredStates::retire(QuantizedEntityPtr state, Tick tick)
{
    mark(*state, tick);
    retire_marked(std::move(state), tick);
}

void RetiredStates::retire_marked(QuantizedEntityPtr state, Tick tick)
{
    m_recent.push_back({std::move(state), tick});
}

void RetiredStates::mark(const QuantizedEntity& state, Tick tick) noexcept
{
    state.last_named = tick;
}

void RetiredStates::release_older_than(Tick horizon, std::size_t period)
{
    // Most states are named by no record by the time the horizon passes their retirement: freed then, in order.
    while (!m_recent.empty() && tick_difference(m_recent.front().retired, horizon) < 0)
    {
        if (tick_difference(m_recent.front().state->last_named, horizon) >= 0)
            m_named.push_back(std::move(m_recent.front().state));
        m_recent.pop_front();
    }
    release_named(horizon, period);
}

void RetiredStates::release_named(Tick horizon, std::size_t period)
{
    // Each call passes over a share of the list and the list only shrinks behind the cursor, so every state is
    // looked at within `period` calls. Bounded: each step frees one state or passes one.
    const std::size_t share = m_named.size() / std::max<std::size_t>(period, 1) + 1;
    std::size_t passed = 0;
    while (passed < share && !m_named.empty())
    {
        if (m_cursor >= m_named.size())
            m_cursor = 0;
        if (tick_difference(m_named[m_cursor]->last_named, horizon) < 0)
        {
            // The last one takes its place (order does not matter) and is looked at next.
            m_named[m_cursor] = std::move(m_named.back());
            m_named.pop_back();
        }
        else
        {
            ++m_cursor;
            ++passed;
        }
    }
}

}  // namespace eustress::net::replication
