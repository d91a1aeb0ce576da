// NatsLink: see nats_link.hpp. Every libnats call that can wait on the network is made on one of our two threads.
#include "crdt_sync/nats_link.hpp"

namespace eustress::net::crdt {

namespace {

constexpr std::int64_t kRequestWaitMs = 2000;
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

natsConnection* connect(const std::string& url)
{
    natsOptions* options = nullptr;
    natsConnection* connection = nullptr;
    if (natsOptions_Create(&options) != NATS_OK)
        return nullptr;
    // Reconnects forever, and a first connection that fails is retried in the background: a server starts and
    // serves its world while NATS is away, and catches up when it is back.
    natsOptions_SetURL(options, url.c_str());
    natsOptions_SetMaxReconnect(options, -1);
    natsOptions_SetReconnectWait(options, 250);
    natsOptions_SetRetryOnFailedConnect(options, true, nullptr, nullptr);
    natsOptions_SetTimeout(options, 1000);
    const natsStatus status = natsConnection_Connect(&connection, options);
    natsOptions_Destroy(options);
    return status == NATS_OK || status == NATS_NOT_YET_CONNECTED ? connection : nullptr;
}

}  // namespace

NatsLink::NatsLink(LinkConfig config) : m_config(std::move(config))
{
    m_connection = connect(m_config.url);
    jsOptions options;
    jsOptions_Init(&options);
    options.Wait = kRequestWaitMs;
    if (m_connection)
        natsConnection_JetStream(&m_jetstream, m_connection, &options);
    if (m_jetstream)
    {
        m_publisher = std::thread([this] { run_publisher(); });
        m_fetcher = std::thread([this] { run_fetcher(); });
    }
}

NatsLink::~NatsLink()
{
    {
        const std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_publisher.joinable())
        m_publisher.join();
    if (m_fetcher.joinable())
        m_fetcher.join();
    for (Inbound& inbound : m_inbound)
        natsMsg_Destroy(inbound.message);
    natsSubscription_Destroy(m_subscription);
    jsCtx_Destroy(m_jetstream);
    if (m_connection)
        natsConnection_Close(m_connection);
    natsConnection_Destroy(m_connection);
}

void NatsLink::publish(Outgoing outgoing)
{
    {
        const std::lock_guard lock(m_mutex);
        m_outgoing.push_back(std::move(outgoing));
    }
    m_wake.notify_all();
}

std::vector<std::uint64_t> NatsLink::take_published()
{
    const std::lock_guard lock(m_mutex);
    return std::exchange(m_published, {});
}

void NatsLink::take_inbound(std::vector<Inbound>& out, std::size_t max)
{
    {
        const std::lock_guard lock(m_mutex);
        while (!m_inbound.empty() && out.size() < max)
        {
            out.push_back(std::move(m_inbound.front()));
            m_inbound.pop_front();
        }
    }
    m_wake.notify_all();  // the fetcher may be waiting for room
}

void NatsLink::acknowledge(Inbound& inbound)
{
    // Lost when the connection is down: the stream delivers the message again, and the sync skips it by sequence.
    natsMsg_Ack(inbound.message, nullptr);
    natsMsg_Destroy(inbound.message);
    inbound.message = nullptr;
}

void NatsLink::purge(std::string filter)
{
    {
        const std::lock_guard lock(m_mutex);
        m_purges.push_back(std::move(filter));
        ++m_purges_pending;
    }
    m_wake.notify_all();
}

bool NatsLink::connected() const noexcept
{
    return m_connection && natsConnection_Status(m_connection) == NATS_CONN_STATUS_CONNECTED && m_stream_ready.load();
}

void NatsLink::pause(std::chrono::milliseconds duration)
{
    std::unique_lock lock(m_mutex);
    m_wake.wait_for(lock, duration, [this] { return m_stopping; });
}

bool NatsLink::ensure_stream()
{
    if (m_stream_ready.load())
        return true;
    jsStreamInfo* info = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    natsStatus status = js_GetStreamInfo(&info, m_jetstream, m_config.stream.c_str(), nullptr, &error);
    if (status == NATS_NOT_FOUND)
    {
        const std::string subjects = m_config.subject + ".>";
        const char* subject_list[] = {subjects.c_str()};
        jsStreamConfig stream;
        jsStreamConfig_Init(&stream);
        stream.Name = m_config.stream.c_str();
        stream.Subjects = subject_list;
        stream.SubjectsLen = 1;
        stream.Storage = js_FileStorage;
        stream.MaxAge = static_cast<std::int64_t>(m_config.max_age.count()) * kNanosPerSecond;
        stream.Duplicates = 120 * kNanosPerSecond;  // a publish retried after a lost ack is stored once
        status = js_AddStream(&info, m_jetstream, &stream, nullptr, &error);
    }
    jsStreamInfo_Destroy(info);
    m_stream_ready = status == NATS_OK;
    return m_stream_ready.load();
}

}  // namespace eustress::net::crdt
