// HttpListener on Boost.Beast: one io_context on one thread, one coroutine-free session object per connection.
#include "eustress/net/http_listener.hpp"

#include <atomic>
#include <charconv>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace eustress::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Counters
{
    std::atomic<std::size_t> open_connections{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> refused{0};
};

/// Reads requests one after another on a kept-alive connection and answers each with the handler's response.
class HttpSession : public std::enable_shared_from_this<HttpSession>
{
  public:
    HttpSession(tcp::socket socket, const HttpListenerConfig& config, const HttpHandler& handler,
                std::shared_ptr<Counters> counters)
        : m_stream(std::move(socket)), m_config(config), m_handler(handler), m_counters(std::move(counters))
    {
        m_counters->open_connections.fetch_add(1, std::memory_order_relaxed);
    }
    ~HttpSession() { m_counters->open_connections.fetch_sub(1, std::memory_order_relaxed); }

    void read_request()
    {
        m_parser.emplace();
        m_parser->header_limit(static_cast<std::uint32_t>(m_config.max_header_bytes));
        m_parser->body_limit(m_config.max_body_bytes);
        m_stream.expires_after(m_config.timeout);
        http::async_read(m_stream, m_buffer, *m_parser,
                         [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_read(error); });
    }

  private:
    void on_read(beast::error_code error)
    {
        if (error == http::error::end_of_stream)
            return close();
        if (error == http::error::body_limit || error == http::error::header_limit)
            return answer_and_close(413, "request too large\n");
        if (error)
            return;  // timeout, reset or malformed: the connection just ends
        const auto& request = m_parser->get();
        HttpRequest plain;
        plain.method = std::string(request.method_string());
        const std::string_view target(request.target().data(), request.target().size());
        const std::size_t question = target.find('?');
        plain.path = std::string(target.substr(0, question));
        if (question != std::string_view::npos)
            plain.query = std::string(target.substr(question + 1));
        plain.body = request.body();
        plain.authorization = std::string(request[http::field::authorization]);
        beast::error_code no_peer;
        if (const auto peer = m_stream.socket().remote_endpoint(no_peer); !no_peer)
            plain.remote_address = peer.address().to_string();
        HttpResponse answer;
        try
        {
            answer = m_handler(plain);
        }
        catch (const std::exception& failure)
        {
            answer = HttpResponse{
                500, "text/plain; charset=utf-8", std::string("internal error: ") + failure.what() + "\n", {}};
        }
        m_counters->requests.fetch_add(1, std::memory_order_relaxed);
        write(std::move(answer), request.keep_alive());
    }

    void answer_and_close(unsigned status, std::string body)
    {
        write(HttpResponse{status, "text/plain; charset=utf-8", std::move(body), {}}, false);
    }

    void write(HttpResponse answer, bool keep_alive)
    {
        auto response = std::make_shared<http::response<http::string_body>>();
        response->result(answer.status);
        response->version(11);
        response->set(http::field::server, "eustress-net");
        response->set(http::field::content_type, answer.content_type);
        for (auto& [name, value] : answer.headers)
            response->set(name, value);
        response->body() = std::move(answer.body);
        response->keep_alive(keep_alive);
        response->prepare_payload();
        m_stream.expires_after(m_config.timeout);
        http::async_write(m_stream, *response,
                          [self = shared_from_this(), response, keep_alive](beast::error_code error, std::size_t) {
                              if (error || !keep_alive)
                                  return self->close();
                              self->read_request();
                          });
    }

    void close()
    {
        beast::error_code ignored;
        m_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream m_stream;
    beast::flat_buffer m_buffer;
    std::optional<http::request_parser<http::string_body>> m_parser;
    const HttpListenerConfig& m_config;
    const HttpHandler& m_handler;
    std::shared_ptr<Counters> m_counters;
};

Result<tcp::endpoint> parse_endpoint(const std::string& address)
{
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos)
        return make_error(ErrorCode::InvalidArgument, "HTTP address '" + address + "' is not host:port");
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    const char* first = address.data() + colon + 1;
    const char* last = address.data() + address.size();
    if (auto [end, failure] = std::from_chars(first, last, port); failure != std::errc{} || end != last || port > 65535)
        return make_error(ErrorCode::InvalidArgument, "HTTP address '" + address + "' has no valid port");
    beast::error_code error;
    const auto ip = asio::ip::make_address(host, error);
    if (error)
        return make_error(ErrorCode::InvalidArgument,
                          "HTTP address '" + address + "': '" + host + "' is not an IP address");
    return tcp::endpoint(ip, static_cast<std::uint16_t>(port));
}

}  // namespace

struct HttpListener::Impl
{
    HttpListenerConfig config;
    HttpHandler handler;
    std::shared_ptr<Counters> counters = std::make_shared<Counters>();
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::uint16_t port = 0;
    std::thread thread;

    void accept()
    {
        acceptor.async_accept(io, [this](beast::error_code error, tcp::socket socket) {
            if (error == asio::error::operation_aborted)
                return;
            if (!error)
            {
                if (counters->open_connections.load(std::memory_order_relaxed) >= config.max_connections)
                    counters->refused.fetch_add(1, std::memory_order_relaxed);  // the socket closes as it goes
                else
                    std::make_shared<HttpSession>(std::move(socket), config, handler, counters)->read_request();
            }
            accept();
        });
    }
};

HttpListener::HttpListener(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Result<std::unique_ptr<HttpListener>> HttpListener::start(const HttpListenerConfig& config, HttpHandler handler)
{
    auto endpoint = parse_endpoint(config.address);
    if (!endpoint)
        return endpoint.error();
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    impl->handler = std::move(handler);
    beast::error_code error;
    impl->acceptor.open(endpoint->protocol(), error);
    if (!error)
        impl->acceptor.set_option(asio::socket_base::reuse_address(true), error);
    if (!error)
        impl->acceptor.bind(*endpoint, error);
    if (!error)
        impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
    if (error)
        return make_error(ErrorCode::SocketError, "HTTP listener on " + config.address + ": " + error.message());
    impl->port = impl->acceptor.local_endpoint().port();
    impl->accept();
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->io.run(); });
    return std::unique_ptr<HttpListener>(new HttpListener(std::move(impl)));
}

HttpListener::~HttpListener()
{
    m_impl->io.stop();
    m_impl->thread.join();
}

std::uint16_t HttpListener::port() const noexcept
{
    return m_impl->port;
}

std::uint64_t HttpListener::requests_served() const noexcept
{
    return m_impl->counters->requests.load(std::memory_order_relaxed);
}

std::uint64_t HttpListener::connections_refused() const noexcept
{
    return m_impl->counters->refused.load(std::memory_order_relaxed);
}

}  // namespace eustress::net
