// Soak: one server process and N bot clients on real QUIC over loopback for a long time, with clients joining,
// leaving politely, vanishing without a word, and traffic on every channel kind. The server's resident memory is
// sampled each second and must stay flat after warm-up; at the end its connections, handshakes and file
// descriptors must return to where they started.
//
//   eustress-bench-soak --clients 500 --seconds 600 [--placement two-cores|same-core] [--samples FILE]
//
// Prints progress each 10 s to stderr and JSON result lines (bench/run.sh's format) to stdout; --samples writes
// the per-second samples as CSV for bench/plot_series.py.
#include <algorithm>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <malloc.h>
#include <poll.h>
#include <random>
#include <sched.h>
#include <signal.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <sys/wait.h>

#include "bench_common.hpp"
#include "eustress/net/client.hpp"
#include "eustress/net/server.hpp"

using namespace eustress::net;
using namespace std::chrono_literals;

namespace {

volatile std::sig_atomic_t g_stop = 0;

std::size_t open_descriptors()
{
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++count;
    return count;
}

void pin_to(pid_t pid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(pid, sizeof set, &set);
}

/// The server child: echoes every message on its channel, and reports a line per second on `report_fd`:
/// "seconds clients pending descriptors accepted heap_in_use_kib" (the allocator's live bytes: RSS can grow from
/// fragmentation alone, live bytes only from what we keep).
[[noreturn]] void serve(int port_fd, int report_fd, const std::filesystem::path& certificates)
{
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    ServerConfig config;
    config.bind_address = "127.0.0.1";
    config.port = 0;
    config.max_clients = 4096;
    config.max_pending_handshakes = 1024;
    config.development_certificate_directory = certificates;
    auto server = std::move(Server::create(config, MonotonicClock::now())).value();
    const std::uint16_t port = server->local_address().port();
    const std::string pin = server->certificate_pin().to_base64();
    const std::string hello = std::to_string(port) + " " + pin + "\n";
    if (write(port_fd, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size()))
        _exit(2);
    close(port_fd);
    const Timestamp start = MonotonicClock::now();
    Timestamp next_report = start;
    while (!g_stop)
    {
        Timestamp now = MonotonicClock::now();
        server->receive(now);
        while (auto event = server->poll_event())
            if (auto* message = std::get_if<MessageEvent>(&*event))
                (void)server->send(message->from, message->channel, message->data, now);
        server->flush(now);
        if (now >= next_report)
        {
            const auto stats = server->stats();
            char line[160];
            const int length = std::snprintf(line, sizeof line, "%.1f %zu %zu %zu %" PRIu64 " %zu\n",
                                             std::chrono::duration<double>(now - start).count(),
                                             stats.connected_clients, stats.pending_handshakes, open_descriptors(),
                                             stats.connections_accepted, mallinfo2().uordblks / 1024);
            if (write(report_fd, line, static_cast<std::size_t>(length)) < 0)
                break;
            next_report += 1s;
        }
        const auto wait = std::clamp(server->next_wakeup() - MonotonicClock::now(), Duration(0), Duration(5ms));
        pollfd socket{server->native_handle(), POLLIN, 0};
        poll(&socket, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    }
    server->shutdown(MonotonicClock::now());
    _exit(0);
}

struct Sample
{
    double seconds = 0;
    long server_rss_kib = 0;
    std::size_t clients = 0;
    std::size_t pending = 0;
    std::size_t descriptors = 0;
    std::uint64_t accepted = 0;
    std::size_t heap_kib = 0;
};

struct Bot
{
    std::unique_ptr<Client> client;
    Timestamp next_send{};
    std::uint64_t sent = 0;
    std::uint64_t echoed = 0;
    bool has_queued = false;  ///< sent since its last update
};

struct Totals
{
    std::uint64_t connects = 0, polite_leaves = 0, vanished = 0, lost = 0, sent = 0, echoed = 0, send_refused = 0;
};

/// Reads whatever report lines the server wrote.
void read_reports(int fd, std::string& pending, std::vector<Sample>& samples, pid_t server)
{
    char buffer[4096];
    for (;;)
    {
        const ssize_t got = read(fd, buffer, sizeof buffer);
        if (got <= 0)
            break;
        pending.append(buffer, static_cast<std::size_t>(got));
    }
    for (std::size_t end; (end = pending.find('\n')) != std::string::npos; pending.erase(0, end + 1))
    {
        Sample sample;
        if (std::sscanf(pending.c_str(), "%lf %zu %zu %zu %" SCNu64 " %zu", &sample.seconds, &sample.clients,
                        &sample.pending, &sample.descriptors, &sample.accepted, &sample.heap_kib) == 6)
        {
            sample.server_rss_kib = eustress::bench::resident_kib(std::to_string(server));
            samples.push_back(sample);
        }
    }
}

void report(const std::string& placement, const char* metric, double value, const char* unit, std::size_t clients)
{
    std::printf("{\"bench\": \"soak\", \"metric\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"peer\": \"eustress\", "
                "\"placement\": \"%s\", \"size\": %zu}\n",
                metric, value, unit, placement.c_str(), clients);
    std::fflush(stdout);
}

/// Least-squares slope over time, KiB per minute, of one figure of the samples.
template <typename Figure> double slope_kib_per_minute(const std::vector<Sample>& samples, Figure figure)
{
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const Sample& s : samples)
    {
        const double x = s.seconds / 60.0, y = static_cast<double>(figure(s));
        n += 1, sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    const double denominator = n * sxx - sx * sx;
    return denominator > 0 ? (n * sxy - sx * sy) / denominator : 0.0;
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-bench-soak: many bot clients against one server for a long time"};
    std::size_t count = 500;
    double seconds = 600;
    double warm_up = 60;
    std::string placement = "two-cores";
    std::string samples_file;
    app.add_option("--clients", count, "bot clients")->check(CLI::Range(1, 4000));
    app.add_option("--seconds", seconds, "how long the bots play")->check(CLI::Range(5.0, 7200.0));
    app.add_option("--warm-up", warm_up, "seconds excluded from the flatness figures");
    app.add_option("--placement", placement, "two-cores (server on CPU 0, bots on CPU 1) or same-core");
    app.add_option("--samples", samples_file, "CSV of per-second samples");
    CLI11_PARSE(app, argc, argv);

    const auto certificates = std::filesystem::temp_directory_path() / "eustress-soak-certs";
    int port_pipe[2], report_pipe[2];
    if (pipe(port_pipe) != 0 || pipe(report_pipe) != 0)
        return 1;
    std::fflush(nullptr);
    const pid_t server = fork();
    if (server == 0)
    {
        close(port_pipe[0]);
        close(report_pipe[0]);
        serve(port_pipe[1], report_pipe[1], certificates);
    }
    close(port_pipe[1]);
    close(report_pipe[1]);
    fcntl(report_pipe[0], F_SETFL, O_NONBLOCK);
    pin_to(server, 0);
    pin_to(0, placement == "same-core" ? 0 : 1);

    char hello[128] = {};
    pollfd ready{port_pipe[0], POLLIN, 0};
    if (poll(&ready, 1, 30000) != 1 || read(port_pipe[0], hello, sizeof hello - 1) <= 0)
    {
        std::fprintf(stderr, "soak: the server did not start\n");
        kill(server, SIGKILL);
        return 1;
    }
    int port = 0;
    char pin[64] = {};
    std::sscanf(hello, "%d %63s", &port, pin);

    ClientConfig config;
    config.server_host = "127.0.0.1";
    config.server_port = static_cast<std::uint16_t>(port);
    config.bind_address = "127.0.0.1";
    config.server_name = "localhost";
    config.pinned_keys = {pin};
    config.reconnect.enabled = false;  // the soak decides who comes and goes

    std::mt19937 random(7);
    std::vector<Bot> bots(count);
    Totals totals;
    std::vector<Sample> samples;
    std::string report_buffer;
    const std::vector<std::byte> small(96, std::byte{1}), medium(600, std::byte{2}), large(3000, std::byte{3});

    auto connect = [&](Bot& bot, Timestamp now) {
        auto created = Client::create(config, now);
        if (!created)
        {
            std::fprintf(stderr, "soak: %s\n", created.error().message.c_str());
            return;
        }
        bot.client = std::move(created).value();
        bot.next_send = now + std::chrono::milliseconds(random() % 1000);
        ++totals.connects;
    };
    auto retire = [&](Bot& bot, Timestamp now, bool politely) {
        if (!bot.client)
            return;
        if (politely)
        {
            bot.client->disconnect("soak churn", now);
            ++totals.polite_leaves;
        }
        else
            ++totals.vanished;  // the process "crashed": the server finds out by idle timeout
        totals.sent += bot.sent;
        totals.echoed += bot.echoed;
        bot = Bot{};
    };

    const Timestamp start = MonotonicClock::now();
    const Timestamp end = start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
    Timestamp next_churn = start + 1s;
    Timestamp next_progress = start + 10s;
    std::size_t ramped = 0;
    std::vector<pollfd> fds;
    std::vector<std::size_t> fd_owner;

    std::fprintf(stderr, "soak: %zu bots for %.0f s against 127.0.0.1:%d [%s]\n", count, seconds, port,
                 placement.c_str());
    while (MonotonicClock::now() < end)
    {
        Timestamp now = MonotonicClock::now();
        // Ramp up at 100 connections per second, so the start is not one handshake flood.
        const auto due = static_cast<std::size_t>(std::chrono::duration<double>(now - start).count() * 100.0) + 1;
        for (; ramped < std::min(due, count); ++ramped)
            connect(bots[ramped], now);
        if (now >= next_churn)
        {
            // Each second 1% leave politely and 0.5% vanish; all are replaced at once by new clients.
            for (Bot& bot : bots)
            {
                if (!bot.client)
                    continue;
                const auto roll = random() % 1000;
                if (roll < 10 || roll >= 995)
                {
                    retire(bot, now, roll < 10);
                    connect(bot, now);
                }
            }
            next_churn += 1s;
        }
        fds.clear();
        fd_owner.clear();
        Timestamp wakeup = now + 5ms;
        for (std::size_t i = 0; i < bots.size(); ++i)
        {
            Bot& bot = bots[i];
            if (!bot.client)
                continue;
            if (bot.client->is_connected() && now >= bot.next_send)
            {
                // Every channel kind: reliable ordered, unreliable (sometimes fragmented), sequenced, and a
                // reliable unordered message spanning packets.
                const bool fragmented = random() % 10 == 0;
                const std::vector<std::byte>* payloads[] = {&small, fragmented ? &large : &medium, &small, &large};
                for (ChannelId channel = 0; channel < 4; ++channel)
                {
                    if (bot.client->send(channel, *payloads[channel], now).ok())
                        ++bot.sent;
                    else
                        ++totals.send_refused;
                }
                bot.next_send = now + 500ms;
                bot.has_queued = true;
            }
            if (bot.client->is_disconnected())
            {
                ++totals.lost;
                retire(bot, now, false);
                connect(bot, now);
                continue;
            }
            fds.push_back({bot.client->native_handle(), POLLIN, 0});
            fd_owner.push_back(i);
            wakeup = std::min({wakeup, bot.client->next_wakeup(), bot.next_send});
        }
        const auto wait = std::clamp(wakeup - MonotonicClock::now(), Duration(0), Duration(5ms));
        poll(fds.data(), fds.size(), static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
        now = MonotonicClock::now();
        for (std::size_t k = 0; k < fds.size(); ++k)
        {
            Bot& bot = bots[fd_owner[k]];
            if (!(fds[k].revents & POLLIN) && bot.client->next_wakeup() > now && !bot.has_queued)
                continue;
            bot.has_queued = false;
            bot.client->update(now);
            while (auto event = bot.client->poll_event())
                if (std::holds_alternative<MessageEvent>(*event))
                    ++bot.echoed;
        }
        read_reports(report_pipe[0], report_buffer, samples, server);
        if (now >= next_progress)
        {
            const Sample last = samples.empty() ? Sample{} : samples.back();
            std::fprintf(stderr,
                         "soak: %4.0f s  clients %zu  pending %zu  server RSS %ld KiB  heap %zu KiB  connects %" PRIu64
                         "\n",
                         std::chrono::duration<double>(now - start).count(), last.clients, last.pending,
                         last.server_rss_kib, last.heap_kib, totals.connects);
            next_progress += 10s;
        }
    }

    // The end: half leave politely, half vanish; the server must come back to zero by itself.
    const Timestamp finish = MonotonicClock::now();
    std::size_t index = 0;
    for (Bot& bot : bots)
        retire(bot, finish, index++ % 2 == 0);
    const std::size_t descriptors_before = samples.empty() ? 0 : samples.front().descriptors;
    bool drained = false;
    for (int i = 0; i < 300 && !drained; ++i)
    {
        std::this_thread::sleep_for(100ms);
        read_reports(report_pipe[0], report_buffer, samples, server);
        drained = !samples.empty() && samples.back().seconds > std::chrono::duration<double>(finish - start).count() &&
                  samples.back().clients == 0 && samples.back().pending == 0;
    }
    kill(server, SIGTERM);
    waitpid(server, nullptr, 0);

    std::vector<Sample> steady;
    for (const Sample& s : samples)
        if (s.seconds >= warm_up && s.seconds <= std::chrono::duration<double>(finish - start).count())
            steady.push_back(s);
    long low = 0, high = 0;
    if (!steady.empty())
    {
        low = std::min_element(steady.begin(), steady.end(), [](auto& a, auto& b) {
                  return a.server_rss_kib < b.server_rss_kib;
              })->server_rss_kib;
        high = std::max_element(steady.begin(), steady.end(), [](auto& a, auto& b) {
                   return a.server_rss_kib < b.server_rss_kib;
               })->server_rss_kib;
    }
    const Sample last = samples.empty() ? Sample{} : samples.back();
    report(placement, "rss_after_warm_up_min", static_cast<double>(low), "KiB", count);
    report(placement, "rss_after_warm_up_max", static_cast<double>(high), "KiB", count);
    report(placement, "rss_slope_after_warm_up",
           slope_kib_per_minute(steady, [](const Sample& s) { return s.server_rss_kib; }), "KiB/min", count);
    report(placement, "heap_in_use_slope_after_warm_up",
           slope_kib_per_minute(steady, [](const Sample& s) { return s.heap_kib; }), "KiB/min", count);
    if (!steady.empty())
    {
        report(placement, "heap_in_use_after_warm_up_first", static_cast<double>(steady.front().heap_kib), "KiB",
               count);
        report(placement, "heap_in_use_after_warm_up_last", static_cast<double>(steady.back().heap_kib), "KiB", count);
    }
    report(placement, "connects", static_cast<double>(totals.connects), "count", count);
    report(placement, "polite_leaves", static_cast<double>(totals.polite_leaves), "count", count);
    report(placement, "vanished", static_cast<double>(totals.vanished), "count", count);
    report(placement, "unexpected_disconnects", static_cast<double>(totals.lost), "count", count);
    report(placement, "messages_sent", static_cast<double>(totals.sent), "count", count);
    report(placement, "echoes_received", static_cast<double>(totals.echoed), "count", count);
    report(placement, "sends_refused", static_cast<double>(totals.send_refused), "count", count);
    report(placement, "end_clients", static_cast<double>(last.clients), "count", count);
    report(placement, "end_pending_handshakes", static_cast<double>(last.pending), "count", count);
    report(placement, "end_descriptors_minus_start",
           static_cast<double>(last.descriptors) - static_cast<double>(descriptors_before), "count", count);
    report(placement, "drained", drained ? 1.0 : 0.0, "bool", count);
    if (!samples_file.empty())
    {
        std::ofstream csv(samples_file);
        csv << "seconds,server_rss_kib,heap_in_use_kib,clients,pending,descriptors,accepted\n";
        for (const Sample& s : samples)
            csv << s.seconds << ',' << s.server_rss_kib << ',' << s.heap_kib << ',' << s.clients << ',' << s.pending
                << ',' << s.descriptors << ',' << s.accepted << '\n';
    }
    return drained && last.descriptors == descriptors_before ? 0 : 1;
}
