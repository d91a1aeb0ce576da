#include "eustress/net/prediction_metrics.hpp"

namespace eustress::net {

InputMetrics::InputMetrics(MetricsRegistry& registry)
{
    auto& inputs =
        registry.counter("eustress_inputs_total", "Client inputs on the server, by what became of them", {"outcome"});
    used = &inputs.with({"used"});
    repeated = &inputs.with({"repeated"});
    late = &inputs.with({"late"});
    too_far_ahead = &inputs.with({"too_far_ahead"});
    duplicates = &inputs.with({"duplicate"});
    malformed_packets = &inputs.with({"malformed_packet"});
}

PredictionMetrics::PredictionMetrics(MetricsRegistry& registry)
    : predicted_ticks(&registry.counter("eustress_prediction_ticks_total", "Ticks predicted locally").with({})),
      rollbacks(&registry.counter("eustress_prediction_rollbacks_total", "Mispredictions rolled back").with({})),
      resimulated_ticks(
          &registry.counter("eustress_prediction_resimulated_ticks_total", "Ticks re-simulated by rollbacks").with({})),
      rollback_depth(&registry
                          .histogram("eustress_prediction_rollback_depth_ticks", "Ticks re-simulated per rollback",
                                     {1, 2, 4, 8, 16, 32, 64})
                          .with({}))
{}

}  // namespace eustress::net
