#include "web/poll_set.hpp"

#include <cerrno>
#include <cstdlib>
#include <unistd.h>

#include <sys/epoll.h>

namespace eustress::net::web {

PollSet::PollSet() : m_fd(::epoll_create1(EPOLL_CLOEXEC))
{
    if (m_fd < 0)
        std::abort();
}

PollSet::~PollSet()
{
    ::close(m_fd);
}

void PollSet::watch(int fd, bool writable)
{
    epoll_event event{};
    event.events = EPOLLIN | (writable ? EPOLLOUT : 0u);
    event.data.fd = fd;
    if (::epoll_ctl(m_fd, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT)
        ::epoll_ctl(m_fd, EPOLL_CTL_ADD, fd, &event);
}

void PollSet::forget(int fd)
{
    ::epoll_ctl(m_fd, EPOLL_CTL_DEL, fd, nullptr);
}

}  // namespace eustress::net::web
