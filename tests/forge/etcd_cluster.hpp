// Real etcd members on 127.0.0.1 with free ports, for tests: started in a temporary directory, stopped (and the
// directory removed) by the destructor. Every wait is bounded.
#pragma once

#include <chrono>
#include <filesystem>
#include <signal.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "eustress/net/http_client.hpp"
#include "free_port.hpp"

namespace eustress::net::testing {

inline std::uint16_t free_tcp_port()
{
    return free_loopback_port(SOCK_STREAM);
}

class EtcdCluster
{
  public:
    explicit EtcdCluster(std::size_t members)
    {
        m_directory = std::filesystem::temp_directory_path() /
                      ("eustress-etcd-" + std::to_string(::getpid()) + "-" + std::to_string(s_instances++));
        std::filesystem::create_directories(m_directory);
        std::string initial;
        for (std::size_t i = 0; i < members; ++i)
        {
            Member member;
            member.name = "m" + std::to_string(i);
            member.client_port = free_tcp_port();
            member.peer_port = free_tcp_port();
            initial += (i ? "," : "") + member.name + "=http://127.0.0.1:" + std::to_string(member.peer_port);
            m_members.push_back(member);
        }
        m_initial_cluster = initial;
        for (std::size_t i = 0; i < members; ++i)
            start(i, "new");
    }

    ~EtcdCluster()
    {
        for (std::size_t i = 0; i < m_members.size(); ++i)
            stop(i);
        std::error_code ignored;
        std::filesystem::remove_all(m_directory, ignored);
    }

    std::vector<std::string> endpoints() const
    {
        std::vector<std::string> urls;
        for (const auto& member : m_members)
            urls.push_back("http://127.0.0.1:" + std::to_string(member.client_port));
        return urls;
    }

    /// Whether every running member answers /health with a leader, within `limit`.
    bool wait_healthy(std::chrono::seconds limit = std::chrono::seconds(20)) const
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline)
        {
            bool all = true;
            for (const auto& member : m_members)
            {
                if (member.pid <= 0)
                    continue;
                auto client = HttpClient::create("http://127.0.0.1:" + std::to_string(member.client_port),
                                                 std::chrono::milliseconds(500));
                auto health = (*client)->get("/health");
                all = all && health && health->status == 200 && health->body.find("true") != std::string::npos;
            }
            if (all)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }

    void stop(std::size_t index)
    {
        Member& member = m_members[index];
        if (member.pid <= 0)
            return;
        ::kill(member.pid, SIGTERM);
        for (int waited = 0; waited < 500 && ::waitpid(member.pid, nullptr, WNOHANG) == 0; ++waited)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ::kill(member.pid, SIGKILL);
        ::waitpid(member.pid, nullptr, 0);
        member.pid = 0;
    }

    /// Starts a stopped member again with its data: it rejoins the cluster.
    void restart(std::size_t index) { start(index, "existing"); }

  private:
    struct Member
    {
        std::string name;
        std::uint16_t client_port = 0, peer_port = 0;
        pid_t pid = 0;
    };

    void start(std::size_t index, const char* state)
    {
        Member& member = m_members[index];
        const std::string client = "http://127.0.0.1:" + std::to_string(member.client_port);
        const std::string peer = "http://127.0.0.1:" + std::to_string(member.peer_port);
        const std::string data = (m_directory / member.name).string();
        const std::string log = (m_directory / (member.name + ".log")).string();
        member.pid = ::fork();
        if (member.pid == 0)
        {
            ::freopen(log.c_str(), "a", stdout);
            ::freopen(log.c_str(), "a", stderr);
            ::execlp("etcd", "etcd", "--name", member.name.c_str(), "--data-dir", data.c_str(), "--listen-client-urls",
                     client.c_str(), "--advertise-client-urls", client.c_str(), "--listen-peer-urls", peer.c_str(),
                     "--initial-advertise-peer-urls", peer.c_str(), "--initial-cluster", m_initial_cluster.c_str(),
                     "--initial-cluster-state", state, "--initial-cluster-token", m_directory.filename().c_str(),
                     "--heartbeat-interval", "50", "--election-timeout", "500", static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }

    inline static int s_instances = 0;
    std::filesystem::path m_directory;
    std::string m_initial_cluster;
    std::vector<Member> m_members;
};

}  // namespace eustress::net::testing
