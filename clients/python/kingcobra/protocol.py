# SPDX-License-Identifier: BSD-3-Clause
"""KCP, the appliance's wire protocol (docs/protocol.md), in Python.

The header, message ids, HMAC-SHA256 tags, and the payload of every op's
request and OK reply. Pure functions over bytes: no sockets here (the
clients are in kingcobra.client and kingcobra.aio). Names and numbers
follow lib/proto/kc_proto.h, so the C and Python sides read alike.
"""
from __future__ import annotations

import enum
import hashlib
import hmac
import struct
from dataclasses import dataclass, field

MAGIC = 0x4B43
VERSION = 1
HDR_LEN = 64
HDR_SIGNED_LEN = 32
TAG_LEN = 32
MSG_ID_LEN = 16
DATAGRAM_MAX = 1472
PAYLOAD_MAX = DATAGRAM_MAX - HDR_LEN          # 1408
NAME_MAX = 64
MSG_MAX = PAYLOAD_MAX - 1 - NAME_MAX          # 1343
ERROR_TEXT_MAX = 128
UDP_PORT_DEFAULT = 60000
SEQ_MASK = (1 << 48) - 1
CLIENT_ID_MAX = 0xFFFFFFFE                    # 0xFFFFFFFF is escrow's
ACCOUNT_ESCROW = 0xFFFFFFFF
MINT_COUNT_MAX = 256
COINS_PER_OP_MAX = 128
SPLIT_PARTS_MAX = 128
CALL_COINS_MAX = 16
CALL_PAYLOAD_MAX = 1024
REPORT_TEXT_MAX = 256
HOP_WIRE_LEN = 57
TRAIL_REPLY_FIXED = 10
FETCH_REPLY_FIXED = 28

_HDR = struct.Struct(">HBBBBH16sII")          # the signed 32 bytes
assert _HDR.size == HDR_SIGNED_LEN


class MsgType(enum.IntEnum):
    REQUEST = 1
    REPLY = 2
    DELIVER = 3           # the appliance to a service: a call to serve


class Op(enum.IntEnum):
    PING = 1
    PUBLISH = 2
    FETCH = 3
    COMMIT = 4
    OFFSET = 5
    TIME = 6
    MINT = 16
    TRANSFER = 17
    SPLIT = 18
    MERGE = 19
    BURN = 20
    BALANCE = 21
    COIN = 22
    TRAIL = 23
    AUDIT = 24
    SERVE = 48
    UNSERVE = 49
    CALL = 50
    RESPOND = 51
    REPORT = 52
    SETTLE = 53


# Ops that change state: executed at most once per message id.
MUTATING_OPS = frozenset({Op.PUBLISH, Op.COMMIT, Op.MINT, Op.TRANSFER,
                          Op.SPLIT, Op.MERGE, Op.BURN, Op.SERVE, Op.UNSERVE,
                          Op.CALL, Op.RESPOND, Op.REPORT, Op.SETTLE})


class Status(enum.IntEnum):
    OK = 0
    BAD_REQUEST = 1
    UNKNOWN_OP = 2
    NOT_FOUND = 3
    QUEUE_FULL = 4
    NO_SPACE = 5
    TOO_LARGE = 6
    OUT_OF_RANGE = 7
    UNAVAILABLE = 8
    INTERNAL = 9
    STORAGE_FULL = 10
    STORAGE_FAILED = 11
    EXPIRED = 12
    FORBIDDEN = 13
    NOT_OWNER = 14
    COIN_DEAD = 15
    TIMEOUT = 16


class CoinState(enum.IntEnum):
    LIVE = 1
    DEAD = 2


class HopKind(enum.IntEnum):
    MINT = 1
    TRANSFER = 2
    SPLIT = 3
    MERGE = 4
    BURN = 5
    ESCROW = 6
    PAY = 7
    REFUND = 8
    HOLD = 9


CALL_HOP_KINDS = frozenset({HopKind.ESCROW, HopKind.PAY, HopKind.REFUND,
                            HopKind.HOLD})


class ReportKind(enum.IntEnum):
    PROBLEM = 1
    SUGGESTION = 2


class Settlement(enum.IntEnum):
    PAID = 1
    HELD = 2
    REFUNDED = 3


class KingCobraError(Exception):
    """Everything this package raises about the appliance (re-exported by
    kingcobra.errors)."""


class MalformedError(KingCobraError, ValueError):
    """Bytes that are not what the protocol says they must be (a REPLY
    that does not decode is one: a client rejects it)."""


# ---- message ids ------------------------------------------------------------

def msg_id(unix_ms: int, client_id: int, seq: int) -> bytes:
    """48-bit milliseconds, 32-bit client id, 48-bit sequence, big-endian."""
    if not 0 <= unix_ms < 1 << 48 or not 0 <= seq < 1 << 48:
        raise ValueError("message id time or sequence out of range")
    return (unix_ms.to_bytes(6, "big") + client_id.to_bytes(4, "big") +
            seq.to_bytes(6, "big"))


def msg_id_parts(mid: bytes) -> tuple[int, int, int]:
    """(unix_ms, client_id, seq) of a message id."""
    if len(mid) != MSG_ID_LEN:
        raise MalformedError("a message id is 16 bytes")
    return (int.from_bytes(mid[0:6], "big"), int.from_bytes(mid[6:10], "big"),
            int.from_bytes(mid[10:16], "big"))


def msg_id_hex(mid: bytes) -> str:
    return mid.hex()


# ---- header and tag ---------------------------------------------------------

@dataclass(frozen=True)
class Header:
    type: int
    op: int
    status: int
    msg_id: bytes
    client_id: int
    payload_len: int
    tag: bytes = b""
    magic: int = MAGIC
    version: int = VERSION
    flags: int = 0

    @property
    def client_of_id(self) -> int:
        return int.from_bytes(self.msg_id[6:10], "big")


def _tag(key: bytes, signed: bytes, payload: bytes) -> bytes:
    return hmac.new(key, signed + payload, hashlib.sha256).digest()


def encode(type_: int, op: int, status: int, mid: bytes, client_id: int,
           payload: bytes, key: bytes) -> bytes:
    """A whole message: the signed 32 header bytes, the tag over them and
    the payload, then the payload."""
    if len(payload) > PAYLOAD_MAX:
        raise ValueError("payload of %d bytes: at most %d" % (
            len(payload), PAYLOAD_MAX))
    if len(key) != 32:
        raise ValueError("a key is 32 bytes")
    signed = _HDR.pack(MAGIC, VERSION, type_, op, 0, status, mid, client_id,
                       len(payload))
    return signed + _tag(key, signed, payload) + payload


def decode_header(msg: bytes) -> Header:
    """The header of a datagram, checked as the appliance checks it:
    magic, version, type, no flags, the payload length the datagram's."""
    if len(msg) < HDR_LEN:
        raise MalformedError("shorter than the 64-byte header")
    magic, version, type_, op, flags, status, mid, client_id, plen = \
        _HDR.unpack_from(msg)
    if magic != MAGIC:
        raise MalformedError("bad magic 0x%04x" % magic)
    if version != VERSION:
        raise MalformedError("unknown version %d" % version)
    if type_ not in (1, 2, 3):
        raise MalformedError("unknown type %d" % type_)
    if flags != 0:
        raise MalformedError("flags set")
    if plen != len(msg) - HDR_LEN or plen > PAYLOAD_MAX:
        raise MalformedError("payload length %d in a datagram of %d bytes" % (
            plen, len(msg)))
    return Header(type_, op, status, mid, client_id, plen,
                  bytes(msg[HDR_SIGNED_LEN:HDR_LEN]), magic, version, flags)


def verify(msg: bytes, key: bytes) -> bool:
    """Whether the tag of a whole message is right for key (constant
    time)."""
    if len(msg) < HDR_LEN:
        return False
    want = _tag(key, bytes(msg[:HDR_SIGNED_LEN]), bytes(msg[HDR_LEN:]))
    return hmac.compare_digest(want, bytes(msg[HDR_SIGNED_LEN:HDR_LEN]))


# ---- payload primitives -----------------------------------------------------

_NAME_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        b"0123456789._-")


def name_valid(name: str | bytes) -> bool:
    b = name.encode() if isinstance(name, str) else name
    return 1 <= len(b) <= NAME_MAX and all(c in _NAME_CHARS for c in b)


def enc_name(name: str) -> bytes:
    b = name.encode()
    if not name_valid(b):
        raise ValueError("bad name %r: 1..64 bytes of A-Z a-z 0-9 . _ -" % name)
    return bytes([len(b)]) + b


class Reader:
    """Reads a payload front to back; any read past its end, or bytes left
    at done(), is MalformedError."""

    def __init__(self, data: bytes):
        self.b = bytes(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.b):
            raise MalformedError("payload too short")
        out = self.b[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "big")

    def name(self) -> str:
        n = self.u8()
        b = self.take(n)
        if not name_valid(b):
            raise MalformedError("bad name")
        return b.decode()

    def rest(self) -> bytes:
        return self.take(len(self.b) - self.pos)

    def done(self) -> None:
        if self.pos != len(self.b):
            raise MalformedError("%d bytes left over" % (len(self.b) - self.pos))


def u16(v: int) -> bytes:
    return struct.pack(">H", v)


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def u64(v: int) -> bytes:
    return struct.pack(">Q", v)


def _list(values: list[int] | tuple[int, ...], most: int, what: str) -> bytes:
    if not 1 <= len(values) <= most:
        raise ValueError("%d %s: 1..%d" % (len(values), what, most))
    return u16(len(values)) + b"".join(u64(v) for v in values)


def _call_id(cid: bytes | str) -> bytes:
    b = bytes.fromhex(cid) if isinstance(cid, str) else bytes(cid)
    if len(b) != MSG_ID_LEN:
        raise ValueError("a call id is 16 bytes (32 hex digits)")
    return b


# ---- requests ----------------------------------------------------------------

def enc_publish(queue: str, message: bytes) -> bytes:
    if len(message) > MSG_MAX:
        raise ValueError("a message is at most %d bytes" % MSG_MAX)
    return enc_name(queue) + bytes(message)


def enc_fetch(queue: str, offset: int, max_records: int) -> bytes:
    return enc_name(queue) + u64(offset) + u16(max_records)


def enc_commit(queue: str, consumer: str, offset: int) -> bytes:
    return enc_name(queue) + enc_name(consumer) + u64(offset)


def enc_offset(queue: str, consumer: str) -> bytes:
    return enc_name(queue) + enc_name(consumer)


def enc_mint(account: int, denomination: int, count: int) -> bytes:
    if not 1 <= count <= MINT_COUNT_MAX:
        raise ValueError("a MINT makes 1..%d coins" % MINT_COUNT_MAX)
    return u32(account) + u64(denomination) + u32(count)


def enc_transfer(src: int, dst: int, coins: list[int]) -> bytes:
    return u32(src) + u32(dst) + _list(coins, COINS_PER_OP_MAX, "coins")


def enc_split(coin: int, parts: list[int]) -> bytes:
    return u64(coin) + _list(parts, SPLIT_PARTS_MAX, "parts")


def enc_merge(coins: list[int]) -> bytes:
    return _list(coins, COINS_PER_OP_MAX, "coins")


def enc_coin_id(coin: int) -> bytes:          # BURN, COIN
    return u64(coin)


def enc_account(account: int) -> bytes:       # BALANCE
    return u32(account)


def enc_trail(coin: int, skip: int) -> bytes:
    return u64(coin) + u32(skip)


def enc_serve(type_: str, price: int, max_inflight: int, lease_s: int) -> bytes:
    return enc_name(type_) + u64(price) + u32(max_inflight) + u32(lease_s)


def enc_unserve(type_: str) -> bytes:
    return enc_name(type_)


def enc_call(type_: str, deadline_ms: int, payload: bytes,
             coins: list[int]) -> bytes:
    if len(payload) > CALL_PAYLOAD_MAX:
        raise ValueError("a call's payload is at most %d bytes" %
                         CALL_PAYLOAD_MAX)
    if len(coins) > CALL_COINS_MAX:
        raise ValueError("a CALL attaches at most %d coins" % CALL_COINS_MAX)
    return (enc_name(type_) + u32(deadline_ms) + u16(len(payload)) +
            bytes(payload) + u16(len(coins)) + b"".join(u64(c) for c in coins))


def enc_respond(call_id: bytes | str, status: int, payload: bytes) -> bytes:
    return _call_id(call_id) + u16(status) + bytes(payload)


def enc_report(call_id: bytes | str, kind: int, text: bytes) -> bytes:
    if len(text) > REPORT_TEXT_MAX:
        raise ValueError("a report's text is at most %d bytes" %
                         REPORT_TEXT_MAX)
    return _call_id(call_id) + bytes([kind]) + bytes(text)


# ---- replies -------------------------------------------------------------------

def dec_u64(p: bytes) -> int:
    r = Reader(p)
    v = r.u64()
    r.done()
    return v


@dataclass(frozen=True)
class FetchResult:
    first_offset: int           # the first record's offset
    next_offset: int            # where the next FETCH starts
    end_offset: int             # the queue's end: the next PUBLISH's offset
    records: list[bytes] = field(default_factory=list)


def dec_fetch_reply(p: bytes) -> FetchResult:
    r = Reader(p)
    first, nxt, end, count, reserved = r.u64(), r.u64(), r.u64(), r.u16(), r.u16()
    if reserved != 0:
        raise MalformedError("a FETCH reply's reserved field is not 0")
    records = [r.take(r.u32()) for _ in range(count)]
    r.done()
    return FetchResult(first, nxt, end, records)


def enc_fetch_reply(f: FetchResult) -> bytes:
    return (u64(f.first_offset) + u64(f.next_offset) + u64(f.end_offset) +
            u16(len(f.records)) + u16(0) +
            b"".join(u32(len(m)) + m for m in f.records))


@dataclass(frozen=True)
class Coins:
    first: int                  # the first coin's id; the rest follow it
    count: int

    @property
    def ids(self) -> list[int]:
        return list(range(self.first, self.first + self.count))


def dec_coins_reply(p: bytes) -> Coins:       # MINT, SPLIT
    r = Reader(p)
    c = Coins(r.u64(), r.u32())
    r.done()
    return c


@dataclass(frozen=True)
class Balance:
    balance: int
    coins: int


def dec_balance_reply(p: bytes) -> Balance:
    r = Reader(p)
    b = Balance(r.u64(), r.u32())
    r.done()
    return b


@dataclass(frozen=True)
class CoinInfo:
    coin: int
    denomination: int
    owner: int
    state: CoinState
    created_seq: int
    last_hop_seq: int


def dec_coin_reply(p: bytes) -> CoinInfo:
    r = Reader(p)
    coin, denom, owner, state = r.u64(), r.u64(), r.u32(), r.u8()
    c = CoinInfo(coin, denom, owner, CoinState(state) if state in (1, 2)
                 else state, r.u64(), r.u64())
    r.done()
    return c


@dataclass(frozen=True)
class Hop:
    seq: int
    time_ns: int
    coin: int
    denomination: int
    src: int                    # 0 for a MINT
    dst: int                    # 0 for a BURN
    kind: int                   # HopKind
    call: bytes | None          # the call of an escrow, pay, refund, hold


@dataclass(frozen=True)
class TrailPage:
    total: int
    first: int
    hops: list[Hop]


def dec_hop(b: bytes) -> Hop:
    r = Reader(b)
    seq, t, coin, denom, src, dst, kind = (r.u64(), r.u64(), r.u64(), r.u64(),
                                          r.u32(), r.u32(), r.u8())
    call = r.take(MSG_ID_LEN)
    r.done()
    return Hop(seq, t, coin, denom, src, dst,
               HopKind(kind) if 1 <= kind <= 9 else kind,
               call if kind in CALL_HOP_KINDS else None)


def dec_trail_reply(p: bytes) -> TrailPage:
    r = Reader(p)
    total, first, count = r.u32(), r.u32(), r.u16()
    if len(p) != TRAIL_REPLY_FIXED + count * HOP_WIRE_LEN or \
            first + count > total:
        raise MalformedError("a TRAIL page that does not add up")
    hops = [dec_hop(r.take(HOP_WIRE_LEN)) for _ in range(count)]
    r.done()
    return TrailPage(total, first, hops)


@dataclass(frozen=True)
class Audit:
    ok: bool
    minted: int
    burnt: int
    live_sum: int
    live_coins: int
    dead_coins: int
    accounts: int
    violations: int


def dec_audit_reply(p: bytes) -> Audit:
    r = Reader(p)
    ok = r.u8()
    if ok > 1:
        raise MalformedError("an AUDIT reply's ok is %d, not 0 or 1" % ok)
    a = Audit(ok == 1, r.u64(), r.u64(), r.u64(), r.u64(), r.u64(),
              r.u32(), r.u32())
    r.done()
    return a


@dataclass(frozen=True)
class CallResult:
    service: int                # the account that served and was paid
    price: int
    payload: bytes
    call_id: bytes = b""        # the CALL's message id (REPORT needs it)


def dec_call_reply(p: bytes, call_id: bytes = b"") -> CallResult:
    r = Reader(p)
    return CallResult(r.u32(), r.u64(), r.rest(), call_id)


def enc_call_reply(service: int, price: int, payload: bytes) -> bytes:
    return u32(service) + u64(price) + bytes(payload)


@dataclass(frozen=True)
class SettleResult:
    settlement: int             # Settlement
    amount: int


def dec_settle_reply(p: bytes) -> SettleResult:  # RESPOND, SETTLE
    r = Reader(p)
    s = r.u8()
    if s not in (1, 2, 3):
        raise MalformedError("settlement %d, not 1..3" % s)
    out = SettleResult(Settlement(s), r.u64())
    r.done()
    return out


def dec_report_reply(p: bytes) -> bool:
    r = Reader(p)
    held = r.u8() != 0
    r.done()
    return held


@dataclass(frozen=True)
class Delivery:
    """A call the appliance delivers to a service (a DELIVER message)."""
    call_id: bytes
    service: int                # the client id it was delivered to
    caller: int
    deadline_ms: int            # wall clock, ms since the epoch
    type: str
    payload: bytes


def dec_deliver(hdr: Header, p: bytes) -> Delivery:
    r = Reader(p)
    caller, deadline = r.u32(), r.u64()
    type_ = r.name()
    payload = r.take(r.u16())
    r.done()
    if len(payload) > CALL_PAYLOAD_MAX:
        raise MalformedError("a call's payload is at most %d bytes" %
                             CALL_PAYLOAD_MAX)
    return Delivery(hdr.msg_id, hdr.client_id, caller, deadline, type_,
                    payload)


def enc_deliver(caller: int, deadline_ms: int, type_: str,
                payload: bytes) -> bytes:
    return u32(caller) + u64(deadline_ms) + enc_name(type_) + \
        u16(len(payload)) + bytes(payload)
