// Byte compatibility of the browser's replication mirror (web/src/mirror.ts) with the server's replication codec:
// a scripted sequence of entity-action batches and snapshots, each a delta against a baseline the browser
// acknowledged, with the world the mirror must hold after each (its fields, and its transforms dequantized by the
// C++ code, as float bits), written for web/test/mirror.test.mjs; and the frames that test wrote back (the ack
// after the sequence, a request for a missing baseline) checked here.
#pragma once

#include <filesystem>

namespace eustress::net::testing {

/// Writes DIR/cpp/mirror_*.bin and DIR/cpp/mirror.json.
void write_mirror_vectors(const std::filesystem::path& dir);
/// A scene for web/tools/browser_bench.mjs: 256 entities spawned, then 60 snapshots in which all of them move, each
/// a delta against the one before (DIR/cpp/mirror_scene_*.bin, mirror_scene.json).
void write_mirror_scene(const std::filesystem::path& dir);
/// Checks DIR/ts/mirror_ack.bin and DIR/ts/mirror_baseline_request.bin; returns the failures.
int check_mirror_vectors(const std::filesystem::path& dir);

}  // namespace eustress::net::testing
