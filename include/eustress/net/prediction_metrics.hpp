// Prediction's totals in a metrics registry: inputs on the server (InputBuffer: how many arrived in time, late,
// repeated) and rollbacks on the client (Predictor). Totals over all clients and objects, never per player.
//
//     InputMetrics input_metrics(server.metrics());
//     input_buffer.attach_metrics(&input_metrics);          // the metrics object must outlive the buffer
//     PredictionMetrics prediction_metrics(client.metrics());
//     predictor.attach_metrics(&prediction_metrics);
#pragma once

#include "eustress/net/metrics.hpp"

namespace eustress::net {

struct InputMetrics
{
    explicit InputMetrics(MetricsRegistry& registry);

    /// eustress_inputs_total{outcome}: used on their tick, repeated (none in time), late, too far ahead,
    /// duplicates (redundant copies, expected), and malformed packets.
    Counter* used;
    Counter* repeated;
    Counter* late;
    Counter* too_far_ahead;
    Counter* duplicates;
    Counter* malformed_packets;
};

struct PredictionMetrics
{
    explicit PredictionMetrics(MetricsRegistry& registry);

    Counter* predicted_ticks;
    Counter* rollbacks;
    Counter* resimulated_ticks;
    /// Ticks re-simulated by each rollback: how far back the server's corrections reach.
    Histogram* rollback_depth;
};

}  // namespace eustress::net
