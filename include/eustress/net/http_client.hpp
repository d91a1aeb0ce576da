// A blocking HTTP/1.1 client for services we talk to (etcd's JSON gateway, Forge's API, a game server's /healthz):
// one kept-alive connection to one host, reconnected when it breaks, every call bounded by a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "eustress/net/result.hpp"

namespace eustress::net {

struct HttpClientResponse
{
    unsigned status = 0;
    std::string body;
};

class HttpClient
{
  public:
    /// `base` is "http://host:port" (an IP address or a name resolved at each connection); only http.
    static Result<std::unique_ptr<HttpClient>> create(std::string_view base,
                                                      std::chrono::milliseconds timeout = std::chrono::seconds(2));
    ~HttpClient();

    /// Errors: Unavailable (cannot connect, timed out, broken answer). Any HTTP status is a response.
    Result<HttpClientResponse> request(std::string_view method, std::string_view target, std::string_view body = {},
                                       std::string_view content_type = "application/json");
    Result<HttpClientResponse> get(std::string_view target) { return request("GET", target); }
    Result<HttpClientResponse> post(std::string_view target, std::string_view json)
    {
        return request("POST", target, json);
    }

    const std::string& base() const noexcept;
    /// Sent as the Authorization header of every later request ("Bearer <credential>"); empty sends none.
    void set_authorization(std::string value);

  private:
    struct Impl;
    explicit HttpClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net
