#include "assets/http_origin.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace eustress::net::assets {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::optional<OriginUrl> OriginUrl::parse(std::string_view url)
{
    constexpr std::string_view kScheme = "http://";
    if (!url.starts_with(kScheme))
        return std::nullopt;
    url.remove_prefix(kScheme.size());
    const auto slash = url.find('/');
    const auto authority = url.substr(0, slash);
    OriginUrl parsed;
    parsed.prefix = slash == std::string_view::npos ? "" : std::string(url.substr(slash));
    while (!parsed.prefix.empty() && parsed.prefix.back() == '/')
        parsed.prefix.pop_back();
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size())
        return std::nullopt;
    parsed.host = std::string(authority.substr(0, colon));
    parsed.port = std::string(authority.substr(colon + 1));
    if (parsed.host.size() > 2 && parsed.host.front() == '[')
        parsed.host = parsed.host.substr(1, parsed.host.size() - 2);
    return parsed;
}

namespace {

/// One finished request, queued by a network handler until update() hands it to the scheduler with `now`.
struct Completion
{
    ManifestChunk chunk;
    std::optional<Refusal> refusal;
    std::string detail;
    std::string body;
};

struct Connection
{
    explicit Connection(asio::io_context& io) : stream(io)
    {
        // Beast reads at most the buffer's free capacity: a small buffer costs a system call per 512 bytes.
        buffer.reserve(256 * 1024);
    }
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::empty_body> request;
    std::optional<http::response_parser<http::string_body>> parser;
    bool connected = false;
    bool busy = false;
    ManifestChunk chunk;
};

}  // namespace

struct HttpOrigin::Impl
{
    OriginUrl url;
    std::chrono::milliseconds timeout{};
    asio::io_context io;
    asio::ip::tcp::resolver::results_type endpoints;
    std::vector<std::unique_ptr<Connection>> connections;
    std::vector<Completion> completions;

    void finish(Connection& connection, std::optional<Refusal> refusal, std::string detail, std::string body = {})
    {
        if (refusal)
        {
            beast::error_code ignored;
            connection.stream.socket().close(ignored);  // a broken exchange leaves the connection unusable
            connection.connected = false;
        }
        connection.busy = false;
        completions.push_back({connection.chunk, refusal, std::move(detail), std::move(body)});
    }

    void start(Connection& connection, const ManifestChunk& chunk)
    {
        connection.busy = true;
        connection.chunk = chunk;
        connection.request = {http::verb::get, url.prefix + "/" + chunk_path(chunk.id), 11};
        connection.request.set(http::field::host, url.host + ":" + url.port);
        connection.request.keep_alive(true);
        connection.stream.expires_after(timeout);
        if (connection.connected)
            return send(connection);
        connection.stream.async_connect(endpoints, [this, &connection](beast::error_code error, const auto&) {
            if (error)
                return finish(connection, Refusal::Transport, "cannot connect: " + error.message());
            connection.connected = true;
            send(connection);
        });
    }

    void send(Connection& connection)
    {
        http::async_write(connection.stream, connection.request,
                          [this, &connection](beast::error_code error, std::size_t) {
                              if (error)
                                  return finish(connection, Refusal::Transport, "request failed: " + error.message());
                              receive(connection);
                          });
    }

    void receive(Connection& connection)
    {
        connection.parser.emplace();
        // One byte more than the manifest allows, so a longer answer is seen as such and refused.
        connection.parser->body_limit(connection.chunk.stored_size + 1);
        http::async_read(connection.stream, connection.buffer, *connection.parser,
                         [this, &connection](beast::error_code error, std::size_t) { received(connection, error); });
    }

    void received(Connection& connection, beast::error_code error)
    {
        if (error == http::error::body_limit)
            return finish(connection, Refusal::WrongStoredSize, "a longer answer than the manifest's stored size");
        if (error == http::error::partial_message || error == beast::errc::timed_out || error == beast::error::timeout)
            return finish(connection,
                          error == http::error::partial_message ? Refusal::WrongStoredSize : Refusal::Transport,
                          "truncated or stalled answer: " + error.message());
        if (error)
            return finish(connection, Refusal::Transport, "no answer: " + error.message());
        auto response = connection.parser->release();
        if (response.result() != http::status::ok)
            return finish(connection, Refusal::HttpStatus, "HTTP " + std::to_string(response.result_int()));
        if (response.body().size() != connection.chunk.stored_size)
            return finish(connection, Refusal::WrongStoredSize,
                          std::to_string(response.body().size()) + " bytes, the manifest says " +
                              std::to_string(connection.chunk.stored_size));
        if (!response.keep_alive())
        {
            beast::error_code ignored;
            connection.stream.socket().close(ignored);
            connection.connected = false;
        }
        finish(connection, std::nullopt, {}, std::move(response.body()));
    }
};

HttpOrigin::HttpOrigin(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

HttpOrigin::~HttpOrigin()
{
    m_impl->connections.clear();  // closes the sockets while the io_context still exists
}

Result<std::unique_ptr<HttpOrigin>> HttpOrigin::create(const OriginUrl& url, unsigned connections,
                                                       std::chrono::milliseconds timeout)
{
    auto impl = std::make_unique<Impl>();
    impl->url = url;
    impl->timeout = timeout;
    beast::error_code error;
    asio::ip::tcp::resolver resolver(impl->io);
    impl->endpoints = resolver.resolve(url.host, url.port, error);
    if (error)
        return make_error(ErrorCode::Unavailable, url.host + ": cannot resolve: " + error.message());
    for (unsigned i = 0; i < connections; ++i)
        impl->connections.push_back(std::make_unique<Connection>(impl->io));
    return std::unique_ptr<HttpOrigin>(new HttpOrigin(std::move(impl)));
}

void HttpOrigin::update(FetchScheduler& scheduler, Timestamp now)
{
    m_impl->io.poll();
    if (m_impl->io.stopped())
        m_impl->io.restart();
    for (auto& done : std::exchange(m_impl->completions, {}))
    {
        if (done.refusal)
            scheduler.on_failed(done.chunk, *done.refusal, done.detail, now);
        else
            scheduler.on_received(done.chunk, as_bytes_of(done.body), now);
    }
    for (auto& connection : m_impl->connections)
    {
        if (connection->busy)
            continue;
        const auto chunk = scheduler.next_to_fetch();
        if (!chunk)
            break;
        m_impl->start(*connection, *chunk);
    }
}

void HttpOrigin::wait(std::chrono::milliseconds at_most)
{
    if (!busy())
        return;
    m_impl->io.run_one_for(at_most);
    if (m_impl->io.stopped())
        m_impl->io.restart();
}

bool HttpOrigin::busy() const
{
    return std::any_of(m_impl->connections.begin(), m_impl->connections.end(),
                       [](const auto& connection) { return connection->busy; });
}

}  // namespace eustress::net::assets
