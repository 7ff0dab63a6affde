-- SPDX-License-Identifier: BSD-3-Clause
-- KCP, the KingCobra appliance's protocol (docs/protocol.md), for
-- Wireshark and tshark 4.x (Lua 5.2). Every header field, the message
-- id's time, client and sequence, and every op's request and REPLY
-- payload, the DELIVER message of service calls, status names and reason
-- texts. Malformed messages (bad magic, version, type or flags, lengths
-- that do not add up, an unknown op, a payload that runs short or has
-- bytes left over) are marked with expert info; nothing raises a Lua
-- error. Decodes UDP port 60000 (the default kcp.udp_port; change it in
-- Preferences > Protocols > KCP, or Decode As).
--
--   tshark -X lua_script:deploy/wireshark/kcp.lua -r capture.pcap
--   mkdir -p ~/.local/lib/wireshark/plugins && cp kcp.lua "$_"   # Wireshark
--
-- docs/operations.md ("Capturing and decoding KCP") says how to capture.

local kcp = Proto("kcp", "KingCobra Protocol")

local HDR_LEN = 64
local MAGIC = 0x4B43

local types = { [1] = "REQUEST", [2] = "REPLY", [3] = "DELIVER" }
local ops = {
  [1] = "PING", [2] = "PUBLISH", [3] = "FETCH", [4] = "COMMIT", [5] = "OFFSET",
  [6] = "TIME", [16] = "MINT", [17] = "TRANSFER", [18] = "SPLIT", [19] = "MERGE",
  [20] = "BURN", [21] = "BALANCE", [22] = "COIN", [23] = "TRAIL", [24] = "AUDIT",
  [48] = "SERVE", [49] = "UNSERVE", [50] = "CALL", [51] = "RESPOND",
  [52] = "REPORT", [53] = "SETTLE",
}
local statuses = {
  [0] = "OK", [1] = "BAD_REQUEST", [2] = "UNKNOWN_OP", [3] = "NOT_FOUND",
  [4] = "QUEUE_FULL", [5] = "NO_SPACE", [6] = "TOO_LARGE", [7] = "OUT_OF_RANGE",
  [8] = "UNAVAILABLE", [9] = "INTERNAL", [10] = "STORAGE_FULL",
  [11] = "STORAGE_FAILED", [12] = "EXPIRED", [13] = "FORBIDDEN",
  [14] = "NOT_OWNER", [15] = "COIN_DEAD", [16] = "TIMEOUT",
}
local hop_kinds = { [1] = "mint", [2] = "transfer", [3] = "split", [4] = "merge",
  [5] = "burn", [6] = "escrow", [7] = "pay", [8] = "refund", [9] = "hold" }
local coin_states = { [1] = "LIVE", [2] = "DEAD" }
local settlements = { [1] = "paid", [2] = "held", [3] = "refunded" }
local report_kinds = { [1] = "problem", [2] = "suggestion" }
local settle_actions = { [1] = "timeout", [2] = "release", [3] = "rule-pay",
  [4] = "rule-refund", [5] = "quarantine" }

local f = {}
local function field(name, ctor, abbr, desc, ...)
  f[name] = ctor("kcp." .. abbr, desc, ...)
end
local U8, U16, U32, U64 = ProtoField.uint8, ProtoField.uint16, ProtoField.uint32,
  ProtoField.uint64
field("magic", U16, "magic", "Magic", base.HEX)
field("version", U8, "version", "Version")
field("type", U8, "type", "Type", base.DEC, types)
field("op", U8, "op", "Op", base.DEC, ops)
field("flags", U8, "flags", "Flags", base.HEX)
field("status", U16, "status", "Status", base.DEC, statuses)
field("msg_id", ProtoField.bytes, "msg_id", "Message id")
field("msg_time", ProtoField.absolute_time, "msg_id.time", "Message id time",
  base.UTC)
field("msg_client", U32, "msg_id.client", "Message id client")
field("msg_seq", U64, "msg_id.seq", "Message id sequence")
field("client_id", U32, "client_id", "Client id")
field("payload_len", U32, "payload_len", "Payload length")
field("tag", ProtoField.bytes, "tag", "Tag (HMAC-SHA256)")
field("payload", ProtoField.bytes, "payload", "Payload")
field("reason", ProtoField.string, "reason", "Reason")
-- queues
field("queue", ProtoField.string, "queue", "Queue")
field("consumer", ProtoField.string, "consumer", "Consumer")
field("message", ProtoField.bytes, "message", "Message")
field("offset", U64, "offset", "Offset")
field("max", U16, "max", "Max records")
field("first_offset", U64, "first_offset", "First offset")
field("next_offset", U64, "next_offset", "Next offset")
field("end_offset", U64, "end_offset", "End offset")
field("count", U32, "count", "Count")
field("record", ProtoField.bytes, "record", "Record")
field("record_len", U32, "record_len", "Record length")
field("time_ns", U64, "time_ns", "Time (ns since 1970)")
field("echo", ProtoField.bytes, "echo", "Echo")
-- the ledger
field("account", U32, "account", "Account")
field("from", U32, "from", "From account")
field("to", U32, "to", "To account")
field("denomination", U64, "denomination", "Denomination")
field("coin", U64, "coin", "Coin")
field("first_coin", U64, "first_coin", "First coin")
field("hop_seq", U64, "hop_seq", "Hop seq")
field("balance", U64, "balance", "Balance")
field("coins", U32, "coins", "Coins")
field("owner", U32, "owner", "Owner")
field("coin_state", U8, "coin_state", "Coin state", base.DEC, coin_states)
field("created_seq", U64, "created_seq", "Created at seq")
field("last_hop_seq", U64, "last_hop_seq", "Last hop seq")
field("skip", U32, "skip", "Skip")
field("total", U32, "total", "Total hops")
field("first", U32, "first", "First hop")
field("hop", ProtoField.none, "hop", "Hop")
field("hop_kind", U8, "hop.kind", "Hop kind", base.DEC, hop_kinds)
field("hop_time", ProtoField.absolute_time, "hop.time", "Hop time", base.UTC)
field("hop_call", ProtoField.bytes, "hop.call", "Hop's call")
field("audit_ok", ProtoField.bool, "audit.ok", "Audit ok")
field("minted", U64, "audit.minted", "Minted")
field("burnt", U64, "audit.burnt", "Burnt")
field("live_sum", U64, "audit.live_sum", "Live sum")
field("live_coins", U64, "audit.live_coins", "Live coins")
field("dead_coins", U64, "audit.dead_coins", "Dead coins")
field("accounts", U32, "audit.accounts", "Accounts")
field("violations", U32, "audit.violations", "Violations")
-- service calls
field("svc_type", ProtoField.string, "svc.type", "Service type")
field("price", U64, "svc.price", "Price")
field("max_inflight", U32, "svc.max_inflight", "Max in flight")
field("lease_s", U32, "svc.lease_s", "Lease (s)")
field("lease_end", ProtoField.absolute_time, "svc.lease_end", "Lease ends",
  base.UTC)
field("in_flight", U64, "svc.in_flight", "Calls in flight")
field("deadline_ms", U32, "svc.deadline_ms", "Deadline (ms)")
field("deadline", ProtoField.absolute_time, "svc.deadline", "Deadline", base.UTC)
field("call_payload", ProtoField.bytes, "svc.payload", "Call payload")
field("call_id", ProtoField.bytes, "svc.call_id", "Call id")
field("service", U32, "svc.service", "Service account")
field("caller", U32, "svc.caller", "Caller")
field("svc_status", U16, "svc.status", "Service's status", base.DEC, statuses)
field("settlement", U8, "svc.settlement", "Settlement", base.DEC, settlements)
field("amount", U64, "svc.amount", "Amount")
field("report_kind", U8, "svc.report_kind", "Report kind", base.DEC, report_kinds)
field("report_text", ProtoField.string, "svc.report_text", "Report text")
field("held", ProtoField.bool, "svc.held", "Price held")
field("settle_action", U8, "svc.settle_action", "Settle action", base.DEC,
  settle_actions)

local plist = {}
for _, v in pairs(f) do plist[#plist + 1] = v end
kcp.fields = plist

local ef = {
  magic = ProtoExpert.new("kcp.bad_magic", "Not KCP: bad magic",
    expert.group.MALFORMED, expert.severity.ERROR),
  header = ProtoExpert.new("kcp.bad_header", "Malformed header",
    expert.group.MALFORMED, expert.severity.ERROR),
  length = ProtoExpert.new("kcp.bad_length", "Lengths do not add up",
    expert.group.MALFORMED, expert.severity.ERROR),
  op = ProtoExpert.new("kcp.unknown_op", "Unknown op",
    expert.group.UNDECODED, expert.severity.WARN),
  payload = ProtoExpert.new("kcp.bad_payload", "Malformed payload",
    expert.group.MALFORMED, expert.severity.ERROR),
  status = ProtoExpert.new("kcp.error_status", "Error status",
    expert.group.RESPONSE_CODE, expert.severity.NOTE),
}
kcp.experts = { ef.magic, ef.header, ef.length, ef.op, ef.payload, ef.status }

local prefs = kcp.prefs
prefs.udp_port = Pref.uint("UDP port", 60000, "The appliance's kcp.udp_port")

-- A reader over the payload: each read checks the length first, so a
-- short payload marks the tree instead of raising an error.
local R = {}
R.__index = R
local function reader(tvb, off, len, tree)
  return setmetatable({ tvb = tvb, pos = off, stop = off + len, tree = tree,
    bad = false }, R)
end
function R:left() return self.stop - self.pos end
function R:take(n)
  if self.bad or n < 0 or self:left() < n then
    self.bad = true
    return nil
  end
  local r = self.tvb(self.pos, n)
  self.pos = self.pos + n
  return r
end
function R:add(fld, n, tree)
  local r = self:take(n)
  if r then (tree or self.tree):add(fld, r) end
  return r
end
function R:u(fld, n, tree)
  local r = self:add(fld, n, tree)
  if not r then return nil end
  if n == 8 then return r:uint64() end
  return r:uint()
end
function R:name(fld, tree)
  local lr = self:take(1)
  if not lr then return nil end
  local n = lr:uint()
  if n < 1 or n > 64 then
    self.bad = true
    return nil
  end
  local r = self:take(n)
  if not r then return nil end
  local s = r:string()
  if not s:match("^[A-Za-z0-9._-]+$") or #s ~= n then
    self.bad = true -- bytes outside A-Z a-z 0-9 . _ -
  end
  (tree or self.tree):add(fld, r)
  return s
end
-- A value out of its range marks the payload malformed.
function R:check(ok)
  if not ok then self.bad = true end
end
function R:rest(fld, tree)
  local n = self:left()
  if n > 0 then return self:add(fld, n, tree) end
  return nil
end
function R:blob(fld, tree)
  local n = self:take(2)
  if not n then return nil end
  return self:add(fld, n:uint(), tree)
end
function R:list(fld, most, tree, least)
  local c = self:take(2)
  if not c then return end
  local n = c:uint()
  if n < (least or 1) or n > most then
    self.bad = true
    return
  end
  for _ = 1, n do self:add(fld, 8, tree) end
end
function R:ms_time(fld, tree)
  local r = self:take(8)
  if not r then return end
  local ms, t = r:uint64(), tree or self.tree
  t:add(fld, r, NSTime.new((ms / 1000):tonumber(),
    ((ms % 1000) * 1000000):tonumber()))
end
function R:ns_time(fld, tree)
  local r = self:take(8)
  if not r then return end
  local ns, t = r:uint64(), tree or self.tree
  t:add(fld, r, NSTime.new((ns / 1000000000):tonumber(),
    (ns % 1000000000):tonumber()))
end

-- Each op's request and OK reply payload.
local req, rep = {}, {}
req[1] = function(r) r:rest(f.echo) end
rep[1] = req[1]
req[2] = function(r) r:name(f.queue) r:rest(f.message) end
rep[2] = function(r) r:u(f.offset, 8) end
req[3] = function(r) r:name(f.queue) r:u(f.offset, 8) r:u(f.max, 2) end
rep[3] = function(r)
  r:u(f.first_offset, 8) r:u(f.next_offset, 8) r:u(f.end_offset, 8)
  local c = r:take(2)
  if not c then return end
  r.tree:add(f.count, c, c:uint())
  local reserved = r:take(2)
  if reserved then r:check(reserved:uint() == 0) end
  for _ = 1, c:uint() do
    local n = r:u(f.record_len, 4)
    if not n then return end
    r:add(f.record, n)
  end
end
req[4] = function(r) r:name(f.queue) r:name(f.consumer) r:u(f.offset, 8) end
rep[4] = function() end
req[5] = function(r) r:name(f.queue) r:name(f.consumer) end
rep[5] = function(r) r:u(f.offset, 8) end
req[6] = function() end
rep[6] = function(r) r:u(f.time_ns, 8) end
req[16] = function(r) r:u(f.account, 4) r:u(f.denomination, 8) r:u(f.count, 4) end
local function coins_reply(r) r:u(f.first_coin, 8) r:u(f.count, 4) end
rep[16] = coins_reply
req[17] = function(r) r:u(f.from, 4) r:u(f.to, 4) r:list(f.coin, 128) end
rep[17] = function(r) r:u(f.hop_seq, 8) end
req[18] = function(r) r:u(f.coin, 8) r:list(f.denomination, 128, nil, 2) end
rep[18] = coins_reply
req[19] = function(r) r:list(f.coin, 128, nil, 2) end
rep[19] = function(r) r:u(f.coin, 8) end
req[20] = function(r) r:u(f.coin, 8) end
rep[20] = rep[17]
req[21] = function(r) r:u(f.account, 4) end
rep[21] = function(r) r:u(f.balance, 8) r:u(f.coins, 4) end
req[22] = req[20]
rep[22] = function(r)
  r:u(f.coin, 8) r:u(f.denomination, 8) r:u(f.owner, 4) r:u(f.coin_state, 1)
  r:u(f.created_seq, 8) r:u(f.last_hop_seq, 8)
end
req[23] = function(r) r:u(f.coin, 8) r:u(f.skip, 4) end
rep[23] = function(r)
  local total, first = r:u(f.total, 4), r:u(f.first, 4)
  local c = r:take(2)
  if not c then return end
  r.tree:add(f.count, c, c:uint())
  r:check(first + c:uint() <= total)
  if r:left() ~= c:uint() * 57 then
    r.bad = true
    return
  end
  for i = 1, c:uint() do
    local h = r.tree:add(f.hop, r.tvb(r.pos, 57))
    h:set_text(string.format("Hop %d", i))
    r:u(f.hop_seq, 8, h) r:ns_time(f.hop_time, h) r:u(f.coin, 8, h)
    r:u(f.denomination, 8, h) r:u(f.from, 4, h) r:u(f.to, 4, h)
    local kind = r:u(f.hop_kind, 1, h)
    if kind and kind >= 6 and kind <= 9 then
      r:add(f.hop_call, 16, h)
    else
      r:take(16)
    end
  end
end
req[24] = function() end
rep[24] = function(r)
  local ok = r:u(f.audit_ok, 1)
  r:check(ok == nil or ok <= 1)
  r:u(f.minted, 8) r:u(f.burnt, 8) r:u(f.live_sum, 8)
  r:u(f.live_coins, 8) r:u(f.dead_coins, 8) r:u(f.accounts, 4)
  r:u(f.violations, 4)
end
req[48] = function(r)
  r:name(f.svc_type) r:u(f.price, 8)
  local mi, lease = r:u(f.max_inflight, 4), r:u(f.lease_s, 4)
  r:check(mi == nil or mi >= 1)
  r:check(lease == nil or (lease >= 1 and lease <= 86400))
end
rep[48] = function(r) r:ms_time(f.lease_end) end
req[49] = function(r) r:name(f.svc_type) end
rep[49] = function(r) r:u(f.in_flight, 8) end
req[50] = function(r)
  r:name(f.svc_type)
  local dl = r:u(f.deadline_ms, 4)
  r:check(dl == nil or dl >= 1)
  r:blob(f.call_payload)
  local c = r:take(2)
  if not c then return end
  r.tree:add(f.count, c, c:uint())
  r:check(c:uint() <= 16)
  for _ = 1, c:uint() do r:add(f.coin, 8) end
end
rep[50] = function(r) r:u(f.service, 4) r:u(f.price, 8) r:rest(f.call_payload) end
req[51] = function(r) r:add(f.call_id, 16) r:u(f.svc_status, 2) r:rest(f.call_payload) end
local function settle_reply(r)
  local s = r:u(f.settlement, 1)
  r:check(s == nil or (s >= 1 and s <= 3))
  r:u(f.amount, 8)
end
rep[51] = settle_reply
req[52] = function(r)
  r:add(f.call_id, 16)
  local k = r:u(f.report_kind, 1)
  r:check(k == nil or k == 1 or k == 2)
  r:rest(f.report_text)
end
rep[52] = function(r) r:u(f.held, 1) end
req[53] = function(r)
  r:add(f.call_id, 16)
  local a = r:u(f.settle_action, 1)
  r:check(a == nil or (a >= 1 and a <= 5))
end
rep[53] = settle_reply
local function deliver(r)
  r:u(f.caller, 4) r:ms_time(f.deadline) r:name(f.svc_type)
  local n = r.tvb:len() >= r.pos + 2 and r:left() >= 2 and
    r.tvb(r.pos, 2):uint() or 0
  r:check(n <= 1024)
  r:blob(f.call_payload)
end

function kcp.dissector(tvb, pinfo, tree)
  local len = tvb:len()
  if len < 2 then return 0 end
  pinfo.cols.protocol = "KCP"
  local t = tree:add(kcp, tvb(), "KingCobra Protocol")
  if len < HDR_LEN then
    t:add_proto_expert_info(ef.length, string.format(
      "%d bytes: shorter than the 64-byte header", len))
    pinfo.cols.info = "KCP (malformed: short)"
    return len
  end
  local magic = tvb(0, 2):uint()
  t:add(f.magic, tvb(0, 2))
  if magic ~= MAGIC then
    t:add_proto_expert_info(ef.magic, string.format("bad magic 0x%04x", magic))
    pinfo.cols.info = "KCP (malformed: bad magic)"
    return len
  end
  local version, typ, op = tvb(2, 1):uint(), tvb(3, 1):uint(), tvb(4, 1):uint()
  local flags, status = tvb(5, 1):uint(), tvb(6, 2):uint()
  local plen = tvb(28, 4):uint()
  t:add(f.version, tvb(2, 1))
  t:add(f.type, tvb(3, 1))
  t:add(f.op, tvb(4, 1))
  t:add(f.flags, tvb(5, 1))
  t:add(f.status, tvb(6, 2))
  local mid = t:add(f.msg_id, tvb(8, 16))
  local ms = tvb(8, 6):uint64()
  mid:add(f.msg_time, tvb(8, 6), NSTime.new((ms / 1000):tonumber(),
    ((ms % 1000) * 1000000):tonumber()))
  mid:add(f.msg_client, tvb(14, 4))
  mid:add(f.msg_seq, tvb(18, 6), tvb(18, 6):uint64())
  t:add(f.client_id, tvb(24, 4))
  t:add(f.payload_len, tvb(28, 4))
  t:add(f.tag, tvb(32, 32))
  if version ~= 1 then
    t:add_proto_expert_info(ef.header, string.format("unknown version %d", version))
  end
  if not types[typ] then
    t:add_proto_expert_info(ef.header, string.format("unknown type %d", typ))
  end
  if flags ~= 0 then
    t:add_proto_expert_info(ef.header, "flags must be 0 in version 1")
  end
  if typ ~= 2 and status ~= 0 then
    t:add_proto_expert_info(ef.header, "a REQUEST or DELIVER has status 0")
  end
  if typ == 3 and op ~= 50 then
    t:add_proto_expert_info(ef.header, "a DELIVER's op is CALL (50)")
  end
  if plen > 1408 then
    t:add_proto_expert_info(ef.length, string.format(
      "payload_len %d: at most 1408", plen))
  end
  -- A DELIVER's message id is the call's: the caller's, signed by the
  -- service.
  if typ ~= 3 and tvb(14, 4):uint() ~= tvb(24, 4):uint() then
    t:add_proto_expert_info(ef.header, "the message id's client is not client_id")
  end
  local have = len - HDR_LEN
  if plen ~= have then
    t:add_proto_expert_info(ef.length, string.format(
      "payload_len %d, but %d bytes follow the header", plen, have))
  end
  local opname = ops[op]
  local info = string.format("%s %s", types[typ] or ("type " .. typ),
    opname or ("op " .. op))
  if typ == 2 then
    info = info .. " " .. (statuses[status] or ("status " .. status))
  end
  pinfo.cols.info = string.format("%s client=%d seq=%s", info,
    tvb(24, 4):uint(), tostring(tvb(18, 6):uint64()))
  if not opname then
    t:add_proto_expert_info(ef.op, string.format("unknown op %d", op))
  end
  local n = math.max(0, math.min(plen, have))
  -- An empty payload is decoded too: an op that needs bytes says so.
  local pt = have > 0 and t:add(f.payload, tvb(HDR_LEN, have)) or t
  local r = reader(tvb, HDR_LEN, n, pt)
  if typ == 2 and status ~= 0 then
    -- Every byte, a NUL shown as \0 (the appliance writes none).
    local reason = n > 0 and tvb:raw(HDR_LEN, n):gsub("%z", "\\0") or
      "(no reason)"
    if n > 0 then pt:add(f.reason, tvb(HDR_LEN, n)) end
    t:add_proto_expert_info(ef.status, string.format("%s: %s",
      statuses[status] or ("status " .. status), reason))
    return len
  end
  local fn
  if typ == 3 then
    fn = op == 50 and deliver or nil
  elseif typ == 1 then
    fn = req[op]
  elseif typ == 2 then
    fn = rep[op]
  end
  if not fn then return len end
  fn(r)
  if r.bad then
    t:add_proto_expert_info(ef.payload, "the payload runs short or holds a bad field")
  elseif r:left() > 0 then
    t:add_proto_expert_info(ef.payload, string.format("%d bytes left over",
      r:left()))
  end
  return len
end

local current_port = 0
local function register_port()
  local udp = DissectorTable.get("udp.port")
  if current_port ~= 0 then udp:remove(current_port, kcp) end
  current_port = prefs.udp_port
  udp:add(current_port, kcp)
end
kcp.prefs_changed = register_port
register_port()
