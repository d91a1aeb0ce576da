#include <string>

#include "eustress/net/crdt_metrics.hpp"

namespace eustress::net::crdt {

DocumentMetrics::DocumentMetrics(MetricsRegistry& registry)
    : m_merged(&registry.counter("eustress_crdt_merged_total", "Deltas and snapshots merged").with({})),
      m_collected(
          &registry.counter("eustress_crdt_collected_total", "Dead entities whose tombstones were collected").with({})),
      m_entities(&registry.gauge("eustress_crdt_entities", "Live entities in the world document").with({})),
      m_records(&registry.gauge("eustress_crdt_records", "Entity records held, tombstones included").with({}))
{
    auto& refused =
        registry.counter("eustress_crdt_refused_total", "Deltas and snapshots refused, by reason", {"reason"});
    for (std::size_t reason = 0; reason < kRefusalCount; ++reason)
        m_refused[reason] = &refused.with({refusal_name(static_cast<Refusal>(reason))});
}

void DocumentMetrics::update(const Document& document) noexcept
{
    const DocumentStats& stats = document.stats();
    m_merged->advance_to(stats.merged);
    m_collected->advance_to(stats.collected);
    for (std::size_t reason = 0; reason < kRefusalCount; ++reason)
        m_refused[reason]->advance_to(stats.refused[reason]);
    m_entities->set(static_cast<double>(document.size()));
    m_records->set(static_cast<double>(document.records()));
}

}  // namespace eustress::net::crdt
