// eustress-bench PEER --bench B --role R [--size N] [--count N] [--placement P] --rendezvous FILE [--relay H:P]
//                     [--bind ADDRESS] [--connect SERVER_ADDRESS]   (IPv4; both 127.0.0.1 by default)
//                     [--transport udp|websocket]                   (eustress: QUIC over UDP, or over WebSocket)
// Each peer implements the same benchmarks; bench/run.sh pins the two processes and collects the JSON lines.
#include <cstdlib>
#include <cstring>

#include "bench_common.hpp"

int main(int argc, char** argv)
{
    using namespace eustress::bench;
    if (argc < 2)
    {
        std::fprintf(stderr, "usage: eustress-bench eustress|enet|udp|tcp|relay --bench B --role R ...\n");
        return 2;
    }
    const std::string peer = argv[1];
    Options options;
    for (int i = 2; i + 1 < argc; i += 2)
    {
        const std::string key = argv[i];
        const std::string value = argv[i + 1];
        if (key == "--bench")
            options.bench = value;
        else if (key == "--role")
            options.role = value;
        else if (key == "--placement")
            options.placement = value;
        else if (key == "--rendezvous")
            options.rendezvous = value;
        else if (key == "--relay")
            options.relay = value;
        else if (key == "--bind")
            options.bind_host = value;
        else if (key == "--connect")
            options.server_host = value;
        else if (key == "--cc")
            options.congestion = value;
        else if (key == "--transport")
            options.transport = value;
        else if (key == "--size")
            options.size = std::strtoull(value.c_str(), nullptr, 10);
        else if (key == "--count")
            options.count = std::strtoull(value.c_str(), nullptr, 10);
        else
        {
            std::fprintf(stderr, "eustress-bench: unknown option %s\n", key.c_str());
            return 2;
        }
    }
    if (peer == "eustress")
        return run_eustress(options);
    if (peer == "enet")
        return run_enet(options);
    if (peer == "udp")
        return run_udp(options);
    if (peer == "tcp")
        return run_tcp(options);
    if (peer == "relay")
        return run_relay(options);
    std::fprintf(stderr, "eustress-bench: unknown peer %s\n", peer.c_str());
    return 2;
}
