// The CRDT document's merge (src/crdt/document_merge.cpp) on arbitrary bytes, against a document with some state.
// What a merge promises: refused bytes change nothing; accepted bytes merged again change nothing (a join is
// idempotent); and the result still round-trips through a snapshot to an identical replica.
#include <cstdint>
#include <string_view>

#include "eustress/net/crdt.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;

namespace {

constexpr WallTime kNow{1'800'000'000'000};

DocumentConfig config(ReplicaId replica)
{
    DocumentConfig built;
    built.replica = replica;
    built.replicas = {1, 2, 3};
    built.component_types = 8;
    built.max_value_bytes = 256;
    built.may_write = [](ReplicaId writer, EntityKey entity) {
        return writer != 3 || key_replica(entity) == 3;
    };
    return built;
}

Document seeded_document()
{
    Document document(config(2));
    Document other(config(1));
    Delta delta;
    for (int i = 0; i < 4; ++i)
    {
        const auto entity = *other.spawn(kNow, delta);
        other.set(entity, 1, as_bytes_of("value"), kNow, delta);
        other.add(entity, 2, 7, kNow, delta);
        if (i == 2)
            other.despawn(entity, kNow, delta);
        if (i == 1)  // a sequence with a removal, so sequence fragments meet existing elements
        {
            const auto first = other.insert_after(entity, 3, std::nullopt, as_bytes_of("first"), kNow, delta);
            const auto second = other.insert_after(entity, 3, first, as_bytes_of("second"), kNow, delta);
            other.insert_after(entity, 3, second, as_bytes_of("third"), kNow, delta);
            other.remove_element(entity, 3, *second, kNow, delta);
        }
    }
    (void)document.merge(other.encode(delta), kNow);
    return document;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const Document pristine = seeded_document();
    static const std::vector<std::byte> pristine_state = pristine.canonical_state();
    Document document(config(2));
    (void)document.merge(pristine.snapshot(), kNow);

    const Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
    if (document.merge(bytes, kNow))
    {
        if (document.canonical_state() != pristine_state)
            __builtin_trap();  // a refusal changed the world
        return 0;
    }
    const auto merged = document.canonical_state();
    (void)document.merge(bytes, kNow);
    if (document.canonical_state() != merged)
        __builtin_trap();  // merging twice differs from once
    Document copy(config(3));
    if (copy.merge(document.snapshot(), kNow) || copy.canonical_state() != merged)
        __builtin_trap();  // the state does not survive its own snapshot
    return 0;
}
