#include <gtest/gtest.h>

#include "asset_test_data.hpp"
#include "eustress/net/assets.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using namespace eustress::net::assets::test;

namespace {

const PublisherKeys& publisher()
{
    static const PublisherKeys keys = generate_publisher_keys();
    return keys;
}

Manifest two_file_manifest()
{
    Manifest manifest;
    manifest.release = "2026.12";
    const auto a = random_bytes(1000, 1), b = random_bytes(500, 2);
    manifest.files.push_back(
        {"maps/arena.map", 1500, {{hash_chunk(a), 0, 1000, 1001}, {hash_chunk(b), 1000, 500, 501}}});
    manifest.files.push_back({"skins/red.png", 1000, {{hash_chunk(a), 0, 1000, 1001}}});
    return manifest;
}

/// A body with one file line and one chunk line as given (for the bound checks).
std::string body_with(const std::string& file_line, const std::string& chunk_line)
{
    return "eustress-manifest 1\nrelease r\npublisher " + public_key_to_hex(publisher().public_key) + "\nfiles 1\n" +
           file_line + "\n" + chunk_line + "\n";
}

ManifestRefusal refusal_of(const std::string& body)
{
    auto parsed = parse_manifest_body(body);
    EXPECT_FALSE(parsed) << body;
    return parsed ? ManifestRefusal::Malformed : parsed.error().reason;
}

const std::string kHash = std::string(64, 'a');

}  // namespace

TEST(Manifest, ASignedManifestReadsBackEqual)
{
    auto manifest = two_file_manifest();
    const auto text = write_manifest(manifest, publisher());
    auto read = read_manifest(text, publisher().public_key);
    ASSERT_TRUE(read) << read.error().message;
    manifest.publisher = publisher().public_key;
    EXPECT_EQ(*read, manifest);
    EXPECT_EQ(read->chunk_ids().size(), 2u);
    EXPECT_NE(read->find("skins/red.png"), nullptr);
}

TEST(Manifest, AnAlteredByteBreaksTheSignature)
{
    auto text = write_manifest(two_file_manifest(), publisher());
    text[text.find("1500")] = '2';  // the file grows to 2500 bytes
    auto read = read_manifest(text, publisher().public_key);
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().reason, ManifestRefusal::BadSignature);
}

TEST(Manifest, AnotherPublishersSignatureIsRefused)
{
    const auto text = write_manifest(two_file_manifest(), generate_publisher_keys());
    auto read = read_manifest(text, publisher().public_key);
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().reason, ManifestRefusal::BadSignature);
}

TEST(Manifest, ATruncatedManifestIsRefused)
{
    const auto text = write_manifest(two_file_manifest(), publisher());
    EXPECT_FALSE(read_manifest(text.substr(0, text.size() / 2), publisher().public_key));
    EXPECT_FALSE(read_manifest(text.substr(0, text.size() - 1), publisher().public_key));
}

TEST(ManifestBounds, PathTraversalAndAbsolutePathsAreUnsafe)
{
    const std::string chunk = "chunk 0 10 11 " + kHash;
    for (const std::string& path :
         std::vector<std::string>{"../../etc/passwd", "maps/../../x", "/etc/passwd", "a//b", "./a", "a\\..\\b",
                                  "C:/windows/x", "a/b/", std::string("a\tb")})
        EXPECT_EQ(refusal_of(body_with("file 10 1 " + path, chunk)), ManifestRefusal::UnsafePath) << path;
}

TEST(ManifestBounds, AbsurdSizesAndCountsAreRefusedBeforeAllocating)
{
    const std::string chunk = "chunk 0 10 11 " + kHash;
    EXPECT_EQ(refusal_of(body_with("file 10 1 " + std::string(600, 'a'), chunk)), ManifestRefusal::UnsafePath);
    EXPECT_EQ(refusal_of(body_with("file 99999999999999999 1 a", chunk)), ManifestRefusal::TooLarge);
    EXPECT_EQ(refusal_of(body_with("file 10 18446744073709551615 a", chunk)), ManifestRefusal::TooLarge);
    EXPECT_EQ(refusal_of(body_with("file 10 1 a", "chunk 0 99999999 11 " + kHash)), ManifestRefusal::TooLarge);
    const auto header = "eustress-manifest 1\nrelease r\npublisher " + public_key_to_hex(publisher().public_key);
    EXPECT_EQ(refusal_of(header + "\nfiles 99999999999\n"), ManifestRefusal::TooLarge);
}

TEST(ManifestBounds, AStoredSizeLargerThanAnyEncodingIsRefused)
{
    EXPECT_EQ(refusal_of(body_with("file 10 1 a", "chunk 0 10 12 " + kHash)), ManifestRefusal::StoredSizeAbsurd);
}

TEST(ManifestBounds, ChunksThatDoNotCoverTheFileAreInconsistent)
{
    EXPECT_EQ(refusal_of(body_with("file 20 1 a", "chunk 0 10 11 " + kHash)), ManifestRefusal::Inconsistent);
    EXPECT_EQ(refusal_of(body_with("file 10 1 a", "chunk 5 10 11 " + kHash)), ManifestRefusal::Inconsistent);
    EXPECT_EQ(refusal_of(body_with("file 5 1 a", "chunk 0 10 11 " + kHash)), ManifestRefusal::Inconsistent);
}

TEST(ManifestBounds, DuplicatePathsAndAFileThatIsAlsoAFolderAreInconsistent)
{
    auto manifest = two_file_manifest();
    manifest.files[1] = manifest.files[0];
    auto text = write_manifest(manifest, publisher());
    EXPECT_EQ(refusal_of(text.substr(0, text.rfind("signature"))), ManifestRefusal::Inconsistent);
    manifest = two_file_manifest();
    manifest.files[0].path = "maps";
    manifest.files[1].path = "maps/x";
    text = write_manifest(manifest, publisher());
    EXPECT_EQ(refusal_of(text.substr(0, text.rfind("signature"))), ManifestRefusal::Inconsistent);
}

TEST(ManifestBounds, NumbersWithSignsOrLeadingZerosAreMalformed)
{
    EXPECT_EQ(refusal_of(body_with("file +10 1 a", "chunk 0 10 11 " + kHash)), ManifestRefusal::Malformed);
    EXPECT_EQ(refusal_of(body_with("file 010 1 a", "chunk 0 10 11 " + kHash)), ManifestRefusal::Malformed);
    EXPECT_EQ(refusal_of(body_with("file 10 1 a", "chunk 0 10 11 " + kHash + " extra")), ManifestRefusal::Malformed);
}
