// A layer-3 TUN device (IFF_TUN | IFF_NO_PI: each read or write is one IP packet), non-blocking.
#pragma once

#include <string>

#include "eustress/net/result.hpp"

namespace eustress::delay_line {

class TunDevice
{
  public:
    /// Creates the device `name` in the calling process's network namespace (CAP_NET_ADMIN). It lives as long as
    /// this object; `ip link set NAME netns NS` may move it to another namespace meanwhile.
    static net::Result<TunDevice> create(const std::string& name);
    TunDevice(TunDevice&& other) noexcept;
    TunDevice& operator=(TunDevice&&) = delete;
    ~TunDevice();

    int fd() const noexcept { return m_fd; }
    const std::string& name() const noexcept { return m_name; }

  private:
    TunDevice(int fd, std::string name) : m_fd(fd), m_name(std::move(name)) {}
    int m_fd = -1;
    std::string m_name;
};

}  // namespace eustress::delay_line
