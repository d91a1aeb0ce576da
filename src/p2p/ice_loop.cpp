// IceLoop: a private GMainContext that only `run_ready` iterates, and an epoll set that mirrors its descriptors.
//
// GLib's own iteration (g_main_context_iteration, non-blocking) does all dispatching. To learn what to wait for,
// we run the first half of GLib's protocol on its own: g_main_context_prepare then g_main_context_query, with no
// poll, check or dispatch. GLib does the same in g_main_context_pending, and nothing is lost by it: a source that
// prepare finds ready keeps its READY flag until it is dispatched, and the next iteration's prepare clears
// nothing but the (then empty) list of pending dispatches. The query fills the epoll set and gives the timer.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <glib.h>
#include <poll.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include <sys/epoll.h>

#include "p2p/ice_agent.hpp"

namespace eustress::net::p2p {
namespace {

/// Dispatch rounds per run_ready: enough to drain a burst of datagrams and the timers it makes due, while a peer
/// flooding the socket cannot keep the owner's loop inside GLib.
constexpr int kMaxDispatchRounds = 64;
/// How long destroying the loop waits for agents that are still closing (TURN deallocations in flight).
constexpr auto kCloseDrainLimit = std::chrono::milliseconds(1500);

std::uint32_t epoll_events_of(gushort glib_events)
{
    std::uint32_t events = 0;
    if (glib_events & G_IO_IN)
        events |= EPOLLIN;
    if (glib_events & G_IO_OUT)
        events |= EPOLLOUT;
    if (glib_events & G_IO_PRI)
        events |= EPOLLPRI;
    return events;
}

/// Dispatches what is ready, bounded; the caller has acquired the context.
void dispatch_ready(GMainContext* context)
{
    for (int round = 0; round < kMaxDispatchRounds && g_main_context_iteration(context, FALSE); ++round)
    {}
}

}  // namespace

struct IceLoop::Impl
{
    GMainContext* context = nullptr;
    int epoll_fd = -1;
    std::vector<GPollFD> query_fds;
    std::unordered_map<int, std::uint32_t> registered;  ///< fd -> epoll events, as last synced
    int timeout_ms = -1;                                ///< GLib's next timer, from the last query

    ~Impl();
    void refresh();
    void sync_epoll(int count);
    void drain_closing_agents();
};

IceLoop::Impl::~Impl()
{
    if (context != nullptr)
    {
        drain_closing_agents();
        g_main_context_unref(context);
    }
    if (epoll_fd >= 0)
        ::close(epoll_fd);
}

/// Re-reads GLib's descriptors and next timer (prepare + query, no dispatch) and mirrors them in the epoll set.
void IceLoop::Impl::refresh()
{
    // Another thread owning the context would be a misuse (the loop is single-threaded); leave it alone then.
    if (!g_main_context_acquire(context))
        return;
    gint ready_priority = 0;
    g_main_context_prepare(context, &ready_priority);
    // Every descriptor whatever its priority (G_MAXINT): the set then stays the same when a source is ready.
    int count = 0;
    while ((count = g_main_context_query(context, G_MAXINT, &timeout_ms, query_fds.data(),
                                         static_cast<gint>(query_fds.size()))) > static_cast<int>(query_fds.size()))
        query_fds.resize(static_cast<std::size_t>(count));
    g_main_context_release(context);
    sync_epoll(count);
}

/// Brings the epoll set in line with the query. Every listed descriptor is added again each time (EEXIST when
/// it is there): a socket libnice closed and a new one that got the same number between two refreshes look the
/// same in the list, and the kernel dropped the old registration when the old socket closed.
void IceLoop::Impl::sync_epoll(int count)
{
    std::unordered_map<int, std::uint32_t> wanted;
    for (int i = 0; i < count; ++i)
        wanted[query_fds[static_cast<std::size_t>(i)].fd] |=
            epoll_events_of(query_fds[static_cast<std::size_t>(i)].events);
    for (const auto& [fd, events] : registered)
        if (!wanted.contains(fd))
            ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);  // fails harmlessly when the fd is already closed
    for (const auto& [fd, events] : wanted)
    {
        epoll_event event{};
        event.events = events;
        event.data.fd = fd;
        if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0 && errno == EEXIST)
        {
            const auto previous = registered.find(fd);
            if (previous == registered.end() || previous->second != events)
                ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &event);
        }
    }
    registered = std::move(wanted);
}

/// Agents that used TURN close asynchronously (their relay allocations are released on the server, see
/// IceAgent's destructor); they hold the context until then. Waits for them, bounded, on GLib's own timers.
void IceLoop::Impl::drain_closing_agents()
{
    const auto deadline = std::chrono::steady_clock::now() + kCloseDrainLimit;
    refresh();
    while (timeout_ms >= 0 && std::chrono::steady_clock::now() < deadline)
    {
        pollfd descriptor{epoll_fd, POLLIN, 0};
        ::poll(&descriptor, 1, std::min(timeout_ms, 50));
        if (g_main_context_acquire(context))
        {
            dispatch_ready(context);
            g_main_context_release(context);
        }
        refresh();
    }
}

Result<std::unique_ptr<IceLoop>> IceLoop::create()
{
    auto impl = std::make_unique<Impl>();
    impl->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (impl->epoll_fd < 0)
        return make_error(ErrorCode::SocketError, "epoll_create1 failed");
    impl->context = g_main_context_new();
    impl->query_fds.resize(8);
    impl->refresh();
    return std::unique_ptr<IceLoop>(new IceLoop(std::move(impl)));
}

IceLoop::IceLoop(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

IceLoop::~IceLoop() = default;

void IceLoop::run_ready(Timestamp)
{
    // GLib keeps its own monotonic clock for libnice's timers; `now` only anchors next_wakeup.
    if (g_main_context_acquire(m_impl->context))
    {
        dispatch_ready(m_impl->context);
        g_main_context_release(m_impl->context);
    }
    m_impl->refresh();
}

int IceLoop::native_handle() const
{
    return m_impl->epoll_fd;
}

std::optional<Timestamp> IceLoop::next_wakeup(Timestamp now) const
{
    // Queried afresh: an agent call made since the last run_ready (candidates, credentials, a send) may have
    // armed a timer, and GLib wakes no poll for a timer added on the owning thread.
    m_impl->refresh();
    if (m_impl->timeout_ms < 0)
        return std::nullopt;
    return now + std::chrono::milliseconds(m_impl->timeout_ms);
}

GMainContext* IceLoop::context() const noexcept
{
    return m_impl->context;
}

}  // namespace eustress::net::p2p
