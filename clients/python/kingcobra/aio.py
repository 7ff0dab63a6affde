# SPDX-License-Identifier: BSD-3-Clause
"""The asyncio client: many requests in flight over one UDP socket,
matched by message id.

    import asyncio
    from kingcobra.aio import AsyncClient

    async def main():
        async with await AsyncClient.connect("10.77.0.2") as c:
            offsets = await asyncio.gather(
                *(c.publish("orders", b"m%d" % i) for i in range(100)))

The same rules as kingcobra.client.Client: each request has its own
message id and is resent with the same bytes every `timeout` seconds up to
`retries` times; UNAVAILABLE and STORAGE_FULL are resent after a pause;
every method is a coroutine with the synchronous client's name and result.
DELIVERs to this client go to `deliveries`, an asyncio.Queue, every one
of them, repeats included: to serve calls, kingcobra.service.Service
hands each call over once and answers repeats the same way.
"""
from __future__ import annotations

import asyncio
import os
import socket
import time

from . import protocol as p
from .client import (BAD_TAG, Plan, Reply, Requester, add_trail_page,
                     counted, empty, no_reply, ok_payload)
from .errors import KingCobraError


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, owner: "AsyncClient"):
        self.owner = owner

    def datagram_received(self, data: bytes, addr) -> None:
        self.owner._received(data)

    def error_received(self, exc: Exception) -> None:
        pass  # ECONNREFUSED and the like: the resend may find it


class AsyncClient(Requester):
    def __init__(self, client_id=None, key=None, keys_file=None, *,
                 timeout: float = 1.0, retries: int = 2,
                 busy_pause: float = 0.002, busy_pause_max: float = 0.2,
                 busy_for: float = 5.0):
        super().__init__(client_id, key, keys_file, timeout=timeout,
                         retries=retries, busy_pause=busy_pause,
                         busy_pause_max=busy_pause_max, busy_for=busy_for)
        self.transport: asyncio.DatagramTransport | None = None
        # msg_id -> (op, future of (header, datagram))
        self._pending: dict[bytes, tuple[int, asyncio.Future]] = {}
        # Message ids that got a REPLY whose tag did not verify.
        self._bad_tag: set[bytes] = set()
        self.deliveries: asyncio.Queue[p.Delivery] = asyncio.Queue()

    @classmethod
    async def connect(cls, server: str, port: int = p.UDP_PORT_DEFAULT, *,
                      client_id: int | None = None,
                      key: bytes | str | None = None,
                      keys_file: str | os.PathLike | None = None,
                      **kw) -> "AsyncClient":
        c = cls(client_id, key, keys_file, **kw)
        loop = asyncio.get_running_loop()
        c.transport, _ = await loop.create_datagram_endpoint(
            lambda: _Proto(c), remote_addr=(socket.gethostbyname(server), port))
        return c

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        # Requests in flight end with an error, not a cancellation of
        # their callers' tasks.
        for _, fut in self._pending.values():
            if not fut.done():
                fut.set_exception(KingCobraError("the client was closed"))
        self._pending.clear()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _received(self, data: bytes) -> None:
        try:
            h = p.decode_header(data)
        except p.MalformedError:
            return
        if h.type == p.MsgType.DELIVER:
            d = self.is_delivery(data)
            if d is not None:
                self.deliveries.put_nowait(d)
            return
        waiting = self._pending.get(h.msg_id)
        if waiting is None or waiting[1].done():
            return  # late, or not ours
        op, fut = waiting
        got = self.check(data, h.msg_id, op)
        if got is BAD_TAG:
            self._bad_tag.add(h.msg_id)  # ignored; said if nothing else
        elif got is not None:
            fut.set_result((got, data))

    async def send_raw(self, op: int, payload: bytes, mid: bytes | None = None,
                       wait_s: float | None = None) -> Reply:
        """One request with resends; the REPLY whatever its status."""
        if self.transport is None:
            raise RuntimeError("the client is closed")
        mid, msg = self.build(op, payload, mid)
        loop = asyncio.get_running_loop()
        plan = Plan(self, wait_s)
        try:
            while True:
                fut = loop.create_future()
                self._pending[mid] = (op, fut)
                got = None
                for _ in range(plan.tries):
                    if self.transport is None:
                        raise KingCobraError("the client was closed")
                    self.transport.sendto(msg)
                    plan.attempts += 1
                    sent = time.monotonic()
                    try:
                        h, data = await asyncio.wait_for(asyncio.shield(fut),
                                                         plan.per_try)
                    except asyncio.TimeoutError:
                        continue
                    got = Reply(h, data[p.HDR_LEN:], plan.attempts,
                                time.monotonic() - sent)
                    break
                if got is None:
                    fut.cancel()
                    raise no_reply(mid, plan.attempts, mid in self._bad_tag)
                pause = plan.again_after(got)
                if pause is None:
                    return got
                await asyncio.sleep(pause)
        finally:
            self._pending.pop(mid, None)
            self._bad_tag.discard(mid)

    async def _ok(self, op: int, payload: bytes, **kw) -> bytes:
        return ok_payload(await self.send_raw(op, payload,
                                              wait_s=kw.get("wait_s")))

    # The ops, as kingcobra.client.Ops, awaited.
    async def ping(self, data: bytes = b"") -> bytes:
        return await self._ok(p.Op.PING, data)

    async def publish(self, queue: str, message: bytes) -> int:
        return p.dec_u64(await self._ok(p.Op.PUBLISH,
                                        p.enc_publish(queue, message)))

    async def fetch(self, queue: str, offset: int,
                    max_records: int = 16) -> p.FetchResult:
        return p.dec_fetch_reply(await self._ok(
            p.Op.FETCH, p.enc_fetch(queue, offset, max_records)))

    async def commit(self, queue: str, consumer: str, offset: int) -> None:
        empty(await self._ok(p.Op.COMMIT, p.enc_commit(queue, consumer,
                                                       offset)))

    async def offset(self, queue: str, consumer: str) -> int:
        return p.dec_u64(await self._ok(p.Op.OFFSET,
                                        p.enc_offset(queue, consumer)))

    async def time_ns(self) -> int:
        return p.dec_u64(await self._ok(p.Op.TIME, b""))

    async def mint(self, account: int, denomination: int,
                   count: int = 1) -> p.Coins:
        return counted(p.dec_coins_reply(await self._ok(
            p.Op.MINT, p.enc_mint(account, denomination, count))), count)

    async def transfer(self, src: int, dst: int, coins: list[int]) -> int:
        return p.dec_u64(await self._ok(p.Op.TRANSFER,
                                        p.enc_transfer(src, dst, coins)))

    async def split(self, coin: int, parts: list[int]) -> p.Coins:
        return counted(p.dec_coins_reply(await self._ok(
            p.Op.SPLIT, p.enc_split(coin, parts))), len(parts))

    async def merge(self, coins: list[int]) -> int:
        return p.dec_u64(await self._ok(p.Op.MERGE, p.enc_merge(coins)))

    async def burn(self, coin: int) -> int:
        return p.dec_u64(await self._ok(p.Op.BURN, p.enc_coin_id(coin)))

    async def balance(self, account: int) -> p.Balance:
        return p.dec_balance_reply(await self._ok(p.Op.BALANCE,
                                                  p.enc_account(account)))

    async def coin(self, coin: int) -> p.CoinInfo:
        return p.dec_coin_reply(await self._ok(p.Op.COIN, p.enc_coin_id(coin)))

    async def trail_page(self, coin: int, skip: int = 0) -> p.TrailPage:
        return p.dec_trail_reply(await self._ok(p.Op.TRAIL,
                                                p.enc_trail(coin, skip)))

    async def trail(self, coin: int) -> list[p.Hop]:
        hops: list[p.Hop] = []
        while not add_trail_page(hops, await self.trail_page(coin, len(hops))):
            pass
        return hops

    async def audit(self) -> p.Audit:
        return p.dec_audit_reply(await self._ok(p.Op.AUDIT, b""))

    async def serve(self, type_: str, price: int = 0, max_inflight: int = 16,
                    lease_s: int = 30) -> int:
        return p.dec_u64(await self._ok(p.Op.SERVE, p.enc_serve(
            type_, price, max_inflight, lease_s)))

    async def unserve(self, type_: str) -> int:
        return p.dec_u64(await self._ok(p.Op.UNSERVE, p.enc_unserve(type_)))

    async def call_service(self, type_: str, payload: bytes = b"",
                           coins: list[int] | tuple[int, ...] = (),
                           deadline_ms: int = 1000) -> p.CallResult:
        r = await self.send_raw(p.Op.CALL, p.enc_call(
            type_, deadline_ms, payload, list(coins)),
            wait_s=deadline_ms / 1000 + 1.0)
        return p.dec_call_reply(ok_payload(r), r.msg_id)

    async def respond(self, call_id: bytes | str, status: int = 0,
                      payload: bytes = b"") -> p.SettleResult:
        return p.dec_settle_reply(await self._ok(
            p.Op.RESPOND, p.enc_respond(call_id, status, payload)))

    async def report(self, call_id: bytes | str, text: bytes | str = b"",
                     kind: int = p.ReportKind.PROBLEM) -> bool:
        if isinstance(text, str):
            text = text.encode()
        return p.dec_report_reply(await self._ok(
            p.Op.REPORT, p.enc_report(call_id, kind, text)))
