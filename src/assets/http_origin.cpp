#include "assets/http_origin.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include <curl/curl.h>

namespace eustress::net::assets {

std::optional<OriginUrl> OriginUrl::parse(std::string_view url)
{
    OriginUrl parsed;
    for (std::string_view scheme : {"http", "https"})
        if (url.starts_with(std::string(scheme) + "://"))
            parsed.scheme = scheme;
    if (parsed.scheme.empty())
        return std::nullopt;
    url.remove_prefix(parsed.scheme.size() + 3);
    const auto slash = url.find('/');
    const auto authority = url.substr(0, slash);
    parsed.prefix = slash == std::string_view::npos ? "" : std::string(url.substr(slash));
    while (!parsed.prefix.empty() && parsed.prefix.back() == '/')
        parsed.prefix.pop_back();
    const auto colon = authority.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size())
        return std::nullopt;
    parsed.host = std::string(authority.substr(0, colon));
    parsed.port = std::string(authority.substr(colon + 1));
    return parsed;
}

std::string OriginUrl::base() const
{
    return scheme + "://" + host + ":" + port + prefix;
}

bool http2_possible(const OriginUrl& url)
{
    return url.scheme == "https" || curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000;
}

namespace {

/// The connection cache every origin of the process shares, so the manifest's connection carries the first chunk.
class SharedConnections
{
  public:
    static CURLSH* handle()
    {
        static SharedConnections shared;
        return shared.m_share;
    }

  private:
    SharedConnections()
    {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        m_share = curl_share_init();
        curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
        curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(m_share, CURLSHOPT_LOCKFUNC, &lock);
        curl_share_setopt(m_share, CURLSHOPT_UNLOCKFUNC, &unlock);
        curl_share_setopt(m_share, CURLSHOPT_USERDATA, this);
    }
    static void lock(CURL*, curl_lock_data, curl_lock_access, void* self)
    {
        static_cast<SharedConnections*>(self)->m_mutex.lock();
    }
    static void unlock(CURL*, curl_lock_data, void* self) { static_cast<SharedConnections*>(self)->m_mutex.unlock(); }

    std::recursive_mutex m_mutex;
    CURLSH* m_share = nullptr;
};

/// Options every request of ours sets: the protocol, bounds, no redirects, no signals, a large receive buffer.
/// Options every request of ours sets: the protocol (HTTP/2 over TLS through ALPN, falling back to 1.1 when the
/// origin does not offer it), bounds, trust, no redirects, no signals, a large receive buffer.
void set_common_options(CURL* easy, const FetchConfig& config)
{
    const bool tls = config.origin.starts_with("https://");
    const long version = config.http == HttpVersion::Http1 ? CURL_HTTP_VERSION_1_1
                         : tls                             ? CURL_HTTP_VERSION_2TLS
                                                           : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    curl_easy_setopt(easy, CURLOPT_SHARE, SharedConnections::handle());
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, version);
    // HTTP/2: wait for the one connection rather than open another.
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, config.http == HttpVersion::Http2 ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!config.ca_file.empty())
        curl_easy_setopt(easy, CURLOPT_CAINFO, config.ca_file.c_str());
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(config.request_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024);  // 16 KiB by default: a system call per 16 KiB
}

/// An answer's body as it arrives, bounded.
struct Body
{
    std::vector<std::byte> bytes;
    std::size_t skip = 0;   ///< leading bytes reserved (the raw tag of a range's chunk)
    std::size_t limit = 0;  ///< body bytes accepted; one more is a refusal
    bool too_long = false;
    std::size_t size() const { return bytes.size() - skip; }
};

std::size_t on_body(char* data, std::size_t, std::size_t size, void* user)
{
    auto& body = *static_cast<Body*>(user);
    if (body.size() + size > body.limit)
    {
        body.too_long = true;
        return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    const auto* bytes = reinterpret_cast<const std::byte*>(data);
    body.bytes.insert(body.bytes.end(), bytes, bytes + size);
    return size;
}

/// One request slot: an easy handle reused from chunk to chunk, and what its answer must be.
struct Transfer
{
    CURL* easy = curl_easy_init();
    ManifestChunk chunk;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> range;  ///< first and last byte asked of a file
    std::uint64_t file_size = 0;
    Body body;
    std::string content_range;
    bool busy = false;
    char error[CURL_ERROR_SIZE] = {};
    ~Transfer() { curl_easy_cleanup(easy); }
};

std::size_t on_header(char* data, std::size_t, std::size_t size, void* user)
{
    constexpr std::string_view kName = "content-range:";
    std::string_view line(data, size);
    if (line.size() > kName.size() && std::equal(kName.begin(), kName.end(), line.begin(), [](char a, char b) {
            return a == std::tolower(static_cast<unsigned char>(b));
        }))
    {
        line.remove_prefix(kName.size());
        while (!line.empty() && (line.front() == ' ' || line.back() == '\n' || line.back() == '\r'))
            line = line.front() == ' ' ? line.substr(1) : line.substr(0, line.size() - 1);
        static_cast<Transfer*>(user)->content_range = std::string(line);
    }
    return size;
}

struct Completion
{
    ManifestChunk chunk;
    std::optional<Refusal> refusal;
    std::string detail;
    std::vector<std::byte> body;
};

/// Where a chunk lies in the release's files (the first file listing it), for range requests.
struct FilePlace
{
    const ManifestFile* file;
    std::uint64_t offset;
};

}  // namespace

struct HttpOrigin::Impl
{
    FetchConfig config;
    Manifest manifest;  ///< owns the files `places` points into
    std::map<ChunkId, FilePlace> places;
    CURLM* multi = curl_multi_init();
    std::vector<std::unique_ptr<Transfer>> transfers;
    std::vector<Completion> completions;

    ~Impl()
    {
        for (auto& transfer : transfers)
            if (transfer->busy)
                curl_multi_remove_handle(multi, transfer->easy);
        transfers.clear();
        curl_multi_cleanup(multi);
    }

    std::string target(const ManifestChunk& chunk) const;
    void start(Transfer& transfer, const ManifestChunk& chunk);
    void collect();
    Completion judge(Transfer& transfer, CURLcode result);
    std::optional<std::string> wrong_range(const Transfer& transfer) const;
};

std::string HttpOrigin::Impl::target(const ManifestChunk& chunk) const
{
    if (config.files.empty())
        return OriginUrl::parse(config.origin)->base() + "/" + chunk_path(chunk.id);
    std::string url = OriginUrl::parse(config.files)->base();
    const std::string& path = places.at(chunk.id).file->path;
    for (std::size_t begin = 0; begin <= path.size();)
    {
        const auto end = std::min(path.find('/', begin), path.size());
        char* escaped = curl_easy_escape(nullptr, path.data() + begin, static_cast<int>(end - begin));
        url += "/" + std::string(escaped ? escaped : "");
        curl_free(escaped);
        begin = end + 1;
    }
    return url;
}

void HttpOrigin::Impl::start(Transfer& transfer, const ManifestChunk& chunk)
{
    transfer.busy = true;
    transfer.chunk = chunk;
    transfer.content_range.clear();
    transfer.range.reset();
    // A range of a file is the raw bytes: they get the raw tag when the publisher stored the chunk raw.
    Body& body = transfer.body;
    body.too_long = false;
    body.skip = config.files.empty() ? 0 : 1;
    body.limit = config.files.empty() ? chunk.stored_size : chunk.size;
    body.bytes.clear();
    body.bytes.reserve(body.skip + body.limit + 1);
    body.bytes.resize(body.skip);
    curl_easy_setopt(transfer.easy, CURLOPT_URL, target(chunk).c_str());
    std::string range;
    if (!config.files.empty())
    {
        const FilePlace& place = places.at(chunk.id);
        transfer.range = {place.offset, place.offset + chunk.size - 1};
        transfer.file_size = place.file->size;
        range = std::to_string(transfer.range->first) + "-" + std::to_string(transfer.range->second);
    }
    curl_easy_setopt(transfer.easy, CURLOPT_RANGE, range.empty() ? nullptr : range.c_str());
    curl_multi_add_handle(multi, transfer.easy);
}

std::optional<std::string> HttpOrigin::Impl::wrong_range(const Transfer& transfer) const
{
    const std::string expected = "bytes " + std::to_string(transfer.range->first) + "-" +
                                 std::to_string(transfer.range->second) + "/" + std::to_string(transfer.file_size);
    if (transfer.content_range == expected)
        return std::nullopt;
    return "Content-Range '" + transfer.content_range + "', asked " + expected;
}

Completion HttpOrigin::Impl::judge(Transfer& transfer, CURLcode result)
{
    Completion done{transfer.chunk, std::nullopt, {}, {}};
    long status = 0;
    curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
    const std::size_t got = transfer.body.size();
    const long wanted = transfer.range ? 206 : 200;
    if (transfer.body.too_long)
        done.refusal = Refusal::WrongStoredSize, done.detail = "a longer answer than the manifest's size";
    else if (result == CURLE_PARTIAL_FILE || result == CURLE_HTTP2_STREAM || result == CURLE_RECV_ERROR)
        done.refusal = Refusal::WrongStoredSize, done.detail = std::string("truncated answer: ") + transfer.error;
    else if (result != CURLE_OK)
        done.refusal = Refusal::Transport,
        done.detail = std::string("no answer: ") + (transfer.error[0] ? transfer.error : curl_easy_strerror(result));
    else if (transfer.range && status == 200)
        done.refusal = Refusal::WrongRange, done.detail = "HTTP 200 to a range request (ranges not served)";
    else if (status != wanted)
        done.refusal = Refusal::HttpStatus, done.detail = "HTTP " + std::to_string(status);
    else if (auto wrong = transfer.range ? wrong_range(transfer) : std::nullopt)
        done.refusal = Refusal::WrongRange, done.detail = *wrong;
    else if (got != transfer.body.limit)
        done.refusal = Refusal::WrongStoredSize,
        done.detail = std::to_string(got) + " bytes, the manifest says " + std::to_string(transfer.body.limit);
    if (done.refusal)
        return done;
    done.body = std::move(transfer.body.bytes);
    if (transfer.range && transfer.chunk.stored_size != transfer.chunk.size + 1)
        done.body = encode_chunk(Bytes(done.body).subspan(1));  // stored compressed by the publisher: the same here
    return done;
}

void HttpOrigin::Impl::collect()
{
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left))
    {
        if (message->msg != CURLMSG_DONE)
            continue;
        Transfer* transfer = nullptr;
        curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &transfer);
        const CURLcode result = message->data.result;
        curl_multi_remove_handle(multi, transfer->easy);
        completions.push_back(judge(*transfer, result));
        transfer->busy = false;
    }
}

HttpOrigin::HttpOrigin(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
HttpOrigin::~HttpOrigin() = default;

Result<std::unique_ptr<HttpOrigin>> HttpOrigin::create(const FetchConfig& config, const Manifest& manifest)
{
    const auto url = OriginUrl::parse(config.origin);
    if (!url || (!config.files.empty() && !OriginUrl::parse(config.files)))
        return make_error(ErrorCode::InvalidArgument, "an origin URL is not http://host:port[/prefix]");
    SharedConnections::handle();
    auto impl = std::make_unique<Impl>();
    if (!impl->multi)
        return make_error(ErrorCode::Unavailable, "libcurl cannot start");
    impl->config = config;
    impl->manifest = manifest;
    for (const auto& file : impl->manifest.files)
        for (const auto& chunk : file.chunks)
            impl->places.try_emplace(chunk.id, FilePlace{&file, chunk.offset});
    const bool http2 = config.http == HttpVersion::Http2;
    const unsigned slots = http2 ? config.http2_streams : config.connections;
    curl_multi_setopt(impl->multi, CURLMOPT_PIPELINING, http2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    curl_multi_setopt(impl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, http2 ? 1L : 0L);  // HTTP/1.1: one per slot
    curl_multi_setopt(impl->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, static_cast<long>(slots));
    for (unsigned i = 0; i < slots; ++i)
    {
        auto transfer = std::make_unique<Transfer>();
        set_common_options(transfer->easy, config);
        curl_easy_setopt(transfer->easy, CURLOPT_PRIVATE, transfer.get());
        curl_easy_setopt(transfer->easy, CURLOPT_ERRORBUFFER, transfer->error);
        curl_easy_setopt(transfer->easy, CURLOPT_WRITEFUNCTION, &on_body);
        curl_easy_setopt(transfer->easy, CURLOPT_WRITEDATA, &transfer->body);
        curl_easy_setopt(transfer->easy, CURLOPT_HEADERFUNCTION, &on_header);
        curl_easy_setopt(transfer->easy, CURLOPT_HEADERDATA, transfer.get());
        impl->transfers.push_back(std::move(transfer));
    }
    return std::unique_ptr<HttpOrigin>(new HttpOrigin(std::move(impl)));
}

void HttpOrigin::update(FetchScheduler& scheduler, Timestamp now)
{
    int running = 0;
    curl_multi_perform(m_impl->multi, &running);
    m_impl->collect();
    for (auto& done : std::exchange(m_impl->completions, {}))
    {
        if (done.refusal)
            scheduler.on_failed(done.chunk, *done.refusal, done.detail, now);
        else
            scheduler.on_received(done.chunk, done.body, now);
    }
    bool started = false;
    for (auto& transfer : m_impl->transfers)
    {
        if (transfer->busy)
            continue;
        const auto chunk = scheduler.next_to_fetch();
        if (!chunk)
            break;
        m_impl->start(*transfer, *chunk);
        started = true;
    }
    if (!started)
        return;
    curl_multi_perform(m_impl->multi, &running);  // the requests leave now, not at the next update
    m_impl->collect();                            // and what that finished is not left for wait() to sleep on
}

void HttpOrigin::wait(std::chrono::milliseconds at_most)
{
    if (busy() && m_impl->completions.empty())
        curl_multi_poll(m_impl->multi, nullptr, 0, static_cast<int>(at_most.count()), nullptr);
}

bool HttpOrigin::busy() const
{
    return std::any_of(m_impl->transfers.begin(), m_impl->transfers.end(),
                       [](const auto& transfer) { return transfer->busy; });
}

Result<std::string> http_get(const std::string& url, const FetchConfig& config, std::size_t limit)
{
    std::unique_ptr<CURL, void (*)(CURL*)> easy(curl_easy_init(), curl_easy_cleanup);
    if (!easy)
        return make_error(ErrorCode::Unavailable, "libcurl cannot start");
    set_common_options(easy.get(), config);
    Body sink;
    sink.limit = limit;
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &sink);
    const CURLcode result = curl_easy_perform(easy.get());
    long status = 0;
    curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
    if (sink.too_long)
        return make_error(ErrorCode::Unavailable, url + ": longer than " + std::to_string(limit) + " bytes");
    if (result != CURLE_OK)
        return make_error(ErrorCode::Unavailable, url + ": " + (error[0] ? error : curl_easy_strerror(result)));
    if (status != 200)
        return make_error(ErrorCode::Unavailable, url + ": HTTP " + std::to_string(status));
    return std::string(reinterpret_cast<const char*>(sink.bytes.data()), sink.bytes.size());
}

}  // namespace eustress::net::assets
