#include "eustress/net/http_client.hpp"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace eustress::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct HttpClient::Impl
{
    std::string base;
    std::string host;
    std::string port;
    std::chrono::milliseconds timeout;
    std::string authorization;  ///< sent with every request when set
    asio::io_context io;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;

    Result<void> connect()
    {
        stream.emplace(io);
        buffer.clear();
        beast::error_code error;
        asio::ip::tcp::resolver resolver(io);
        const auto endpoints = resolver.resolve(host, port, error);
        if (error)
            return make_error(ErrorCode::Unavailable, base + ": cannot resolve: " + error.message());
        stream->expires_after(timeout);
        stream->connect(endpoints, error);
        if (error)
        {
            stream.reset();
            return make_error(ErrorCode::Unavailable, base + ": cannot connect: " + error.message());
        }
        return {};
    }

    Result<HttpClientResponse> exchange(std::string_view method, std::string_view target, std::string_view body,
                                        std::string_view content_type)
    {
        http::request<http::string_body> request(http::string_to_verb(beast::string_view(method.data(), method.size())),
                                                 beast::string_view(target.data(), target.size()), 11);
        request.set(http::field::host, host + ":" + port);
        request.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
        if (!authorization.empty())
            request.set(http::field::authorization, authorization);
        request.keep_alive(true);
        request.body() = std::string(body);
        request.prepare_payload();
        beast::error_code error;
        stream->expires_after(timeout);
        http::write(*stream, request, error);
        if (error)
            return make_error(ErrorCode::Unavailable, base + ": request failed: " + error.message());
        http::response_parser<http::string_body> parser;
        parser.body_limit(16 * 1024 * 1024);
        http::read(*stream, buffer, parser, error);
        if (error)
            return make_error(ErrorCode::Unavailable, base + ": no answer: " + error.message());
        auto& response = parser.get();
        if (!response.keep_alive())
            stream.reset();
        return HttpClientResponse{response.result_int(), std::move(response.body())};
    }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(std::string_view base, std::chrono::milliseconds timeout)
{
    constexpr std::string_view kScheme = "http://";
    if (!base.starts_with(kScheme))
        return make_error(ErrorCode::InvalidArgument, "'" + std::string(base) + "' is not an http:// URL");
    std::string_view authority = base.substr(kScheme.size());
    if (const auto slash = authority.find('/'); slash != std::string_view::npos)
        authority = authority.substr(0, slash);
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == authority.size())
        return make_error(ErrorCode::InvalidArgument, "'" + std::string(base) + "' has no port");
    auto impl = std::make_unique<Impl>();
    impl->base = std::string(kScheme) + std::string(authority);
    impl->host = std::string(authority.substr(0, colon));
    if (impl->host.size() > 2 && impl->host.front() == '[')
        impl->host = impl->host.substr(1, impl->host.size() - 2);
    impl->port = std::string(authority.substr(colon + 1));
    impl->timeout = timeout;
    return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<HttpClientResponse> HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                               std::string_view content_type)
{
    // A kept-alive connection the server closed in the meantime fails on first use: retry once on a fresh one.
    for (int attempt = 0; attempt < 2; ++attempt)
    {
        const bool reused = m_impl->stream.has_value();
        if (!reused)
            if (auto connected = m_impl->connect(); !connected)
                return connected.error();
        auto answer = m_impl->exchange(method, target, body, content_type);
        if (answer || !reused)
        {
            if (!answer)
                m_impl->stream.reset();
            return answer;
        }
        m_impl->stream.reset();
    }
    return make_error(ErrorCode::Unavailable, m_impl->base + ": no answer");
}

const std::string& HttpClient::base() const noexcept
{
    return m_impl->base;
}

void HttpClient::set_authorization(std::string value)
{
    m_impl->authorization = std::move(value);
}

}  // namespace eustress::net
