#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The Python client against a running appliance (ledger and services
on), run by tests/ecosystem/test_python_client.sh:

    itest_client.py SERVER KEYS_FILE [KCCTL]

Every op with its typed result; a resend with the same message id gets
the same REPLY; status errors raise the exception named after them; the
asyncio client with 300 requests in flight; a double-spend race between
two clients of one owner (every coin moves once, AUDIT holds); a paged
TRAIL; a Python service answering paid calls (and an error) made by
another Python client and by kcctl (when given). Prints one "ok: ..." line per check; exit 1 at the
first failure.
"""
import asyncio
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))

from kingcobra import Client, errors  # noqa: E402
from kingcobra import protocol as p  # noqa: E402
from kingcobra.aio import AsyncClient  # noqa: E402
from kingcobra.service import Service  # noqa: E402

SERVER, KEYS = sys.argv[1], sys.argv[2]
KCCTL = sys.argv[3] if len(sys.argv) > 3 else None
RUN = "%d" % (time.time() * 1000 % 10**9)   # names of this run


def ok(what, cond=True):
    if not cond:
        print("FAIL: %s" % what)
        sys.exit(1)
    print("ok: %s" % what)


def raises(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        return e
    raise AssertionError("%s did not raise %s" % (fn.__name__, exc.__name__))


def client(cid, **kw):
    return Client(SERVER, keys_file=KEYS, client_id=cid, **kw)


def queues(c):
    q = "py-" + RUN
    ok("ping echoes", c.ping(b"hello") == b"hello")
    t = c.time_ns()
    ok("time is the appliance's clock", abs(t - time.time_ns()) < 5e9)
    offs = [c.publish(q, b"m%d" % i) for i in range(5)]
    ok("publish: offsets 0..4", offs == [0, 1, 2, 3, 4])
    f = c.fetch(q, 1, 3)
    ok("fetch: 3 records from 1", f.records == [b"m1", b"m2", b"m3"] and
       f.first_offset == 1 and f.next_offset == 4 and f.end_offset == 5)
    c.commit(q, "billing", 3)
    ok("commit, then offset", c.offset(q, "billing") == 3)
    # A resend with the same message id: the first REPLY, not a second
    # message.
    mid = c.next_msg_id()
    r1 = c.send_raw(p.Op.PUBLISH, p.enc_publish(q, b"once"), mid)
    r2 = c.send_raw(p.Op.PUBLISH, p.enc_publish(q, b"once"), mid)
    ok("a resend gets the first REPLY byte for byte",
       r1.payload == r2.payload and p.dec_u64(r1.payload) == 5)
    ok("and the queue holds it once", c.fetch(q, 5, 10).records == [b"once"])
    e = raises(errors.NotFound, c.fetch, "py-none-" + RUN, 0, 1)
    ok("fetch of no queue: NotFound with the reason",
       e.status == p.Status.NOT_FOUND and e.reason and e.msg_id)
    ok("status exceptions are StatusErrors", isinstance(e, errors.StatusError))
    raises(ValueError, c.publish, q, b"x" * (p.MSG_MAX + 1))
    ok("a message over 1343 bytes refused by the client (ValueError)")
    ok("the longest message goes", c.publish(q, b"x" * p.MSG_MAX) == 6)


def ledger(c1, c2):
    coins = c1.mint(1, 10, 4)
    ok("mint: 4 coins", coins.count == 4)
    a, b, cc, d = coins.ids
    seq = c1.transfer(1, 2, [a])
    ok("transfer: the hop's seq", seq > 0 and c1.coin(a).owner == 2)
    e = raises(errors.NotOwner, c1.transfer, 1, 2, [a])
    ok("transfer of a coin not owned: NotOwner", e.status == p.Status.NOT_OWNER)
    parts = c1.split(b, [3, 7])
    ok("split 10 into 3 + 7", parts.count == 2 and
       [c1.coin(i).denomination for i in parts.ids] == [3, 7])
    e = raises(errors.CoinDead, c1.burn, b)
    ok("a split coin is dead: CoinDead", e.status == p.Status.COIN_DEAD)
    merged = c1.merge(parts.ids)
    ok("merge 3 + 7 back into 10", c1.coin(merged).denomination == 10)
    c1.burn(d)
    info = c1.coin(d)
    ok("burn: the coin is DEAD", info.state == p.CoinState.DEAD)
    bal = c2.balance(2)
    ok("balance of account 2 counts coin %d" % a, bal.balance >= 10)
    hops = c1.trail(merged)
    ok("trail of the merged coin goes back to the mint",
       hops[0].kind == p.HopKind.MINT and hops[-1].kind == p.HopKind.MERGE)
    # A trail longer than a page (24 hops): 30 transfers back and forth.
    owners = {1: c1, 2: c2}
    who = 1
    for _ in range(30):
        owners[who].transfer(who, 3 - who, [cc])
        who = 3 - who
    hops = c1.trail(cc)
    ok("a trail of %d hops over pages" % len(hops),
       len(hops) == 31 and c1.trail_page(cc).total == 31 and
       len(c1.trail_page(cc).hops) == 24)
    au = c1.audit()
    ok("audit holds", au.ok and au.violations == 0)


def race(c1):
    """Two clients of account 1 try to move the same 40 coins, one to
    account 2, the other to account 3, at once: each coin moves once."""
    coins = c1.mint(1, 1, 40).ids
    other = client(1)
    won = {2: [], 3: []}
    refused = {2: 0, 3: 0}

    def go(c, to):
        for coin in coins:
            try:
                c.transfer(1, to, [coin])
                won[to].append(coin)
            except (errors.NotOwner, errors.CoinDead):
                refused[to] += 1

    t = [threading.Thread(target=go, args=(c1, 2)),
         threading.Thread(target=go, args=(other, 3))]
    for x in t:
        x.start()
    for x in t:
        x.join()
    other.close()
    ok("race: every coin moved exactly once (%d to 2, %d to 3)" % (
        len(won[2]), len(won[3])),
       sorted(won[2] + won[3]) == sorted(coins) and
       refused[2] == len(won[3]) and refused[3] == len(won[2]))
    ok("race: each coin owned by its winner",
       all(c1.coin(x).owner == 2 for x in won[2]) and
       all(c1.coin(x).owner == 3 for x in won[3]))
    ok("race: audit holds", c1.audit().ok)


async def many_in_flight():
    q = "py-async-" + RUN
    async with await AsyncClient.connect(SERVER, keys_file=KEYS,
                                         client_id=1) as c:
        offs = await asyncio.gather(*(c.publish(q, b"a%d" % i)
                                      for i in range(300)))
        ok("asyncio: 300 publishes in flight, offsets 0..299 each once",
           sorted(offs) == list(range(300)))
        f = await c.fetch(q, 0, 500)
        ok("asyncio: fetch sees all of them",
           len(f.records) <= 300 and f.end_offset == 300)
        pings = await asyncio.gather(*(c.ping(b"p%d" % i) for i in range(100)))
        ok("asyncio: 100 pings matched to their requests",
           pings == [b"p%d" % i for i in range(100)])


def services(c1):
    """Client 5 serves "py-upper-RUN" (price 2) from a thread; client 1
    calls it, paying with coins of 2."""
    type_ = "py-upper-" + RUN
    svc_client = client(5)
    stop = threading.Event()

    def handler(call):
        if call.payload == b"boom":
            raise ValueError("cannot shout that")
        if call.payload == b"nope":
            raise errors.Forbidden("not for you")
        return call.payload.upper()

    svc = Service(svc_client, type_, handler, price=2, lease_s=4)
    svc.register()
    th = threading.Thread(target=svc.run, kwargs={"stop": stop})
    th.start()
    try:
        before = c1.balance(5).balance
        coins = c1.mint(1, 2, 3).ids
        r = c1.call_service(type_, b"hello", [coins[0]], deadline_ms=3000)
        ok("a paid call answered by the Python service",
           r.payload == b"HELLO" and r.service == 5 and r.price == 2)
        ok("the service was paid", c1.balance(5).balance == before + 2 and
           c1.coin(coins[0]).owner == 5)
        e = raises(errors.StatusError, c1.call_service, type_, b"boom",
                   [coins[1]], deadline_ms=3000)
        ok("a handler's exception: INTERNAL, its text, nothing charged",
           e.status == p.Status.INTERNAL and "cannot shout" in e.reason and
           c1.coin(coins[1]).owner == 1)
        e = raises(errors.Forbidden, c1.call_service, type_, b"nope",
                   [coins[2]], deadline_ms=3000)
        ok("a handler's StatusError: its status", "not for you" in e.reason)
        hops = c1.trail(coins[0])
        pay = [h for h in hops if h.kind == p.HopKind.PAY]
        ok("the coin's trail names the call it paid for",
           len(pay) == 1 and pay[0].call == r.call_id and pay[0].dst == 5)
        held = c1.report(r.call_id, "shouted too loud")
        ok("report a problem on the call", held is False)
        # Time to renew the lease (4 s): calls still go through.
        time.sleep(3)
        more = c1.mint(1, 2, 1).ids
        r = c1.call_service(type_, b"again", more, deadline_ms=3000)
        ok("the lease is renewed for the service", r.payload == b"AGAIN")
        if KCCTL:
            coin = c1.mint(1, 2, 1).ids[0]
            out = subprocess.run(
                [KCCTL, "-s", SERVER, "-k", KEYS, "-c", "1", "call", type_,
                 "from kcctl", str(coin)], capture_output=True, text=True,
                timeout=30)
            ok("kcctl calls the Python service: %s" % out.stdout.strip(),
               out.returncode == 0 and "FROM KCCTL" in out.stdout and
               c1.coin(coin).owner == 5)
    finally:
        stop.set()
        th.join()
        svc_client.close()
    ok("the service saw each call once (%d calls)" % svc.calls,
       svc.calls == (5 if KCCTL else 4))
    e = raises(errors.Unavailable, c1.call_service, type_, b"x",
               c1.mint(1, 2, 1).ids, deadline_ms=500)
    ok("after UNSERVE: Unavailable (resent for 5 s first)",
       e.status == p.Status.UNAVAILABLE)


def main():
    with client(1) as c1, client(2) as c2:
        queues(c1)
        ledger(c1, c2)
        race(c1)
        asyncio.run(many_in_flight())
        services(c1)
        ok("audit at the end", c1.audit().ok)
    print("itest_client: every check passed")


if __name__ == "__main__":
    main()
