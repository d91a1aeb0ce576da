-- Wireshark dissector for Eustress Net framing inside QUIC (docs/WIRE.md, src/session/wire_format.*).
--
-- Wireshark decrypts QUIC with a TLS key log (eustress-server/-client --key-log FILE, then
-- `-o tls.keylog_file:FILE`). This script runs after the QUIC dissector (a postdissector) and reads what it
-- decoded: the STREAM frames (`quic.stream.*`, `quic.stream_data`) and the DATAGRAM frame payloads (`quic.dg`).
-- Stream bytes are put back in order per connection and stream, so a message split across packets is shown
-- in the packet that completes it; retransmitted bytes are shown once.
--
--   tshark -r capture.pcap -o tls.keylog_file:keys.log -X lua_script:tools/wireshark/eustress.lua -Y eustress \
--          -T fields -e eustress.channel -e eustress.text
--
-- Channel kinds are not on the wire (a sequenced datagram is told apart only by its channel's kind), so the
-- channel table is a preference; the default is ChannelTable::defaults() plus add_replication_channels().

local eustress = Proto("eustress", "Eustress Net")

local stream_kinds = { [0] = "control", [1] = "ordered channel", [2] = "unordered lane" }
local control_types = { [1] = "Hello", [2] = "Welcome" }
local directions = { [0] = "client to server", [1] = "server to client" }

local pf = {
    carrier = ProtoField.string("eustress.carrier", "Carried in"),  -- "stream" or "datagram"
    direction = ProtoField.uint8("eustress.direction", "Direction", base.DEC, directions),
    connection = ProtoField.uint32("eustress.connection", "QUIC connection number"),
    stream_id = ProtoField.uint64("eustress.stream_id", "QUIC stream id"),
    stream_kind = ProtoField.uint8("eustress.stream_kind", "Stream kind", base.DEC, stream_kinds),
    channel = ProtoField.uint8("eustress.channel", "Channel"),
    channel_name = ProtoField.string("eustress.channel_name", "Channel name"),
    message_id = ProtoField.uint32("eustress.message_id", "Message id",
        base.DEC, nil, nil, "Reliable: the message's position on its stream, from 0. Sequenced datagrams: the sequence"),
    length = ProtoField.uint32("eustress.length", "Payload length"),
    payload = ProtoField.bytes("eustress.payload", "Payload"),
    text = ProtoField.string("eustress.text", "Payload as text"),
    control_type = ProtoField.uint8("eustress.control_type", "Control frame", base.DEC, control_types),
    hello_version = ProtoField.uint8("eustress.hello.version", "Protocol version"),
    hello_fingerprint = ProtoField.uint64("eustress.hello.channel_fingerprint", "Channel table fingerprint", base.HEX),
    hello_token = ProtoField.bytes("eustress.hello.connect_token", "Connect token"),
    hello_build = ProtoField.string("eustress.hello.build_id", "Build id"),
    welcome_client = ProtoField.uint64("eustress.welcome.client_id", "Client id"),
    fragmented = ProtoField.bool("eustress.fragmented", "Fragmented"),
    sequence = ProtoField.uint16("eustress.sequence", "Sequence"),
    fragment_group = ProtoField.uint16("eustress.fragment.group", "Fragment group"),
    fragment_index = ProtoField.uint8("eustress.fragment.index", "Fragment index"),
    fragment_count = ProtoField.uint8("eustress.fragment.count", "Fragment count"),
    snapshot_sequence = ProtoField.uint32("eustress.snapshot.sequence", "Snapshot sequence"),
    snapshot_tick = ProtoField.uint32("eustress.snapshot.tick", "Tick"),
    snapshot_actions = ProtoField.uint64("eustress.snapshot.actions_required", "Actions required"),
    snapshot_baseline = ProtoField.uint32("eustress.snapshot.baseline", "Baseline sequence (0 = none)"),
    snapshot_entries = ProtoField.uint32("eustress.snapshot.entries", "Entries"),
    incomplete = ProtoField.uint32("eustress.incomplete", "Bytes of a message continued in a later packet"),
    error = ProtoField.string("eustress.error", "Malformed"),
}
eustress.fields = pf

eustress.prefs.channel_names = Pref.string("Channel names",
    "reliable,unreliable,state,events,replication.entities,replication.snapshots",
    "Comma-separated names of channels 0, 1, 2, ... (display only)")
eustress.prefs.sequenced_channels = Pref.string("UnreliableSequenced channels", "2",
    "Comma-separated ids of the UnreliableSequenced channels: their datagrams carry a 16-bit sequence")
eustress.prefs.snapshot_channel = Pref.uint("Snapshot channel", 5,
    "Channel whose datagrams are replication snapshots (their header is decoded); 64 = none")

local f_stream_id = Field.new("quic.stream.stream_id")
local f_stream_off = Field.new("quic.stream.off")
local f_stream_offset = Field.new("quic.stream.offset")
local f_stream_data = Field.new("quic.stream_data")
local f_datagram = Field.new("quic.dg")
local f_connection = Field.new("quic.connection.number")

-- ---- little readers over Lua strings (1-based positions); each returns nil when the bytes run out --------------

local function u8(s, pos)
    if pos > #s then return nil end
    return s:byte(pos), pos + 1
end

local function u16le(s, pos)
    if pos + 1 > #s then return nil end
    return s:byte(pos) + 256 * s:byte(pos + 1), pos + 2
end

-- QUIC varint (RFC 9000 section 16). Values past 2^53 lose precision; no length we accept comes near.
local function quic_varint(s, pos)
    local first = u8(s, pos)
    if not first then return nil end
    local length = 2 ^ math.floor(first / 64)
    if pos + length - 1 > #s then return nil end
    local value = first % 64
    for i = 1, length - 1 do value = value * 256 + s:byte(pos + i) end
    return value, pos + length
end

-- The 7-bit groups, least significant first, that snapshot headers start with (byte-aligned at the start).
local function leb128(s, pos)
    local value, scale = 0, 1
    for group = 0, 9 do
        local byte = u8(s, pos + group)
        if not byte then return nil end
        value = value + (byte % 128) * scale
        scale = scale * 128
        if byte < 128 then return value, pos + group + 1 end
    end
    return nil
end

local function id_set(text)
    local set = {}
    for id in tostring(text):gmatch("%d+") do set[tonumber(id)] = true end
    return set
end

local function channel_name(channel)
    local index = 0
    for name in tostring(eustress.prefs.channel_names):gmatch("[^,]+") do
        if index == channel then return name end
        index = index + 1
    end
    return "channel " .. channel
end

local function printable(s)
    return #s > 0 and not s:find("[^\32-\126\t\r\n]")
end

-- ---- state: per connection and stream, the bytes in order; per frame, what to show ----------------------------

local streams = {}           -- "connection:stream id" -> { next, buffer, pending, header, count }
local records_by_frame = {}  -- frame number -> list of decoded records
local clients = {}           -- connection number -> "address:port" that sent its first packet (the client)

function eustress.init()
    streams = {}
    records_by_frame = {}
    clients = {}
end

-- Parses what it can from the front of the stream's buffer; returns the records it completed.
local function drain_stream(stream, key_stream_id)
    local out = {}
    while true do
        local buffer = stream.buffer
        if #buffer == 0 then break end
        if not stream.header then
            local kind = buffer:byte(1)
            if kind == 0 then
                stream.header = { kind = 0 }
                stream.buffer = buffer:sub(2)
            elseif kind == 1 or kind == 2 then
                if #buffer < 2 then break end
                stream.header = { kind = kind, channel = buffer:byte(2) }
                stream.buffer = buffer:sub(3)
                if stream.header.channel >= 64 then
                    out[#out + 1] = { error = "channel " .. stream.header.channel .. " past 63 in the stream header" }
                    stream.broken = true
                    break
                end
            else
                out[#out + 1] = { error = "unknown stream kind " .. kind .. " on stream " .. key_stream_id }
                stream.broken = true
                break
            end
        else
            local pos, type = 1, nil
            if stream.header.kind == 0 then
                type, pos = quic_varint(buffer, pos)
                if not type then break end
            end
            local length
            length, pos = quic_varint(buffer, pos)
            if not length then break end
            if pos + length - 1 > #buffer then break end
            out[#out + 1] = {
                carrier = "stream", stream_kind = stream.header.kind, channel = stream.header.channel,
                control_type = type, message_id = stream.count, raw = buffer:sub(1, pos + length - 1),
                payload_start = pos, length = length,
            }
            stream.count = stream.count + 1
            stream.buffer = buffer:sub(pos + length)
        end
    end
    return out
end

local function add_stream_chunk(connection, stream_id, offset, data)
    local key = connection .. ":" .. tostring(stream_id)
    local stream = streams[key]
    if not stream then
        stream = { next = 0, buffer = "", pending = {}, count = 0 }
        streams[key] = stream
    end
    if stream.broken then return {}, stream end
    if offset > stream.next then
        stream.pending[offset] = data  -- a gap: wait for the bytes before it
        return {}, stream
    end
    if offset + #data <= stream.next then return {}, stream end  -- all seen before (retransmission)
    stream.buffer = stream.buffer .. data:sub(stream.next - offset + 1)
    stream.next = offset + #data
    local filled = true
    while filled do
        filled = false
        for start, bytes in pairs(stream.pending) do
            if start <= stream.next then
                stream.pending[start] = nil
                if start + #bytes > stream.next then
                    stream.buffer = stream.buffer .. bytes:sub(stream.next - start + 1)
                    stream.next = start + #bytes
                end
                filled = true
            end
        end
    end
    return drain_stream(stream, stream_id), stream
end

local function decode_datagram(bytes)
    local record = { carrier = "datagram", raw = bytes }
    local first = u8(bytes, 1)
    if not first then
        record.error = "empty datagram"
        return record
    end
    record.channel = first % 64
    record.fragmented = first >= 128
    if math.floor(first / 64) % 2 == 1 then
        record.error = "reserved bit set"
        return record
    end
    local pos = 2
    if id_set(eustress.prefs.sequenced_channels)[record.channel] then
        record.sequence, pos = u16le(bytes, pos)
        if not record.sequence then
            record.error = "truncated sequence"
            return record
        end
        record.message_id = record.sequence
    end
    if record.fragmented then
        local group, index, count
        group, pos = u16le(bytes, pos)
        if group then index, pos = u8(bytes, pos) end
        if index then count, pos = u8(bytes, pos) end
        if not count then
            record.error = "truncated fragment header"
            return record
        end
        if count < 2 or index >= count then
            record.error = "fragment " .. index .. " of " .. count
            return record
        end
        record.fragment_group, record.fragment_index, record.fragment_count = group, index, count
    end
    record.payload_start = pos
    record.length = #bytes - pos + 1
    return record
end

-- A bundle (first byte 0xC0): records `varint length, datagram`, two at least; each decoded as a datagram of its
-- own. Broken framing makes one error record for the whole bundle, as the library drops it whole.
local function decode_datagram_frame(bytes)
    if u8(bytes, 1) ~= 0xC0 then return { decode_datagram(bytes) } end
    local records, pos = {}, 2
    while pos <= #bytes do
        local length, after = quic_varint(bytes, pos)
        if not length or length == 0 or after + length - 1 > #bytes then
            return { { carrier = "datagram", error = "malformed bundle: bad record length at byte " .. pos } }
        end
        records[#records + 1] = decode_datagram(bytes:sub(after, after + length - 1))
        pos = after + length
    end
    if #records < 2 then
        return { { carrier = "datagram", error = "malformed bundle: fewer than two records" } }
    end
    for i, record in ipairs(records) do record.bundled = i .. " of " .. #records end
    return records
end

local function decode_frame(pinfo)
    local records = {}
    local connections = { f_connection() }
    if #connections == 0 then return records end
    local connection = connections[1].value
    local source = tostring(pinfo.src) .. ":" .. tostring(pinfo.src_port)
    clients[connection] = clients[connection] or source
    local ids, offs, offsets, datas = { f_stream_id() }, { f_stream_off() }, { f_stream_offset() }, { f_stream_data() }
    if #ids ~= #datas or #ids ~= #offs then
        records[1] = { error = "cannot pair STREAM frame fields (" .. #ids .. " ids, " .. #datas .. " data)" }
        return records
    end
    local next_offset = 1
    for i, id_field in ipairs(ids) do
        local stream_id = id_field.value
        local offset = 0
        if offs[i].value then
            offset = offsets[next_offset].value:tonumber()
            next_offset = next_offset + 1
        end
        -- Bidirectional streams (bit 0x2 clear) carry no session records: each end's only one is its DATAGRAM
        -- anchor (docs/DESIGN.md), one byte and then empty frames.
        if math.floor(stream_id:tonumber() / 2) % 2 == 1 then
            local data = datas[i].range and datas[i].range:bytes():raw() or ""
            local completed, stream = add_stream_chunk(connection, stream_id, offset, data)
            for _, record in ipairs(completed) do
                record.stream_id = stream_id
                record.direction = (stream_id:tonumber() % 2)
                records[#records + 1] = record
            end
            if #stream.buffer > 0 and not stream.broken then
                records[#records + 1] = { stream_id = stream_id, incomplete = #stream.buffer,
                    direction = (stream_id:tonumber() % 2), carrier = "stream" }
            end
        end
    end
    for _, datagram in ipairs({ f_datagram() }) do
        for _, record in ipairs(decode_datagram_frame(datagram.range and datagram.range:bytes():raw() or "")) do
            record.direction = clients[connection] == source and 0 or 1
            records[#records + 1] = record
        end
    end
    for _, record in ipairs(records) do record.connection = connection end
    return records
end

-- ---- showing a record ---------------------------------------------------------------------------------------

local function show_hello(tree, tvb, s, start, stop)
    local pos = start
    if stop - pos + 1 < 9 then
        tree:add(pf.error, "hello shorter than version and fingerprint")
        return
    end
    tree:add(pf.hello_version, tvb(pos - 1, 1))
    tree:add_le(pf.hello_fingerprint, tvb(pos, 8))
    pos = pos + 9
    if pos > stop then return end
    local length, after = quic_varint(s, pos)
    if not length or after + length - 1 > stop then
        tree:add(pf.error, "connect token length past the end")
        return
    end
    if length > 0 then tree:add(pf.hello_token, tvb(after - 1, length)) end
    pos = after + length
    if pos > stop then return end
    length, after = quic_varint(s, pos)
    if not length or after + length - 1 ~= stop then
        tree:add(pf.error, "build id length does not match the rest of the hello")
        return
    end
    tree:add(pf.hello_build, tvb(after - 1, length))
end

local function show_snapshot_header(tree, tvb, s, start)
    local values, pos = {}, start
    for i = 1, 5 do
        values[i], pos = leb128(s, pos)
        if not values[i] then
            tree:add(pf.error, "truncated snapshot header")
            return
        end
    end
    local sequence, tick, actions, distance, entries = values[1], values[2], values[3], values[4], values[5]
    local header = tree:add(eustress, tvb(start - 1, pos - start), "Snapshot header")
    header:add(pf.snapshot_sequence, sequence):set_generated()
    header:add(pf.snapshot_tick, tick):set_generated()
    header:add(pf.snapshot_actions, UInt64.new(actions)):set_generated()
    header:add(pf.snapshot_baseline, distance == 0 and 0 or sequence - distance):set_generated()
    header:add(pf.snapshot_entries, entries):set_generated()
end

local function show(record, tree)
    if record.error and not record.raw then
        tree:add(eustress):add(pf.error, record.error)
        return
    end
    local summary
    if record.incomplete then
        local item = tree:add(eustress, "Eustress Net: " .. record.incomplete .. " bytes of a message continued later")
        item:add(pf.carrier, "stream")
        item:add(pf.stream_id, record.stream_id)
        item:add(pf.incomplete, record.incomplete)
        return
    end
    local tvb = ByteArray.new(record.raw, true):tvb("Eustress " .. record.carrier)
    local root = tree:add(eustress, tvb())
    root:add(pf.carrier, record.carrier)
    root:add(pf.connection, record.connection)
    if record.direction then root:add(pf.direction, record.direction) end
    if record.carrier == "stream" then
        root:add(pf.stream_id, record.stream_id)
        root:add(pf.stream_kind, record.stream_kind)
        summary = stream_kinds[record.stream_kind]
    else
        summary = record.bundled and ("bundled datagram " .. record.bundled .. ",") or "datagram"
    end
    if record.channel then
        root:add(pf.channel, record.channel)
        root:add(pf.channel_name, channel_name(record.channel))
        summary = summary .. " " .. record.channel .. " (" .. channel_name(record.channel) .. ")"
    end
    if record.error then
        root:add(pf.error, record.error)
        root:append_text(": " .. summary .. ", malformed: " .. record.error)
        return
    end
    if record.sequence then root:add_le(pf.sequence, tvb(1, 2)) end
    if record.fragmented ~= nil then root:add(pf.fragmented, record.fragmented) end
    if record.fragment_group then
        local at = record.payload_start - 5
        root:add_le(pf.fragment_group, tvb(at, 2))
        root:add(pf.fragment_index, tvb(at + 2, 1))
        root:add(pf.fragment_count, tvb(at + 3, 1))
        summary = summary .. string.format(" fragment %d/%d of group %d", record.fragment_index + 1,
            record.fragment_count, record.fragment_group)
    end
    if record.message_id then root:add(pf.message_id, record.message_id):set_generated() end
    root:add(pf.length, record.length):set_generated()
    local payload = record.raw:sub(record.payload_start, record.payload_start + record.length - 1)
    if record.length > 0 then root:add(pf.payload, tvb(record.payload_start - 1, record.length)) end
    if record.control_type then
        root:add(pf.control_type, record.control_type)
        summary = summary .. " " .. (control_types[record.control_type] or ("type " .. record.control_type))
        if record.control_type == 1 then
            show_hello(root, tvb, record.raw, record.payload_start, #record.raw)
        elseif record.control_type == 2 then
            local id = quic_varint(record.raw, record.payload_start)
            if id then root:add(pf.welcome_client, UInt64.new(id)) else root:add(pf.error, "truncated welcome") end
        end
    elseif record.carrier == "datagram" and record.channel == eustress.prefs.snapshot_channel
        and (not record.fragment_group or record.fragment_index == 0) then
        show_snapshot_header(root, tvb, record.raw, record.payload_start)
    elseif printable(payload) then
        root:add(pf.text, payload)
        summary = summary .. ' "' .. payload .. '"'
    end
    if record.message_id then summary = summary .. " #" .. record.message_id end
    root:append_text(": " .. summary .. ", " .. record.length .. " bytes")
end

function eustress.dissector(tvb, pinfo, tree)
    local records = records_by_frame[pinfo.number]
    if not records then
        if pinfo.visited then return end  -- seen in the first pass without anything of ours
        records = decode_frame(pinfo)
        records_by_frame[pinfo.number] = records
    end
    if #records == 0 then return end
    for _, record in ipairs(records) do show(record, tree) end
    pinfo.cols.protocol:append("/EUSTRESS")
end

register_postdissector(eustress, true)
