// A real coturn (`turnserver`) on 127.0.0.1, for tests: STUN and TURN over UDP on a free port, REST-API credentials
// (`use-auth-secret` with a random `static-auth-secret`), and loopback peers allowed, which coturn refuses by default
// and every peer of a one-machine test is. Its configuration (holding the secret) lives in a private temporary
// folder, mode 0600. The process dies with this object, in every exit path, and with the test process too
// (PR_SET_PDEATHSIG) when that crashes. Every wait is bounded.
#pragma once

#include <array>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <poll.h>
#include <random>
#include <signal.h>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "eustress/net/socket_address.hpp"
#include "free_port.hpp"

namespace eustress::net::testing {

class TurnServerProcess
{
  public:
    /// Starts turnserver and waits until it answers a STUN binding request (at most 10 s). nullptr when it cannot
    /// start or never answers; `why` then says what went wrong (and holds coturn's log).
    static std::unique_ptr<TurnServerProcess> start(std::string* why = nullptr)
    {
        std::unique_ptr<TurnServerProcess> server(new TurnServerProcess());
        std::string problem = server->launch();
        if (problem.empty() && !server->wait_until_answering(std::chrono::seconds(10)))
            problem = "turnserver did not answer a STUN binding request within 10 s";
        if (problem.empty())
            return server;
        if (why != nullptr)
            *why = problem + "\n" + server->log();
        return nullptr;
    }

    ~TurnServerProcess()
    {
        stop();
        std::error_code ignored;
        std::filesystem::remove_all(m_directory, ignored);
    }

    TurnServerProcess(const TurnServerProcess&) = delete;
    TurnServerProcess& operator=(const TurnServerProcess&) = delete;

    SocketAddress address() const { return SocketAddress::ipv4_loopback(m_port); }
    const std::string& secret() const { return m_secret; }
    std::uint16_t min_relay_port() const { return m_min_relay_port; }
    std::uint16_t max_relay_port() const { return static_cast<std::uint16_t>(m_min_relay_port + kRelayPorts - 1); }

    std::string log() const
    {
        std::ifstream file(m_directory / "turn.log");
        std::stringstream text;
        text << file.rdbuf();
        return text.str();
    }

    /// Whether coturn's log satisfies `holds` within `limit` (it writes the log from its own threads; there is no
    /// event to wait on, so this looks every 10 ms).
    bool wait_for_log(const std::function<bool(const std::string&)>& holds,
                      std::chrono::milliseconds limit = std::chrono::seconds(2)) const
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!holds(log()))
        {
            if (std::chrono::steady_clock::now() >= deadline)
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return true;
    }

  private:
    static constexpr int kRelayPorts = 200;

    TurnServerProcess() = default;

    std::string launch()
    {
        char pattern[] = "/tmp/eustress-turn-XXXXXX";  // mkdtemp makes it 0700
        if (::mkdtemp(pattern) == nullptr)
            return "mkdtemp failed";
        m_directory = pattern;
        std::random_device entropy;
        std::ostringstream secret;
        for (int i = 0; i < 4; ++i)
            secret << std::hex << entropy();
        m_secret = secret.str();
        m_port = free_loopback_port(SOCK_DGRAM);
        // A relay range of its own in the upper half of the dynamic ports, away from the kernel's ephemeral range
        // (32768-60999 by default) as far as it goes; coturn skips ports that are taken.
        m_min_relay_port =
            static_cast<std::uint16_t>(61000 + (entropy() % ((65535 - 61000) / kRelayPorts)) * kRelayPorts);
        const auto config = m_directory / "turnserver.conf";
        if (!write_private_file(config, configuration()))
            return "could not write " + config.string();
        m_pid = ::fork();
        if (m_pid < 0)
            return "fork failed";
        if (m_pid == 0)
            run_child(config);
        return {};
    }

    std::string configuration() const
    {
        std::ostringstream text;
        text << "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port=" << m_port
             << "\nmin-port=" << m_min_relay_port << "\nmax-port=" << max_relay_port() << "\nrealm=eustress.test\n"
             << "use-auth-secret\nstatic-auth-secret=" << m_secret << "\n"
             << "no-tls\nno-dtls\nno-tcp\nno-tcp-relay\nno-cli\nno-rfc5780\nallow-loopback-peers\n"
             // One relay thread, so one UDP listener: a test's traffic never depends on which thread's listener
             // the kernel hashes a source port to. Verbose: sessions, refreshes and deallocations are logged.
             << "relay-threads=1\nverbose\n"
             << "log-file=" << (m_directory / "turn.log").string() << "\nsimple-log\n"
             << "pidfile=" << (m_directory / "turn.pid").string() << "\n"
             << "userdb=" << (m_directory / "turndb").string() << "\n";
        return text.str();
    }

    static bool write_private_file(const std::filesystem::path& path, const std::string& text)
    {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return false;
        const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        return ::close(fd) == 0 && written;
    }

    [[noreturn]] void run_child(const std::filesystem::path& config) const
    {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        const std::string output = (m_directory / "stdout.log").string();
        if (std::freopen(output.c_str(), "w", stdout) == nullptr ||
            std::freopen(output.c_str(), "a", stderr) == nullptr)
            ::_exit(126);
        ::execlp("turnserver", "turnserver", "-c", config.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }

    /// Sends STUN binding requests (RFC 5389: type 0x0001, no attributes) until one is answered with its
    /// transaction id, the process exits, or `limit` passes. Each attempt comes from a new socket: coturn spreads
    /// its UDP listeners over threads (SO_REUSEPORT hashes on the source), so one source port that lands on a
    /// listener not yet serving would otherwise never get an answer.
    bool wait_until_answering(std::chrono::seconds limit)
    {
        const auto target = address();
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (std::uint8_t attempt = 1; std::chrono::steady_clock::now() < deadline; ++attempt)
        {
            if (::waitpid(m_pid, nullptr, WNOHANG) == m_pid)
            {
                m_pid = 0;
                return false;
            }
            const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            std::array<std::uint8_t, 20> request{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
            request[19] = attempt;
            ::sendto(fd, request.data(), request.size(), 0, target.data(), target.size());
            pollfd descriptor{fd, POLLIN, 0};
            std::array<std::uint8_t, 512> response{};
            const bool answered = ::poll(&descriptor, 1, 100) == 1 &&
                                  ::recv(fd, response.data(), response.size(), 0) >= 20 && response[0] == 0x01 &&
                                  response[1] == 0x01 &&
                                  std::equal(request.begin() + 4, request.end(), response.begin() + 4);
            ::close(fd);
            if (answered)
                return true;
        }
        return false;
    }

    void stop()
    {
        if (m_pid <= 0)
            return;
        ::kill(m_pid, SIGTERM);
        for (int waited = 0; waited < 200 && ::waitpid(m_pid, nullptr, WNOHANG) == 0; ++waited)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, nullptr, 0);
        m_pid = 0;
    }

    std::filesystem::path m_directory;
    std::string m_secret;
    std::uint16_t m_port = 0;
    std::uint16_t m_min_relay_port = 0;
    pid_t m_pid = 0;
};

}  // namespace eustress::net::testing
