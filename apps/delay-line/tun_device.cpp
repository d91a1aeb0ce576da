#include "tun_device.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

namespace eustress::delay_line {

net::Result<TunDevice> TunDevice::create(const std::string& name)
{
    if (name.empty() || name.size() >= IFNAMSIZ)
        return net::make_error(net::ErrorCode::InvalidArgument, "delay-line: bad device name '" + name + "'");
    const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return net::make_error(net::ErrorCode::SocketError,
                               std::string("delay-line: /dev/net/tun: ") + std::strerror(errno));
    ifreq request{};
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::memcpy(request.ifr_name, name.data(), name.size());
    if (::ioctl(fd, TUNSETIFF, &request) != 0)
    {
        const int error = errno;
        ::close(fd);
        return net::make_error(net::ErrorCode::SocketError,
                               "delay-line: TUNSETIFF " + name + ": " + std::strerror(error));
    }
    return TunDevice(fd, name);
}

TunDevice::TunDevice(TunDevice&& other) noexcept : m_fd(other.m_fd), m_name(std::move(other.m_name))
{
    other.m_fd = -1;
}

TunDevice::~TunDevice()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

}  // namespace eustress::delay_line
