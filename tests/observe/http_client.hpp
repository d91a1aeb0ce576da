// A blocking HTTP/1.1 client for tests of our endpoints (Boost.Beast), on 127.0.0.1 only.
#pragma once

#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace eustress::net::testing {

struct HttpReply
{
    unsigned status = 0;
    std::string content_type;
    std::string location;
    std::string body;
};

inline HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                              const std::string& body = {}, const std::string& authorization = {})
{
    namespace beast = boost::beast;
    namespace http = beast::http;
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> request(http::string_to_verb(method), target, 11);
    request.set(http::field::host, "127.0.0.1");
    if (!authorization.empty())
        request.set(http::field::authorization, authorization);
    request.body() = body;
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser);
    const auto& response = parser.get();
    HttpReply reply;
    reply.status = response.result_int();
    reply.content_type = std::string(response[http::field::content_type]);
    reply.location = std::string(response[http::field::location]);
    reply.body = response.body();
    return reply;
}

inline HttpReply http_get(std::uint16_t port, const std::string& target)
{
    return http_request(port, "GET", target);
}

}  // namespace eustress::net::testing
