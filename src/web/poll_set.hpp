// One descriptor for many: an epoll set the owner adds its sockets to, so an event loop polls a single fd and
// learns that one of them has work. Level-triggered, so a socket with unread data keeps the set readable.
#pragma once

namespace eustress::net::web {

class PollSet
{
  public:
    /// Aborts if the system cannot create an epoll set (out of descriptors at start-up: nothing can work).
    PollSet();
    ~PollSet();
    PollSet(const PollSet&) = delete;
    PollSet& operator=(const PollSet&) = delete;

    /// Watches `fd` for readability, and for writability too when `writable` (a write waits for room).
    void watch(int fd, bool writable = false);
    void forget(int fd);
    int fd() const noexcept { return m_fd; }

  private:
    int m_fd = -1;
};

}  // namespace eustress::net::web
