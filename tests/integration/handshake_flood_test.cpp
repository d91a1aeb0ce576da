// A flood of well-formed QUIC Initials from many source ports, plus junk, against a real eustress-server process
// on loopback: its resident memory stays bounded (state for unvalidated peers is capped) and two players keep
// chatting through it.
#include <fcntl.h>
#include <fstream>
#include <random>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "eustress/net/client.hpp"
#include "session/session_harness.hpp"

extern char** environ;

namespace eustress::net::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

long resident_kib(pid_t pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

struct ServerProcess
{
    pid_t pid = -1;
    int output = -1;
    std::string address;
    std::string pin;
    std::string log;

    explicit ServerProcess(const std::string& directory)
    {
        int pipe_fds[2];
        EXPECT_EQ(::pipe(pipe_fds), 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
        const std::string program = std::string(EUSTRESS_BINARY_DIR) + "/apps/eustress-server";
        std::vector<std::string> args = {program,      "--bind", "127.0.0.1",      "--port", "0",
                                         "--duration", "60",     "--dev-cert-dir", directory};
        std::vector<char*> argv;
        for (auto& arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        EXPECT_EQ(posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&actions);
        ::close(pipe_fds[1]);
        output = pipe_fds[0];
        const std::string first = read_line();
        std::istringstream words(first);
        std::string listening, on, pin_word;
        words >> listening >> on >> address >> pin_word >> pin;
        EXPECT_EQ(listening, "listening") << first;
    }

    std::string read_line()
    {
        std::string line;
        char c;
        while (::read(output, &c, 1) == 1 && c != '\n')
            line += c;
        return line;
    }

    std::string stop()
    {
        ::kill(pid, SIGTERM);
        std::string rest;
        char buffer[4096];
        ssize_t got;
        while ((got = ::read(output, buffer, sizeof buffer)) > 0)
            rest.append(buffer, static_cast<std::size_t>(got));
        int status = 0;
        ::waitpid(pid, &status, 0);
        ::close(output);
        pid = -1;
        return rest;
    }

    ~ServerProcess()
    {
        if (pid > 0)
            stop();
    }
};

TEST(HandshakeFlood, MemoryStaysBoundedAndPlayersKeepPlaying)
{
    const std::string directory = (std::filesystem::temp_directory_path() / "eustress-flood-certs").string();
    ServerProcess server(directory);
    ASSERT_FALSE(server.pin.empty());
    const auto address = SocketAddress::parse(server.address);
    ASSERT_TRUE(address);

    ClientConfig config;
    config.server_host = "127.0.0.1";
    config.server_port = address->port();
    config.bind_address = "127.0.0.1";
    config.pinned_keys = {server.pin};
    auto alice = std::move(Client::create(config, MonotonicClock::now())).value();
    auto bob = std::move(Client::create(config, MonotonicClock::now())).value();
    std::vector<std::string> heard_by_bob;
    auto pump = [&](std::chrono::milliseconds budget) {
        const auto until = MonotonicClock::now() + budget;
        while (MonotonicClock::now() < until)
        {
            const auto now = MonotonicClock::now();
            alice->update(now);
            bob->update(now);
            while (alice->poll_event())
            {}
            while (auto event = bob->poll_event())
                if (auto* message = std::get_if<MessageEvent>(&*event))
                    heard_by_bob.push_back(text_of(message->data));
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
    };
    pump(std::chrono::milliseconds(300));
    ASSERT_TRUE(alice->is_connected() && bob->is_connected());
    const long baseline = resident_kib(server.pid);

    // The flood: 3,000 half-open handshakes, each a real client's first flight from a fresh source port that
    // never answers, and as many junk datagrams. Bounded in count; interleaved with play.
    auto junk_socket = std::move(open_udp_socket(*SocketAddress::parse("127.0.0.1", 0))).value();
    std::mt19937_64 random(11);
    long peak = baseline;
    std::vector<std::byte> junk(1200);
    for (int round = 0; round < 30; ++round)
    {
        for (int i = 0; i < 100; ++i)
        {
            auto attacker = Client::create(config, MonotonicClock::now());
            ASSERT_TRUE(attacker.ok()) << attacker.error().message;
            for (auto& b : junk)
                b = std::byte(random() & 0xff);
            const OutgoingDatagram datagram{*address, junk};
            junk_socket->send(std::span(&datagram, 1), MonotonicClock::now());
        }
        ASSERT_TRUE(alice->send(0, as_bytes_of("round " + std::to_string(round)), MonotonicClock::now()).ok());
        pump(std::chrono::milliseconds(30));
        peak = std::max(peak, resident_kib(server.pid));
    }
    for (int wait = 0; wait < 50 && heard_by_bob.size() < 30; ++wait)
        pump(std::chrono::milliseconds(100));
    peak = std::max(peak, resident_kib(server.pid));

    EXPECT_TRUE(alice->is_connected());
    EXPECT_TRUE(bob->is_connected());
    EXPECT_EQ(heard_by_bob.size(), 30u) << "chat lost during the flood";
    const long growth = peak - baseline;
    std::printf("server RSS: baseline %ld KiB, peak %ld KiB during 3000 half-open handshakes (+%ld KiB)\n", baseline,
                peak, growth);
    // 256 pending handshakes at about 110 KiB each, plus allocator slack; ASan's redzones and quarantine triple it.
    EXPECT_LT(growth, kSanitized ? 192 * 1024 : 64 * 1024) << "pending-handshake state is not bounded";

    const std::string totals = server.stop();
    std::printf("%s", totals.substr(totals.find("totals:")).c_str());
    EXPECT_NE(totals.find("refused-full"), std::string::npos);
    const auto refused = std::stoul(totals.substr(totals.find("refused-full ") + 13));
    EXPECT_GT(refused, 0u) << totals;
}

}  // namespace
}  // namespace eustress::net::testing
