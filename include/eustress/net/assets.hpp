// Asset streaming (docs/ASSETS.md): files cut into content-defined chunks, each named by its BLAKE2b-256 hash and
// compressed with zstd when that pays; a release's manifest, signed by its publisher (Ed25519), lists every file and
// its chunks; a chunk store on disk keeps verified chunks (bounded, evicting chunks no pinned release needs); a
// fetcher reads chunks from an HTTP origin (a static web server or CDN), verifies each against its name, and streams
// files to the game as soon as their first chunk is verified.
//
//     // publisher: auto keys = generate_publisher_keys();  publish_release(dir, out, keys.secret, {});
//     // player:    auto manifest = read_manifest(text, trusted_publisher);
//     //            auto store = ChunkStore::open({.directory = "cache"});
//     //            auto fetcher = AssetFetcher::create({.origin = "http://cdn:80/game"}, *manifest, **store);
//     //            auto map = fetcher->open({.path = "maps/arena.map", .priority = 0});
//     //            each frame: fetcher->update(now); for (auto& e : fetcher->take_events()) ...
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "eustress/net/channel.hpp"
#include "eustress/net/events.hpp"
#include "eustress/net/mesh.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {
class Server;
class Client;
}  // namespace eustress::net

namespace eustress::net::assets {

class AssetPeers;

// ---- Chunk names ----------------------------------------------------------------------------------------------

/// A chunk's name: the BLAKE2b-256 hash of its uncompressed bytes.
struct ChunkId
{
    std::array<std::uint8_t, 32> bytes{};

    std::string to_hex() const;
    /// 64 lower- or upper-case hex digits; nothing else.
    static std::optional<ChunkId> from_hex(std::string_view hex);
    auto operator<=>(const ChunkId&) const = default;
};

ChunkId hash_chunk(Bytes raw);

// ---- Chunking -------------------------------------------------------------------------------------------------

enum class ChunkingMode : std::uint8_t
{
    ContentDefined,  ///< a gear rolling hash picks the cuts (FastCDC-style): an insertion moves only nearby cuts
    Fixed,           ///< every `fixed_size` bytes: an insertion shifts, and so renames, every later chunk
};

/// How files are cut. The defaults and the measurement behind them are in docs/ASSETS.md ("Chunking").
struct ChunkingConfig
{
    ChunkingMode mode = ChunkingMode::ContentDefined;
    std::uint32_t min_size = 16 * 1024;      ///< content-defined: no cut before this many bytes
    std::uint32_t average_size = 64 * 1024;  ///< content-defined: the size the cut masks aim at (a power of two)
    std::uint32_t max_size = 256 * 1024;     ///< content-defined: a cut is forced here
    std::uint32_t fixed_size = 1024 * 1024;  ///< fixed: every chunk but a file's last
    /// Content-defined: a file's first chunk is cut here (0: no special first chunk). A small first chunk is what
    /// the game waits for before a file's first verified byte (docs/ASSETS.md, "First byte").
    std::uint32_t first_chunk_size = 8 * 1024;

    /// The largest chunk this configuration makes.
    std::uint32_t largest() const noexcept { return mode == ChunkingMode::Fixed ? fixed_size : max_size; }
    /// Errors: InvalidArgument (min < 64 bytes, min <= average <= max not holding, average not a power of two,
    /// any size above kMaxChunkSize).
    Result<void> validate() const;
};

/// No chunk is larger, whatever a manifest says: it bounds memory per chunk and every decompression.
inline constexpr std::uint32_t kMaxChunkSize = 4 * 1024 * 1024;

/// The length of the first chunk of `data`, which starts `offset` bytes into its file. `data` holds at least
/// `config.largest()` bytes unless it is the end of the file; the result is then between 1 and `data.size()`.
/// Deterministic: the same bytes at the same place always cut the same.
std::size_t next_chunk_length(Bytes data, const ChunkingConfig& config, std::uint64_t offset = 1);

/// Every chunk of `data` as (offset, length), in order.
std::vector<std::pair<std::uint64_t, std::uint32_t>> cut_chunks(Bytes data, const ChunkingConfig& config);

// ---- Chunk encoding (what the store and the origin hold) -------------------------------------------------------

/// One tag byte, then the raw bytes (tag 0) or one zstd frame (tag 1). Compressed only when that saves at least
/// 1/32 of the chunk: decompression is then never spent on chunks it barely shrinks.
std::vector<std::byte> encode_chunk(Bytes raw, int zstd_level = 3);

/// Why a chunk or a manifest was refused. Counted per reason by the fetcher (FetchProgress::refused).
enum class Refusal : std::uint8_t
{
    HashMismatch,       ///< the chunk's bytes do not hash to its name (corrupt, poisoned or lying source)
    WrongStoredSize,    ///< a response of another length than the manifest declares (truncated, padded)
    BadEncoding,        ///< unknown tag byte, or a zstd frame that does not decode
    DecompressionBomb,  ///< a frame that declares or yields more than the chunk's declared size
    HttpStatus,         ///< the origin answered with a status other than 200
    NotServed,          ///< the game server does not have the chunk
    Transport,          ///< connection refused or broken, timed out
    WrongRange,         ///< a range request answered with another Content-Range, or not as a range (200)
    Count
};
const char* to_string(Refusal reason) noexcept;

struct ChunkError
{
    Refusal reason;
    std::string message;
};

/// The raw bytes of an encoded chunk whose raw size is `raw_size`, checked against `id`. Never allocates more than
/// `raw_size` (at most kMaxChunkSize) for the result, whatever the frame claims.
Result<std::vector<std::byte>, ChunkError> decode_chunk(Bytes stored, std::uint32_t raw_size, const ChunkId& id);

// ---- Chunk store -----------------------------------------------------------------------------------------------

struct ChunkStoreConfig
{
    std::filesystem::path directory;            ///< created if missing; holds `packs/<n>` and `index`
    std::uint64_t capacity_bytes = 4ull << 30;  ///< stored bytes kept at most (encoded sizes)
    std::uint64_t pack_bytes = 64ull << 20;     ///< a pack file's size before the next is started
};

/// Verified chunks on disk, as encoded (the origin's bytes), appended to pack files with an index; a chunk is listed
/// only after its bytes are written, so a crash never leaves a partial chunk under a chunk's name; on read it is
/// verified again and a corrupt one is forgotten. Beyond capacity, the least recently used chunks that no pinned
/// release lists are evicted (their space is reclaimed by compacting packs less than half alive).
class ChunkStore
{
  public:
    /// Errors: IoError (the directory cannot be created or listed). A torn last index record is cut off.
    static Result<std::unique_ptr<ChunkStore>> open(ChunkStoreConfig config);
    ~ChunkStore();

    bool contains(const ChunkId& id) const;
    /// Verifies `stored` (decode_chunk) before keeping it. Errors: the refusal (nothing written); IoError;
    /// QueueFull (the store is full of pinned chunks).
    Result<void> put(const ChunkId& id, Bytes stored, std::uint32_t raw_size);
    /// As put, for bytes the caller has just verified with decode_chunk (the fetcher): not decoded twice.
    Result<void> put_verified(const ChunkId& id, Bytes stored);
    /// The chunk's raw bytes, verified. A missing chunk is IoError; a corrupt one is deleted and reported as
    /// ProtocolError (fetch it again).
    Result<std::vector<std::byte>> get(const ChunkId& id, std::uint32_t raw_size);
    /// The encoded bytes as kept (serving them to others), unverified.
    Result<std::vector<std::byte>> get_stored(const ChunkId& id) const;

    /// Chunks of a pinned release are never evicted. `name` replaces an earlier pin of that name.
    void pin(const std::string& name, std::set<ChunkId> chunks);
    void unpin(const std::string& name);

    std::uint64_t used_bytes() const noexcept;
    std::size_t chunk_count() const noexcept;
    std::uint64_t evictions() const noexcept;

  private:
    struct Impl;
    explicit ChunkStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// ---- Manifest --------------------------------------------------------------------------------------------------

struct ManifestChunk
{
    ChunkId id;
    std::uint64_t offset = 0;       ///< in the file
    std::uint32_t size = 0;         ///< raw bytes
    std::uint32_t stored_size = 0;  ///< encoded bytes, as the origin serves them
    bool operator==(const ManifestChunk&) const = default;
};

struct ManifestFile
{
    std::string path;  ///< relative, '/'-separated, no "." or ".." components
    std::uint64_t size = 0;
    std::vector<ManifestChunk> chunks;  ///< contiguous from offset 0, covering `size`
    bool operator==(const ManifestFile&) const = default;
};

using PublicKey = std::array<std::uint8_t, 32>;

struct Manifest
{
    std::string release;  ///< the publisher's name for it, printable, no spaces
    PublicKey publisher{};
    std::vector<ManifestFile> files;  ///< sorted by path, no duplicates

    const ManifestFile* find(std::string_view path) const;
    std::set<ChunkId> chunk_ids() const;
    std::uint64_t total_size() const;
    bool operator==(const Manifest&) const = default;
};

struct PublisherKeys
{
    PublicKey public_key{};
    std::array<std::uint8_t, 64> secret_key{};  ///< libsodium's Ed25519 secret key (seed and public key)
};
PublisherKeys generate_publisher_keys();

/// What a manifest may claim at most; beyond, it is refused before anything is allocated for it.
struct ManifestLimits
{
    std::size_t max_bytes = 64u << 20;  ///< the manifest's text
    std::size_t max_files = 100'000;
    std::size_t max_chunks = 4'000'000;         ///< in all files together
    std::uint64_t max_file_size = 64ull << 30;  ///< 64 GiB
    std::uint64_t max_total_size = 256ull << 30;
    std::size_t max_path_length = 512;
    std::uint32_t max_chunk_size = kMaxChunkSize;
};

enum class ManifestRefusal : std::uint8_t
{
    TooLarge,          ///< the text, a count or a size beyond ManifestLimits
    BadSignature,      ///< not signed by the trusted publisher, or altered after signing
    Malformed,         ///< a line that is not what the format says (docs/ASSETS.md, "Manifest")
    UnsafePath,        ///< absolute, "..", ".", empty components, backslashes, control characters
    Inconsistent,      ///< chunks that are not contiguous or do not add up to the file's size; duplicates
    StoredSizeAbsurd,  ///< a stored size larger than its chunk's encoding can be (a decompression bomb's tell)
};
const char* to_string(ManifestRefusal reason) noexcept;

struct ManifestError
{
    ManifestRefusal reason;
    std::string message;  ///< names the line and the field
};

/// The manifest's signed text: the body (docs/ASSETS.md) and a last line "signature <128 hex digits>".
std::string write_manifest(const Manifest& manifest, const PublisherKeys& keys);
/// Checks the signature against `trusted` first, then every bound. Nothing unchecked reaches the result.
Result<Manifest, ManifestError> read_manifest(std::string_view text, const PublicKey& trusted,
                                              const ManifestLimits& limits = {});
/// The body alone, signature not checked (diffing local manifests; the fuzz target). Same bounds.
Result<Manifest, ManifestError> parse_manifest_body(std::string_view body, const ManifestLimits& limits = {});

std::string public_key_to_hex(const PublicKey& key);
std::optional<PublicKey> public_key_from_hex(std::string_view hex);

// ---- Publishing and comparing releases ----------------------------------------------------------------------

struct PublishOptions
{
    std::string release = "1";
    ChunkingConfig chunking{};
    int zstd_level = 3;
};

struct PublishSummary
{
    std::size_t files = 0;
    std::size_t chunks = 0;          ///< chunk references in the manifest
    std::size_t chunks_written = 0;  ///< new chunk files (the others were already in `out` from earlier releases)
    std::uint64_t raw_bytes = 0;
    std::uint64_t stored_bytes = 0;  ///< of the new chunk files
};

/// Cuts every regular file under `dir` (symbolic links are not followed), writes the chunks missing from
/// `out/chunks/xx/<hex>` and the signed manifest to `out/manifest`: a layout any static web server serves.
/// Errors: IoError; InvalidArgument (a path the manifest format cannot carry, a bad chunking configuration).
Result<PublishSummary> publish_release(const std::filesystem::path& dir, const std::filesystem::path& out,
                                       const PublisherKeys& keys, const PublishOptions& options = {});

/// The URL path of a chunk below the origin's prefix: "chunks/ab/<hex>".
std::string chunk_path(const ChunkId& id);

struct ReleaseDiff
{
    std::vector<std::string> added, removed, changed;  ///< file paths
    std::size_t chunks_to_fetch = 0;                   ///< distinct chunks in `to` that `from` lacks
    std::uint64_t bytes_to_fetch = 0;                  ///< their stored sizes
    std::size_t chunks_reused = 0;
};
ReleaseDiff diff_releases(const Manifest& from, const Manifest& to);

/// Checks the files under `dir` against `manifest`: each chunk of each file hashed. Returns the paths that are
/// missing or differ (empty: all good).
std::vector<std::string> verify_directory(const std::filesystem::path& dir, const Manifest& manifest);

// ---- Fetching from an HTTP origin ------------------------------------------------------------------------------

/// How the fetcher speaks to an HTTP origin. Http2 over https:// is offered through ALPN (HTTP/1.1 if the origin does
/// not take it; nginx: `listen PORT ssl http2;`); over http:// it is h2c with prior knowledge, which needs libcurl 8.
enum class HttpVersion : std::uint8_t
{
    Http1,
    Http2
};

struct FetchConfig
{
    std::string origin;        ///< "http[s]://host:port[/prefix]": the manifest, and chunks under prefix/chunks/
    unsigned connections = 4;  ///< HTTP/1.1: kept-alive connections, one request in flight on each
    HttpVersion http = HttpVersion::Http1;
    unsigned http2_streams = 16;  ///< HTTP/2: requests in flight, multiplexed on one connection
    /// When set, "http://host:port[/prefix]" serving the release's files as published (prefix/PATH): each chunk is
    /// a Range request of its file, its Content-Range checked (a plain file CDN needs no chunk objects).
    std::string files;
    std::string ca_file;  ///< PEM certificates trusted for https:// besides the system's (a private CDN, tests)
    std::chrono::milliseconds request_timeout{10'000};  ///< a stalled origin fails the request after this
    unsigned max_attempts = 3;                          ///< per chunk, before the files that need it fail
    Result<void> validate() const;
};

using StreamId = std::uint32_t;

/// What the game asks for: a file, or a byte range of it. Lower `priority` values are fetched first.
struct StreamRequest
{
    std::string path;
    std::uint64_t offset = 0;
    std::uint64_t length = std::numeric_limits<std::uint64_t>::max();  ///< clipped to the file's end
    int priority = 0;
};

/// Verified bytes of a stream, in order: `offset` is in the file.
struct StreamData
{
    StreamId stream = 0;
    std::uint64_t offset = 0;
    std::vector<std::byte> bytes;
};
struct StreamDone
{
    StreamId stream = 0;
};
struct StreamFailed
{
    StreamId stream = 0;
    std::string reason;
};
using AssetEvent = std::variant<StreamData, StreamDone, StreamFailed>;

struct FetchProgress
{
    std::uint64_t bytes_total = 0;  ///< raw bytes of every chunk the open streams need
    std::uint64_t bytes_done = 0;   ///< of those, verified (fetched or found in the store)
    std::size_t chunks_total = 0;
    std::size_t chunks_done = 0;
    std::size_t chunks_from_store = 0;  ///< already verified on disk: not fetched
    std::uint64_t bytes_fetched = 0;    ///< encoded bytes received from the origin (verified or not)
    std::uint64_t store_errors = 0;     ///< verified chunks the store could not keep (disk full, pinned full)
    double rate_bytes_per_second = 0;   ///< raw verified bytes, over the last few seconds
    std::optional<Duration> eta;        ///< none until a rate is known
    std::array<std::uint64_t, static_cast<std::size_t>(Refusal::Count)> refused{};  ///< by reason
};

/// Streams files of one release from an HTTP origin, or from the game server (create_for_session), through a
/// ChunkStore. Single-threaded: call update() from the
/// game's loop; it never blocks. wait() blocks until the network has something (for tools without a loop).
class AssetFetcher
{
  public:
    /// Errors: InvalidArgument (bad config or origin URL).
    static Result<std::unique_ptr<AssetFetcher>> create(FetchConfig config, Manifest manifest, ChunkStore& store);
    /// Chunks from the game server on `channel` (add_asset_channel), at most `in_flight` requests outstanding. The
    /// game passes the client's events to handle(); update() sends requests. The channel's bandwidth share keeps
    /// the transfer from starving gameplay.
    static std::unique_ptr<AssetFetcher> create_for_session(Client& client, ChannelId channel, Manifest manifest,
                                                            ChunkStore& store, unsigned in_flight = 8,
                                                            unsigned max_attempts = 3);
    ~AssetFetcher();

    /// Chunks from peers of a mesh only (AssetPeers): those that told us they hold them.
    static std::unique_ptr<AssetFetcher> create_for_peers(AssetPeers& peers, Manifest manifest, ChunkStore& store,
                                                          unsigned max_attempts = 3);
    /// Adds the mesh's peers as a source beside this fetcher's own, both taking chunks from one queue. `first`:
    /// peers pick before the origin in each update (else after, taking what the origin has no room for). A chunk an
    /// open stream waits on next, already asked of the origin, is raced on a peer that holds it: the first verified
    /// answer is handed over, which lowers first-byte time. `peers` must outlive the fetcher.
    void add_peers(AssetPeers& peers, bool first = false);

    /// Session fetchers: true when `event` was the asset channel's (consumed). HTTP fetchers: always false.
    bool handle(const NetworkEvent& event, Timestamp now);

    /// Errors: InvalidArgument (no such file in the manifest; an offset beyond its end).
    Result<StreamId> open(const StreamRequest& request, Timestamp now);
    void update(Timestamp now);
    void wait(std::chrono::milliseconds at_most);
    std::vector<AssetEvent> take_events();
    FetchProgress progress(Timestamp now) const;
    /// True when every open stream is done or failed.
    bool finished() const;

  private:
    struct Impl;
    explicit AssetFetcher(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// ---- The game server as a source ---------------------------------------------------------------------------

/// Appends the asset channel to `table` and returns its id: reliable, low priority, and a share of the
/// connection's send_rate_limit, so chunks flow in the room gameplay leaves. Declare it identically on both ends.
ChannelId add_asset_channel(ChannelTable& table, double bandwidth_share = 0.25);

/// Serves chunks to the server's clients on the asset channel, from a folder publish_release wrote. Requests are
/// 33-byte messages (a tag and a chunk name); a client with more than `max_queued` requests waiting is refused the
/// excess (counted), and answers wait in a per-client queue while the channel's queue is full.
class AssetServer
{
  public:
    AssetServer(Server& server, ChannelId channel, std::filesystem::path published, std::size_t max_queued = 16);
    ~AssetServer();
    /// True when `event` was an asset request (consumed); answers go out now or at a later update.
    bool handle(const NetworkEvent& event, Timestamp now);
    void update(Timestamp now);
    std::uint64_t chunks_served() const noexcept;
    std::uint64_t requests_refused() const noexcept;  ///< malformed, over the queue bound, or not published

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// GETs `origin`/manifest and reads it (read_manifest); `text`, when given, receives the signed text as served.
/// Errors: Unavailable, ProtocolError (refused: the message says why).
/// The connection it opened stays open for a fetcher of the same origin (its first chunk does not wait for a
/// handshake).
Result<Manifest> fetch_manifest(std::string_view origin, const PublicKey& trusted,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                std::string* text = nullptr);
/// The same with the fetcher's protocol, trust and timeout (config.origin).
Result<Manifest> fetch_manifest(const FetchConfig& config, const PublicKey& trusted, std::string* text = nullptr);

// ---- Peers as a source, and file sharing between players ---------------------------------------------------

/// Appends the peer asset channel to the table of the mesh's peer sessions (MeshConfig::channels) and returns its
/// id: reliable, the lowest priority, large enough for a have-list or an offer. Every member declares it the same.
ChannelId add_peer_asset_channel(ChannelTable& table);

struct PeerAssetConfig
{
    ChannelId channel = 0;           ///< add_peer_asset_channel's id
    unsigned requests_per_peer = 8;  ///< chunks asked of one peer at once
    std::size_t max_queued = 32;     ///< requests a peer may have waiting on us; the excess is refused (counted)
    std::uint64_t serve_bytes_per_second = 16u << 20;                               ///< upload to each peer, at most
    std::uint64_t upload_budget_bytes = std::numeric_limits<std::uint64_t>::max();  ///< in all; then "missing"
    unsigned max_bad_chunks = 2;  ///< a peer that served this many chunks that failed verification is not asked again
    std::uint64_t max_share_size = 1ull << 30;  ///< offers of larger files are refused before the game sees them
    Duration have_interval = std::chrono::milliseconds(200);  ///< how often newly verified chunks are announced
    ChunkingConfig share_chunking{};                          ///< how offered files are cut
};

using ShareId = std::uint32_t;

/// A peer offers us a file. Nothing is written until the game calls accept().
struct ShareOffered
{
    ClientId peer{};
    ShareId offer = 0;
    std::string name;  ///< the peer's name for it: a plain file name, never a path
    std::uint64_t size = 0;
};
/// Our offer was accepted or refused by `peer`.
struct ShareAnswered
{
    ClientId peer{};
    ShareId offer = 0;
    bool accepted = false;
};
/// An accepted offer's transfer, at most a few times a second.
struct ShareProgress
{
    ClientId peer{};
    ShareId offer = 0;
    FetchProgress progress;
};
/// Every byte verified and the file renamed into place.
struct ShareDone
{
    ClientId peer{};
    ShareId offer = 0;
    std::filesystem::path path;
    FetchProgress progress;
};
struct ShareFailed
{
    ClientId peer{};
    ShareId offer = 0;
    std::string reason;
};
using ShareEvent = std::variant<ShareOffered, ShareAnswered, ShareProgress, ShareDone, ShareFailed>;

/// Hostile or over-limit messages on the peer channel, by reason.
enum class PeerRefusal : std::uint8_t
{
    Malformed,      ///< bytes that do not parse (peer_wire.hpp)
    Unsolicited,    ///< a piece or answer for nothing we asked or offered
    QueueFull,      ///< more requests waiting than max_queued
    NotServable,    ///< a chunk of no release we announced nor file we offered to that peer (answered "missing")
    OverBudget,     ///< asked after the upload budget ran out (answered "missing")
    TooManySets,    ///< have-lists for more releases than we keep per peer
    OfferTooLarge,  ///< an offer past max_share_size, or chunks that do not add up to its size (refused)
    BadChunk,       ///< a chunk that failed verification (the peer is no longer asked after max_bad_chunks)
    Count
};
const char* to_string(PeerRefusal reason) noexcept;

struct PeerAssetStats
{
    std::uint64_t chunks_served = 0;
    std::uint64_t bytes_served = 0;  ///< stored bytes sent to peers, counted against the upload budget
    std::uint64_t chunks_received = 0;
    std::size_t peers_banned = 0;  ///< peers no longer asked
    std::array<std::uint64_t, static_cast<std::size_t>(PeerRefusal::Count)> refused{};
};

/// This player's side of chunk exchange in a mesh: serves verified chunks of the releases it announces (and files it
/// offers) to peers that ask, within the limits; tracks which peer holds what; carries file-share offers. The game
/// passes the mesh's events to handle() and calls update() each frame. Single-threaded, never blocks.
class AssetPeers
{
  public:
    /// Peers already connected are known from the start (a restart of this side while the mesh lives on).
    /// Errors: InvalidArgument (the channel is not add_peer_asset_channel's in the mesh's table, a zero limit).
    static Result<std::unique_ptr<AssetPeers>> create(Mesh& mesh, ChunkStore& store, PeerAssetConfig config,
                                                      Timestamp now);
    ~AssetPeers();

    /// True when `event` was the peer asset channel's (consumed). Joins and leaves are seen and not consumed.
    bool handle(const MeshEvent& event, Timestamp now);
    /// Sends answers within the rate limits, announces newly verified chunks, runs accepted shares.
    void update(Timestamp now);

    /// Serves this release's chunks that the store holds, and tells every peer which (and more as they verify).
    void announce(const Manifest& manifest, Timestamp now);

    /// Offers the file at `file` to `to` (or to every connected peer): cut, stored and pinned here, then offered.
    /// Errors: IoError, InvalidArgument (not a regular file, a name that is not plain, past max_share_size),
    /// NotConnected (no such peer connected).
    Result<ShareId> share_file(const std::filesystem::path& file, std::optional<ClientId> to, Timestamp now);
    /// Starts fetching an offer to `destination` (written as `destination`.part, renamed when complete; verified
    /// chunks stay in the store, so accepting the same file again after a restart fetches only the rest).
    /// Errors: InvalidArgument (no such pending offer).
    Result<void> accept(ClientId peer, ShareId offer, std::filesystem::path destination, Timestamp now);
    /// Tells the peer no; nothing is written.
    void refuse(ClientId peer, ShareId offer, Timestamp now);
    std::vector<ShareEvent> take_events();

    PeerAssetStats stats() const;

    struct Impl;

  private:
    explicit AssetPeers(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
    friend class AssetFetcher;
};

}  // namespace eustress::net::assets
