// Random edits on several replicas over a hostile in-memory network: random delivery order, duplicates, losses
// redelivered later, and partitions. Seeded and bounded, for the convergence properties.
#pragma once

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "crdt/crdt_fixture.hpp"

namespace eustress::net::crdt::testing {

struct NetworkFaults
{
    double duplicate = 0.1;
    double loss = 0.1;               ///< a lost message comes back at the end (redelivery after a long outage)
    double partition_start = 0.005;  ///< per step: split the replicas into two groups
    double partition_heal = 0.05;
    double collect = 0.02;  ///< per step: a random replica collects garbage
};

/// Everything a game can see: live entities, their components, counters, logs and sequences (in order).
inline std::string visible_state(const Document& document, std::size_t component_types)
{
    std::ostringstream out;
    for (const EntityKey key : document.entities())
    {
        out << key << ':';
        for (ComponentId c = 0; c < component_types; ++c)
        {
            if (const auto value = document.get(key, c))
                out << " r" << c << '=' << text_of(value);
            if (const auto count = document.counter(key, c); count && *count != 0)
                out << " n" << c << '=' << *count;
            for (const Bytes entry : document.log(key, c))
                out << " l" << c << '=' << text_of(entry);
            for (const SequenceElement& element : document.sequence(key, c))
                out << " s" << c << '=' << element.id.hlc << '@' << element.id.replica << ':' << text_of(element.value);
        }
        out << '\n';
    }
    return out.str();
}

class RandomWorld
{
  public:
    RandomWorld(std::size_t replicas, std::uint64_t seed, NetworkFaults faults, bool collect_garbage)
        : m_replicas(make_replicas(replicas)), m_deltas(replicas), m_random(seed), m_faults(faults),
          m_collect(collect_garbage), m_group(replicas, 0)
    {}

    void run(std::size_t steps)
    {
        for (std::size_t step = 0; step < steps; ++step)
        {
            m_now += WallTime{1};
            const std::size_t who = pick(m_replicas.size());
            edit(who);
            if (chance(0.2))
                send(who);
            if (chance(0.5))
                deliver_one();
            faults();
        }
    }

    /// Heals the partition, flushes every delta, redelivers all lost messages and exchanges progress until
    /// every replica knows what the others have (so garbage collection can finish too).
    void settle()
    {
        std::fill(m_group.begin(), m_group.end(), 0);
        for (std::size_t i = 0; i < m_replicas.size(); ++i)
            send(i);
        m_in_flight.insert(m_in_flight.end(), m_lost.begin(), m_lost.end());
        m_lost.clear();
        for (int round = 0; round < 4; ++round)
        {
            while (!m_in_flight.empty())
                deliver_one(false);
            for (std::size_t i = 0; i < m_replicas.size(); ++i)
            {
                send(i);
                if (m_collect)
                    m_replicas[i].collect_garbage();
            }
        }
    }

    std::vector<Document>& replicas() noexcept { return m_replicas; }
    std::size_t refused() const
    {
        std::size_t total = 0;
        for (const auto& replica : m_replicas)
            total += replica.stats().refused_total();
        return total;
    }

  private:
    struct Message
    {
        std::size_t to;
        std::size_t from;
        std::vector<std::byte> bytes;
    };

    std::size_t pick(std::size_t count) { return std::uniform_int_distribution<std::size_t>(0, count - 1)(m_random); }
    bool chance(double p) { return std::bernoulli_distribution(p)(m_random); }
    Bytes random_value()
    {
        static const char* const values[] = {"a", "bb", "ccc", "dddd", "", "a-much-longer-value-than-the-rest"};
        return bytes_of(values[pick(6)]);
    }

    void edit(std::size_t who)
    {
        Document& replica = m_replicas[who];
        Delta& delta = m_deltas[who];
        const auto live = replica.entities();
        const auto component = static_cast<ComponentId>(pick(4));
        const int action = static_cast<int>(pick(12));
        if (live.empty() || action == 0)
            m_known.push_back(*replica.spawn(m_now, delta));
        else if (action == 1)
            replica.despawn(live[pick(live.size())], m_now, delta);
        else if (action == 2)
            replica.respawn(m_known[pick(m_known.size())], m_now, delta);
        else if (action == 3)
            replica.add(live[pick(live.size())], component, static_cast<std::int64_t>(pick(11)) - 5, m_now, delta);
        else if (action == 4)
            replica.append(live[pick(live.size())], component, random_value(), m_now, delta);
        else if (action == 5 || action == 6 || action == 7)
            edit_sequence(replica, live[pick(live.size())], component, action == 7, delta);
        else
            replica.set(live[pick(live.size())], component, random_value(), m_now, delta);
    }

    /// Inserts after a random visible element (or at the front), or removes one.
    void edit_sequence(Document& replica, EntityKey entity, ComponentId component, bool remove, Delta& delta)
    {
        const auto elements = replica.sequence(entity, component);
        const std::size_t at = pick(elements.size() + 1);  // elements.size(): the front
        if (remove && at < elements.size())
            replica.remove_element(entity, component, elements[at].id, m_now, delta);
        else if (!remove)
            replica.insert_after(entity, component,
                                 at < elements.size() ? std::optional<Stamp>(elements[at].id) : std::nullopt,
                                 random_value(), m_now, delta);
    }

    void send(std::size_t from)
    {
        const auto bytes = m_replicas[from].encode(m_deltas[from]);  // empty deltas still carry progress
        m_deltas[from].clear();
        for (std::size_t to = 0; to < m_replicas.size(); ++to)
            if (to != from)
                m_in_flight.push_back(Message{to, from, bytes});
    }

    void deliver_one(bool faulty = true)
    {
        if (m_in_flight.empty())
            return;
        const std::size_t at = pick(m_in_flight.size());
        Message message = std::move(m_in_flight[at]);
        m_in_flight.erase(m_in_flight.begin() + static_cast<std::ptrdiff_t>(at));
        if (faulty && m_group[message.to] != m_group[message.from])
        {
            m_in_flight.push_back(std::move(message));  // held until the partition heals
            return;
        }
        if (faulty && chance(m_faults.loss))
        {
            m_lost.push_back(std::move(message));
            return;
        }
        if (faulty && chance(m_faults.duplicate))
            m_in_flight.push_back(message);
        (void)m_replicas[message.to].merge(message.bytes, m_now);
    }

    void faults()
    {
        if (chance(m_faults.partition_start))
            for (auto& group : m_group)
                group = static_cast<int>(pick(2));
        if (chance(m_faults.partition_heal))
            std::fill(m_group.begin(), m_group.end(), 0);
        // Drawn with or without collection, so runs that differ only in collecting see the same edits.
        const bool collect = chance(m_faults.collect);
        const std::size_t collector = pick(m_replicas.size());
        if (m_collect && collect)
            m_replicas[collector].collect_garbage();
    }

    std::vector<Document> m_replicas;
    std::vector<Delta> m_deltas;
    std::mt19937_64 m_random;
    NetworkFaults m_faults;
    bool m_collect;
    std::vector<int> m_group;
    std::vector<Message> m_in_flight;
    std::vector<Message> m_lost;
    std::vector<EntityKey> m_known;
    WallTime m_now = kStart;
};

}  // namespace eustress::net::crdt::testing
