// eustress-delay-line: an emulated WAN between two network namespaces, for benchmarks and tests on a kernel without
// `tc netem`. It creates two TUN devices; the caller moves each into its own namespace and addresses them as a
// point-to-point link (tests/integration/wan_lab.py does it all). Every IP packet one side sends is read here, put
// through that direction's LinkModel (loss, bursts, a rate cap with a bounded queue, delay and jitter: see
// delay-line/link_model.hpp) and written to the other side's device at its time. Unmodified programs run across it:
// kernel TCP, our QUIC, ENet, ping.
//
//   eustress-delay-line --a wanA --b wanB --both delay=20ms,jitter=2ms [--a-to-b loss=2%] [--b-to-a ...] [--seed N]
//                       [--realtime] [--schedule 6s:both:rate=300kbit --schedule 16s:both:rate=2mbit ...]
//
// It prints "ready" once both devices exist. On stdin it takes one command a line: "a2b SPEC", "b2a SPEC" or
// "both SPEC" change the named directions (only the keys given), "stats" prints each direction's counters as JSON,
// "quit" (or the end of stdin) stops. It also stops on SIGTERM or SIGINT; it prints the counters as it stops.
// A schedule (delay-line/link_schedule.hpp) changes directions at set times since "ready", as those commands would,
// and says so on stderr (stdout carries only the replies to commands, in order).
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <poll.h>
#include <sched.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>

#include "link_direction.hpp"
#include "link_schedule.hpp"
#include "tun_device.hpp"

using namespace eustress::delay_line;
using eustress::net::MonotonicClock;

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int)
{
    g_stop = 1;
}

struct Line
{
    TunDevice a, b;
    LinkDirection a_to_b, b_to_a;
    LinkSchedule schedule;
    eustress::net::Timestamp started{};
};

void print_stats(const Line& line)
{
    std::printf("%s\n%s\n", line.a_to_b.stats_json().c_str(), line.b_to_a.stats_json().c_str());
}

/// Changes the directions `verb` names ("a2b", "b2a" or "both") by `spec`, and says so (or why not) on `out`.
void change(Line& line, const std::string& verb, const std::string& spec, std::FILE* out, eustress::net::Timestamp now)
{
    for (LinkDirection* direction : {&line.a_to_b, &line.b_to_a})
    {
        if (verb != "both" && direction->name() != verb)
            continue;
        auto changed = LinkConfig::parse(spec, direction->model().config());
        if (!changed)
        {
            std::fprintf(out, "error %s\n", changed.error().message.c_str());
            return;
        }
        direction->configure(changed.value(), now);
        std::fprintf(out, "ok %s %s\n", direction->name().c_str(), changed.value().describe().c_str());
    }
}

/// One control command; false for "quit".
bool command(Line& line, const std::string& text)
{
    const auto space = text.find(' ');
    const std::string verb = text.substr(0, space);
    const std::string spec = space == std::string::npos ? "" : text.substr(space + 1);
    if (verb == "quit")
        return false;
    if (verb == "stats")
        print_stats(line);
    else if (verb != "a2b" && verb != "b2a" && verb != "both")
        std::printf("error unknown command '%s' (a2b, b2a, both, stats, quit)\n", verb.c_str());
    else
        change(line, verb, spec, stdout, MonotonicClock::now());
    return true;
}

/// Applies the scheduled changes due by `now`.
void run_schedule(Line& line, eustress::net::Timestamp now)
{
    for (const ScheduledChange& due : line.schedule.due(now - line.started))
    {
        std::fprintf(stderr, "delay-line: at %.3f s: ", std::chrono::duration<double>(now - line.started).count());
        change(line, due.direction, due.settings, stderr, now);
    }
}

/// Reads what stdin has and runs each complete line; false once "quit" or the end of input was read (whoever
/// controls the line is gone, so the line goes too instead of outliving it).
bool read_commands(Line& line, std::string& pending)
{
    char chunk[4096];
    const ssize_t got = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (got <= 0)
        return got < 0 && errno == EINTR;
    pending.append(chunk, std::size_t(got));
    if (pending.size() > 65536)  // no line is this long: a runaway writer
        pending.clear();
    for (auto newline = pending.find('\n'); newline != std::string::npos; newline = pending.find('\n'))
    {
        const std::string text = pending.substr(0, newline);
        pending.erase(0, newline + 1);
        if (!text.empty() && !command(line, text))
            return false;
    }
    return true;
}

/// How long until the earlier of the two directions' next packets is due (ppoll's timeout), or nothing when both are
/// empty.
std::optional<timespec> wait_for(const Line& line, eustress::net::Timestamp now)
{
    std::optional<eustress::net::Timestamp> next = line.a_to_b.next_release();
    if (const auto other = line.b_to_a.next_release(); other && (!next || *other < *next))
        next = other;
    if (const auto scheduled = line.schedule.next(); scheduled && (!next || line.started + *scheduled < *next))
        next = line.started + *scheduled;
    if (!next)
        return std::nullopt;
    const auto wait = std::max(eustress::net::Duration{0}, *next - now);
    return timespec{time_t(wait.count() / 1'000'000'000), long(wait.count() % 1'000'000'000)};
}

void run(Line& line)
{
    std::string pending;
    sigset_t during_wait;
    sigemptyset(&during_wait);
    while (!g_stop)
    {
        auto now = MonotonicClock::now();
        run_schedule(line, now);
        line.a_to_b.release(line.b.fd(), now);
        line.b_to_a.release(line.a.fd(), now);
        pollfd fds[3] = {{line.a.fd(), POLLIN, 0}, {line.b.fd(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        const auto timeout = wait_for(line, now);
        if (::ppoll(fds, 3, timeout ? &*timeout : nullptr, &during_wait) < 0 && errno != EINTR)
            break;
        now = MonotonicClock::now();
        if (fds[0].revents & POLLIN)
            line.a_to_b.take(line.a.fd(), now);
        if (fds[1].revents & POLLIN)
            line.b_to_a.take(line.b.fd(), now);
        if (fds[2].revents & (POLLIN | POLLHUP) && !read_commands(line, pending))
            break;
    }
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-delay-line: an emulated WAN between two network namespaces (TUN devices)"};
    std::string a_name = "wanA", b_name = "wanB", both, a_to_b, b_to_a;
    std::uint64_t seed = 1;
    app.add_option("--a", a_name, "the A side's TUN device");
    app.add_option("--b", b_name, "the B side's TUN device");
    app.add_option("--both", both, "link settings for both directions (delay=20ms,jitter=2ms,loss=1%,rate=20mbit,...)");
    app.add_option("--a-to-b", a_to_b, "settings for A to B only, after --both");
    app.add_option("--b-to-a", b_to_a, "settings for B to A only, after --both");
    app.add_option("--seed", seed, "random seed (loss, bursts, jitter)");
    bool realtime = false;
    app.add_flag("--realtime", realtime,
                 "run under SCHED_FIFO (root): on a busy machine a line that waits for the CPU adds delay of its own");
    std::vector<std::string> schedule_entries;
    app.add_option("--schedule", schedule_entries,
                   "TIME:DIRECTION:SETTINGS changes a2b, b2a or both at TIME (s or ms) after ready; repeatable");
    CLI11_PARSE(app, argc, argv);

    auto schedule = LinkSchedule::parse(schedule_entries);
    if (!schedule)
    {
        std::fprintf(stderr, "%s\n", schedule.error().message.c_str());
        return 2;
    }
    LinkConfig configs[2];
    for (int side = 0; side < 2; ++side)
        for (const std::string* spec : {&both, side == 0 ? &a_to_b : &b_to_a})
        {
            auto parsed = LinkConfig::parse(*spec, configs[side]);
            if (!parsed)
            {
                std::fprintf(stderr, "%s\n", parsed.error().message.c_str());
                return 2;
            }
            configs[side] = parsed.value();
        }
    auto a = TunDevice::create(a_name);
    if (!a)
    {
        std::fprintf(stderr, "%s\n", a.error().message.c_str());
        return 1;
    }
    auto b = TunDevice::create(b_name);
    if (!b)
    {
        std::fprintf(stderr, "%s\n", b.error().message.c_str());
        return 1;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (realtime)
    {
        const sched_param priority{.sched_priority = 50};
        if (::sched_setscheduler(0, SCHED_FIFO, &priority) != 0)
        {
            std::fprintf(stderr, "delay-line: SCHED_FIFO refused (%s)\n", std::strerror(errno));
            return 1;
        }
    }
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigprocmask(SIG_BLOCK, &blocked, nullptr);  // delivered only inside ppoll, so no wake-up is lost
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    Line line{std::move(a).value(),
              std::move(b).value(),
              LinkDirection("a2b", configs[0], seed),
              LinkDirection("b2a", configs[1], seed + 1),
              std::move(schedule).value(),
              MonotonicClock::now()};
    std::printf("ready a2b %s\nready b2a %s\n", configs[0].describe().c_str(), configs[1].describe().c_str());
    run(line);
    print_stats(line);
    return 0;
}
