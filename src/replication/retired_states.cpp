#include "replication/retired_states.hpp"

#include <algorithm>

namespace eustress::net::replication {

void RetiredStates::retire(QuantizedEntityPtr state, Tick tick)
{
    mark(*state, tick);
    m_states.push_back(std::move(state));
}

void RetiredStates::mark(const QuantizedEntity& state, Tick tick) noexcept
{
    state.last_named = tick;
}

void RetiredStates::release_older_than(Tick horizon, std::size_t period)
{
    // Each call passes over a share of the list and the list only shrinks behind the cursor, so every state is
    // looked at within `period` calls. Bounded: each step frees one state or passes one.
    const std::size_t share = m_states.size() / std::max<std::size_t>(period, 1) + 1;
    std::size_t passed = 0;
    while (passed < share && !m_states.empty())
    {
        if (m_cursor >= m_states.size())
            m_cursor = 0;
        if (tick_difference(m_states[m_cursor]->last_named, horizon) < 0)
        {
            // The last one takes its place (order does not matter) and is looked at next.
            m_states[m_cursor] = std::move(m_states.back());
            m_states.pop_back();
        }
        else
        {
            ++m_cursor;
            ++passed;
        }
    }
}

}  // namespace eustress::net::replication
