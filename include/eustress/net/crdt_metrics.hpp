// A document's statistics in a MetricsRegistry (and so on /metrics): merges, refusals by reason, collected
// tombstones, live entities and records held.
//
//     crdt::DocumentMetrics metrics(server.metrics());   // looks every series up once
//     metrics.update(world);                             // each tick, or before a scrape
#pragma once

#include <array>

#include "eustress/net/crdt.hpp"
#include "eustress/net/metrics.hpp"

namespace eustress::net::crdt {

class DocumentMetrics
{
  public:
    explicit DocumentMetrics(MetricsRegistry& registry);
    void update(const Document& document) noexcept;

  private:
    Counter* m_merged;
    std::array<Counter*, kRefusalCount> m_refused{};
    Counter* m_collected;
    Gauge* m_entities;
    Gauge* m_records;
};

}  // namespace eustress::net::crdt
