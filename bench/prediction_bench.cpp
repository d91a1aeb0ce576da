// The cost of rollback: 100 predicted entities, each rolled back 10 ticks and re-simulated, timed together.
//
//   eustress-bench-prediction [--placement LABEL]      (JSON lines, bench/run.sh's format)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "eustress/net/prediction.hpp"

using namespace eustress::net;

namespace {

struct Body
{
    Vec3 position;
    Vec3 velocity;
};
struct Stick
{
    float x = 0;
    float y = 0;
};

PredictionModel<Body, Stick> model()
{
    PredictionModel<Body, Stick> game;
    game.step = [](Body& body, const Stick& stick, Tick) {
        // A little physics so the step is not free: acceleration, drag, integration.
        constexpr float dt = 1.0f / 60.0f;
        body.velocity.x += (stick.x * 40.0f - body.velocity.x * 4.0f) * dt;
        body.velocity.y += (stick.y * 40.0f - body.velocity.y * 4.0f) * dt;
        body.position.x += body.velocity.x * dt;
        body.position.y += body.velocity.y * dt;
    };
    game.error = [](const Body& a, const Body& b) {
        return std::hypot(a.position.x - b.position.x, a.position.y - b.position.y);
    };
    game.position = [](const Body& body) {
        return body.position;
    };
    return game;
}

}  // namespace

int main(int argc, char** argv)
{
    eustress::bench::Options options;
    options.bench = "rollback";
    options.placement = argc > 2 && std::string(argv[1]) == "--placement" ? argv[2] : "one-core";
    options.size = 100;
    constexpr std::size_t kEntities = 100;
    constexpr Tick kTicks = 10;
    std::vector<Predictor<Body, Stick>> entities;
    for (std::size_t i = 0; i < kEntities; ++i)
    {
        entities.emplace_back(model(), Body{}, 0);
        for (Tick tick = 1; tick <= kTicks; ++tick)
            entities.back().predict(Stick{std::sin(static_cast<float>(tick + i)), std::cos(static_cast<float>(tick))});
    }
    const Timestamp now = timestamp_from(std::chrono::seconds(1));
    std::vector<double> samples;
    for (int round = 0; round < 2000; ++round)
    {
        const Body authoritative{{static_cast<float>(round % 7) + 1.0f, 0, 0}, {}};
        const auto start = eustress::bench::Clock::now();
        for (auto& entity : entities)
            entity.confirm(0, authoritative, now);  // the oldest tick: everything after it is simulated again
        samples.push_back(eustress::bench::microseconds(eustress::bench::Clock::now() - start));
    }
    std::uint64_t resimulated = 0, rollbacks = 0;
    for (const auto& entity : entities)
        resimulated += entity.stats().resimulated_ticks, rollbacks += entity.stats().rollbacks;
    eustress::bench::report(options, "eustress", "rollback_10_ticks_100_entities_median",
                            eustress::bench::percentile(samples, 0.5), "us");
    eustress::bench::report(options, "eustress", "rollback_10_ticks_100_entities_p99",
                            eustress::bench::percentile(samples, 0.99), "us");
    eustress::bench::report(options, "eustress", "resimulated_ticks_per_rollback",
                            static_cast<double>(resimulated) / static_cast<double>(rollbacks), "ticks");
    return 0;
}
