# SPDX-License-Identifier: BSD-3-Clause
"""The synchronous client: one UDP socket, one request at a time.

    from kingcobra import Client
    with Client("10.77.0.2", keys_file="client.keys") as c:
        offset = c.publish("orders", b"hello")

Every call makes a new message id, sends the request, waits `timeout`
seconds for its REPLY and resends exactly the same bytes (same message
id, same tag) up to `retries` times: the appliance executes a
state-changing request at most once per message id, so a resend is safe
(docs/protocol.md, "Retries and replay"). A REPLY counts only if its
header decodes, it is a REPLY to this message id, client and op, and its
tag verifies with this client's key; anything else is ignored. A REPLY
refused UNAVAILABLE or STORAGE_FULL (the appliance cannot take it now) is
resent, again the same bytes, after a pause that doubles from
`busy_pause` up to `busy_pause_max`, for at most `busy_for` seconds. Any
status but OK raises the StatusError named after it (kingcobra.errors).
"""
from __future__ import annotations

import os
import select
import socket
import time
from collections import deque
from dataclasses import dataclass

from . import protocol as p
from .errors import BadReplyError, NoReplyError, error_for
from .keys import Key, dev_key, key_from_file, parse_hex_key


@dataclass(frozen=True)
class Reply:
    """A REPLY that checked out: its header, payload, and how many sends
    and how long the last one took."""
    header: p.Header
    payload: bytes
    attempts: int
    rtt_s: float

    @property
    def status(self) -> int:
        return self.header.status

    @property
    def msg_id(self) -> bytes:
        return self.header.msg_id


def resolve_key(client_id: int | None, key: bytes | str | None,
                keys_file: str | os.PathLike | None) -> Key:
    """The key to sign with: a keys file's entry (client_id, or its first
    entry), a raw or hex key for client_id, or the development key of
    client_id (1 by default), as kcctl -k / -c."""
    if client_id is not None and not 0 <= client_id <= p.CLIENT_ID_MAX:
        raise ValueError("client id %d out of range 1..%d" % (
            client_id, p.CLIENT_ID_MAX))
    if keys_file is not None:
        if key is not None:
            raise ValueError("a keys file or a key, not both")
        return key_from_file(keys_file, client_id or 0)
    if key is not None:
        if not client_id:
            raise ValueError("a key needs its client_id")
        raw = parse_hex_key(key) if isinstance(key, str) else bytes(key)
        if len(raw) != 32:
            raise ValueError("a key is 32 bytes")
        return Key(client_id, raw)
    if (client_id or 1) not in (1, 2):
        raise ValueError("the development keys are clients 1 and 2; client "
                         "%d needs a key or a keys file" % client_id)
    return dev_key(client_id or 1)


BUSY = (p.Status.UNAVAILABLE, p.Status.STORAGE_FULL)
# check()'s answer for our REPLY with a tag that does not verify.
BAD_TAG = p.Header(0, 0, 0, b"", 0, 0)


def no_reply(mid: bytes, attempts: int, bad_tag: bool) -> Exception:
    """What to raise after every try without a good REPLY."""
    if bad_tag:
        return BadReplyError("no REPLY to %s whose tag verifies after %d "
                             "send(s), only ones whose tag does not" % (
                                 mid.hex(), attempts))
    return NoReplyError("no REPLY to %s after %d send(s)" % (
        mid.hex(), attempts), mid)


def add_trail_page(hops: list[p.Hop], page: p.TrailPage) -> bool:
    """Append a TRAIL page asked from len(hops); whether the trail is
    whole. A page that leaves a gap (or, short of the total, is empty) is
    BadReplyError, so paging always ends."""
    if page.first != len(hops) or (not page.hops and len(hops) < page.total):
        raise BadReplyError("a TRAIL page that leaves a gap")
    hops += page.hops
    return len(hops) >= page.total


class Plan:
    """One request's sends: how many tries, how long each waits, and the
    pauses before sending it again after UNAVAILABLE or STORAGE_FULL."""

    def __init__(self, r: "Requester", wait_s: float | None):
        # A request the appliance answers later (a CALL: when its service
        # responds) is sent again every timeout until wait_s has passed:
        # a resend is what gets a completed call's REPLY.
        self.tries = r.retries + 1 + (
            0 if wait_s is None else int(wait_s / r.timeout) + 1)
        self.per_try = r.timeout
        self.busy_until = time.monotonic() + r.busy_for
        self.pause = r.busy_pause
        self.pause_max = r.busy_pause_max
        self.attempts = 0

    def again_after(self, got: "Reply") -> float | None:
        """The pause before sending the same bytes again, or None when got
        is the answer."""
        if got.status not in BUSY or \
                time.monotonic() + self.pause > self.busy_until:
            return None
        pause = self.pause
        self.pause = min(self.pause * 2, self.pause_max)
        return pause


class Requester:
    """What both clients share: the key, message ids, the resend policy,
    building a request and checking a datagram against it."""

    def __init__(self, client_id: int | None = None,
                 key: bytes | str | None = None,
                 keys_file: str | os.PathLike | None = None, *,
                 timeout: float = 1.0, retries: int = 2,
                 busy_pause: float = 0.002, busy_pause_max: float = 0.2,
                 busy_for: float = 5.0):
        self.key = resolve_key(client_id, key, keys_file)
        self.client_id = self.key.client_id
        # A random start, so two processes of one client id differ.
        self._seq = int.from_bytes(os.urandom(6), "big") & p.SEQ_MASK
        self.timeout = timeout
        self.retries = retries
        self.busy_pause = busy_pause
        self.busy_pause_max = busy_pause_max
        self.busy_for = busy_for

    def next_msg_id(self) -> bytes:
        self._seq = (self._seq + 1) & p.SEQ_MASK
        return p.msg_id(time.time_ns() // 1_000_000, self.client_id,
                        self._seq)

    def build(self, op: int, payload: bytes,
              mid: bytes | None = None) -> tuple[bytes, bytes]:
        mid = mid or self.next_msg_id()
        return mid, p.encode(p.MsgType.REQUEST, op, 0, mid, self.client_id,
                             bytes(payload), self.key.key)

    def check(self, data: bytes, mid: bytes, op: int) -> p.Header | None:
        """The header of data if it is the REPLY to (mid, op); None if it
        is something else, ignored (protocol.md section 2); BAD_TAG if it
        would be ours but its tag does not verify: ignored too (a changed
        or forged datagram must not end the request), and said only if no
        good REPLY comes."""
        try:
            h = p.decode_header(data)
        except p.MalformedError:
            return None
        if (h.type != p.MsgType.REPLY or h.msg_id != mid or
                h.client_id != self.client_id or h.op != op):
            return None
        if not p.verify(data, self.key.key):
            return BAD_TAG
        return h

    def is_delivery(self, data: bytes) -> p.Delivery | None:
        """A DELIVER to this client, its tag verified; else None."""
        try:
            h = p.decode_header(data)
        except p.MalformedError:
            return None
        if (h.type != p.MsgType.DELIVER or h.op != p.Op.CALL or
                h.client_id != self.client_id or
                not p.verify(data, self.key.key)):
            return None
        try:
            return p.dec_deliver(h, data[p.HDR_LEN:])
        except p.MalformedError:
            return None


def _reason(payload: bytes) -> str:
    return payload[:p.ERROR_TEXT_MAX].decode("utf-8", "replace")


def empty(payload: bytes) -> None:
    """An OK REPLY that must carry nothing (COMMIT)."""
    if payload:
        raise p.MalformedError("%d bytes in a REPLY that carries none" %
                               len(payload))


def counted(c: p.Coins, want: int) -> p.Coins:
    """MINT and SPLIT make exactly the coins asked for."""
    if c.count != want:
        raise p.MalformedError("%d coins made, %d asked for" % (c.count,
                                                               want))
    return c


def ok_payload(r: Reply) -> bytes:
    """The payload of an OK REPLY; the StatusError of any other."""
    if r.status != p.Status.OK:
        raise error_for(r.status, _reason(r.payload), r.msg_id)
    return r.payload


class Ops:
    """Every op of docs/protocol.md over `_call(op, payload)`, typed. The
    synchronous client mixes it in; its methods return results or raise
    StatusError."""

    def _call(self, op: int, payload: bytes, **kw) -> Reply:
        raise NotImplementedError

    def _ok(self, op: int, payload: bytes, **kw) -> bytes:
        return ok_payload(self._call(op, payload, **kw))

    # queues
    def ping(self, data: bytes = b"") -> bytes:
        return self._ok(p.Op.PING, data)

    def publish(self, queue: str, message: bytes) -> int:
        """The message's offset in the queue."""
        return p.dec_u64(self._ok(p.Op.PUBLISH, p.enc_publish(queue, message)))

    def fetch(self, queue: str, offset: int, max_records: int = 16) -> p.FetchResult:
        return p.dec_fetch_reply(self._ok(p.Op.FETCH, p.enc_fetch(
            queue, offset, max_records)))

    def commit(self, queue: str, consumer: str, offset: int) -> None:
        empty(self._ok(p.Op.COMMIT, p.enc_commit(queue, consumer, offset)))

    def offset(self, queue: str, consumer: str) -> int:
        return p.dec_u64(self._ok(p.Op.OFFSET, p.enc_offset(queue, consumer)))

    def time_ns(self) -> int:
        """The appliance's clock, ns since 1970 (TIME)."""
        return p.dec_u64(self._ok(p.Op.TIME, b""))

    # the ledger
    def mint(self, account: int, denomination: int, count: int = 1) -> p.Coins:
        return counted(p.dec_coins_reply(self._ok(p.Op.MINT, p.enc_mint(
            account, denomination, count))), count)

    def transfer(self, src: int, dst: int, coins: list[int]) -> int:
        """The journal seq of the hop."""
        return p.dec_u64(self._ok(p.Op.TRANSFER, p.enc_transfer(src, dst, coins)))

    def split(self, coin: int, parts: list[int]) -> p.Coins:
        return counted(p.dec_coins_reply(self._ok(p.Op.SPLIT, p.enc_split(
            coin, parts))), len(parts))

    def merge(self, coins: list[int]) -> int:
        """The new coin's id."""
        return p.dec_u64(self._ok(p.Op.MERGE, p.enc_merge(coins)))

    def burn(self, coin: int) -> int:
        return p.dec_u64(self._ok(p.Op.BURN, p.enc_coin_id(coin)))

    def balance(self, account: int) -> p.Balance:
        return p.dec_balance_reply(self._ok(p.Op.BALANCE, p.enc_account(account)))

    def coin(self, coin: int) -> p.CoinInfo:
        return p.dec_coin_reply(self._ok(p.Op.COIN, p.enc_coin_id(coin)))

    def trail_page(self, coin: int, skip: int = 0) -> p.TrailPage:
        return p.dec_trail_reply(self._ok(p.Op.TRAIL, p.enc_trail(coin, skip)))

    def trail(self, coin: int) -> list[p.Hop]:
        """The whole money trail, oldest hop first, every page."""
        hops: list[p.Hop] = []
        while not add_trail_page(hops, self.trail_page(coin, len(hops))):
            pass
        return hops

    def audit(self) -> p.Audit:
        return p.dec_audit_reply(self._ok(p.Op.AUDIT, b""))

    # service calls
    def serve(self, type_: str, price: int = 0, max_inflight: int = 16,
              lease_s: int = 30) -> int:
        """Register (or renew) this client as a service of type_; the
        lease's end, ms since 1970."""
        return p.dec_u64(self._ok(p.Op.SERVE, p.enc_serve(
            type_, price, max_inflight, lease_s)))

    def unserve(self, type_: str) -> int:
        """Calls of this service still in flight."""
        return p.dec_u64(self._ok(p.Op.UNSERVE, p.enc_unserve(type_)))

    def call_service(self, type_: str, payload: bytes = b"",
                     coins: list[int] | tuple[int, ...] = (),
                     deadline_ms: int = 1000) -> p.CallResult:
        """Call a service of type_, paying with coins; the service's
        answer. Waits up to the deadline (and a margin): the appliance
        holds the REPLY until the service responds."""
        r = self._call(p.Op.CALL, p.enc_call(type_, deadline_ms, payload,
                                             list(coins)),
                       wait_s=deadline_ms / 1000 + 1.0)
        return p.dec_call_reply(ok_payload(r), r.msg_id)

    def respond(self, call_id: bytes | str, status: int = 0,
                payload: bytes = b"") -> p.SettleResult:
        return p.dec_settle_reply(self._ok(p.Op.RESPOND, p.enc_respond(
            call_id, status, payload)))

    def report(self, call_id: bytes | str, text: bytes | str = b"",
               kind: int = p.ReportKind.PROBLEM) -> bool:
        """A problem report or suggestion on a call this client made;
        whether it keeps the call's held price in escrow."""
        if isinstance(text, str):
            text = text.encode()
        return p.dec_report_reply(self._ok(p.Op.REPORT, p.enc_report(
            call_id, kind, text)))


class Client(Requester, Ops):
    """A synchronous KCP client (see the module's doc)."""

    def __init__(self, server: str, port: int = p.UDP_PORT_DEFAULT, *,
                 client_id: int | None = None, key: bytes | str | None = None,
                 keys_file: str | os.PathLike | None = None,
                 timeout: float = 1.0, retries: int = 2,
                 busy_pause: float = 0.002, busy_pause_max: float = 0.2,
                 busy_for: float = 5.0):
        Requester.__init__(self, client_id, key, keys_file, timeout=timeout,
                           retries=retries, busy_pause=busy_pause,
                           busy_pause_max=busy_pause_max, busy_for=busy_for)
        self.server = (socket.gethostbyname(server), port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(self.server)
        # DELIVERs that came while waiting for a REPLY (a service's).
        self.deliveries: deque[p.Delivery] = deque()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _recv(self, until: float) -> bytes | None:
        """One datagram before `until` (monotonic), or None."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                return self.sock.recv(65535)
            except ConnectionRefusedError:
                continue  # nothing listens yet: the resend may find it

    def send_raw(self, op: int, payload: bytes, mid: bytes | None = None,
                 wait_s: float | None = None) -> Reply:
        """One request (op and payload as encoded by kingcobra.protocol),
        with resends; the REPLY whatever its status. NoReplyError after
        every try."""
        mid, msg = self.build(op, payload, mid)
        return self._exchange(mid, op, msg, wait_s)

    def _exchange(self, mid: bytes, op: int, msg: bytes,
                  wait_s: float | None) -> Reply:
        plan = Plan(self, wait_s)
        bad_tag = False
        while True:
            got = None
            for _ in range(plan.tries):
                try:
                    self.sock.send(msg)
                except ConnectionRefusedError:
                    pass
                plan.attempts += 1
                sent = time.monotonic()
                until = sent + plan.per_try
                while got is None:
                    data = self._recv(until)
                    if data is None:
                        break
                    h = self.check(data, mid, op)
                    if h is BAD_TAG:
                        bad_tag = True
                    elif h is not None:
                        got = Reply(h, data[p.HDR_LEN:], plan.attempts,
                                    time.monotonic() - sent)
                    else:
                        d = self.is_delivery(data)
                        if d is not None:
                            self.deliveries.append(d)
                if got is not None:
                    break
            if got is None:
                raise no_reply(mid, plan.attempts, bad_tag)
            pause = plan.again_after(got)
            if pause is None:
                return got
            time.sleep(pause)  # not taken now: the same bytes again

    def _call(self, op: int, payload: bytes, **kw) -> Reply:
        return self.send_raw(op, payload, wait_s=kw.get("wait_s"))
