# SPDX-License-Identifier: BSD-3-Clause
"""A random economy against the appliance, for test_analytics.sh
(docs/analytics.md): hundreds of accounts, thousands of transfers, burns,
paid calls to two good services and two faulty ones (one answers with
errors, one's callers report a problem on every call), through the Python
client (clients/python). It keeps its own tally of every value it moved,
then holds the admin API's /api/v1/analytics/ documents against it.

    economy.py keys FILE ACCOUNTS         a keys file: accounts 1..ACCOUNTS
    economy.py run SERVER KEYS ADMIN OUT  the economy; the API's documents,
                                          the tally and the balances to OUT
    economy.py api ADMIN OUT              the API's documents only (after a
                                          restart)
    economy.py compare A B [--kcq]        A's documents equal B's (B from
                                          kcq graph with --kcq)
    economy.py journal A DUMP             A's value by kind equals the sum of
                                          the LEDGER records of DUMP (kcq
                                          dump --json)

Each check prints "ok: ..." or "FAIL: ..."; the exit status is the count
of failures (at most 100).
"""
import json
import random
import secrets
import sys
import threading
import time
import urllib.request

from kingcobra import Client, errors
from kingcobra import protocol as p
from kingcobra.service import Service

SEED = 2212
MINT_AUTHORITY = 1
# Four services, one type each: two good, two faulty.
SERVICES = {"alpha": 291, "beta": 292, "gamma": 293, "delta": 294}
GOOD = ("alpha", "beta")
TRANSFERS = 5000
CALLS = 2000
BURNS = 60
failures = 0


def ok(what, cond, detail=""):
    global failures
    if cond:
        print("ok: " + what, flush=True)
    else:
        failures += 1
        print("FAIL: " + what + (" (%s)" % detail if detail else ""),
              flush=True)


def say(what):
    """What the economy did: not a check."""
    print("-- " + what, flush=True)


def read_keys(path):
    keys = {}
    for line in open(path):
        f = line.split()
        if f and not f[0].startswith("#"):
            keys[int(f[0])] = f[1]
    return keys


def cmd_keys(path, n):
    with open(path, "w") as f:
        f.write("# test_analytics.sh: accounts 1..%d, random keys\n" % n)
        for a in range(1, n + 1):
            f.write("%d %s econ-%d\n" % (a, secrets.token_hex(32), a))


def api_get(admin, path):
    with urllib.request.urlopen("http://%s/api/v1/%s" % (admin, path),
                                timeout=30) as r:
        return json.load(r)


def settled(admin, seconds=120):
    """The analytics thread has fed every durable record of shard 0, and
    nothing new came for a second. (caught_up alone says it caught up
    once; at SCHED_IDLE on a busy machine it may lag far behind since.)"""
    end = time.monotonic() + seconds
    last = None
    while time.monotonic() < end:
        durable = api_get(admin, "journal")["shards"][0]["durable_seq"]
        d = api_get(admin, "analytics/flows?top=1")
        now = (durable, d["through_seq"])
        if d["through_seq"] >= durable and now == last:
            return d
        last = now
        time.sleep(1.0)
    raise SystemExit("the analytics did not reach the journal's durable "
                     "seq in %d s: %s" % (seconds, last))

def api_docs(admin, mf_from, mf_to):
    settled(admin)
    return {
        "flows": api_get(admin, "analytics/flows"),
        "rank": api_get(admin, "analytics/rank"),
        "kcore": api_get(admin, "analytics/kcore"),
        "scc": api_get(admin, "analytics/scc"),
        "maxflow": api_get(admin, "analytics/maxflow?from=%d&to=%d" %
                           (mf_from, mf_to)),
    }


def run(server, keys_path, admin, out):
    rnd = random.Random(SEED)
    keys = read_keys(keys_path)
    services = set(SERVICES.values())
    people = sorted(a for a in keys if a not in services and
                    a != MINT_AUTHORITY)
    cl = {a: Client(server, client_id=a, key=keys[a], timeout=0.5,
                    retries=6) for a in people + [MINT_AUTHORITY]}
    bank = cl[MINT_AUTHORITY]
    tally = {k: 0 for k in ("mint", "transfer", "burn", "escrow", "pay",
                            "refund")}
    owned = {a: [] for a in people}    # (coin, denomination)
    # Trade by account: paid to others, received from others, earned as
    # a service (docs/analytics.md, "top payers, payees and services").
    paid, got, earned = {}, {}, {}

    def add(d, a, v):
        d[a] = d.get(a, 0) + v
    call_coins = {a: [] for a in people}

    # Money: every person gets coins of 1, 2, 5 and 10, and coins of 1
    # kept for calls.
    for a in people:
        for denom, count in ((1, 2), (2, 2), (5, 1), (10, 1)):
            c = bank.mint(a, denom, count)
            owned[a] += [(i, denom) for i in c.ids]
            tally["mint"] += denom * count
        c = bank.mint(a, 1, 8)
        call_coins[a] += c.ids
        tally["mint"] += 8
    say("minted %d to %d accounts" % (tally["mint"], len(people)))

    # Trade: a random holder gives one or two of its coins to another.
    for _ in range(TRANSFERS):
        src = rnd.choice([a for a in people if owned[a]])
        dst = rnd.choice(people)
        while dst == src:
            dst = rnd.choice(people)
        give = rnd.sample(owned[src], min(len(owned[src]),
                                          rnd.choice((1, 1, 2))))
        cl[src].transfer(src, dst, [c for c, _ in give])
        for g in give:
            owned[src].remove(g)
        owned[dst] += give
        tally["transfer"] += sum(d for _, d in give)
        add(paid, src, sum(d for _, d in give))
        add(got, dst, sum(d for _, d in give))
    for _ in range(BURNS):
        a = rnd.choice([a for a in people if owned[a]])
        coin = owned[a].pop(rnd.randrange(len(owned[a])))
        cl[a].burn(coin[0])
        tally["burn"] += coin[1]
    say("%d transfers and %d burns" % (TRANSFERS, BURNS))

    # Calls, price 1: alpha and beta answer, gamma fails every call,
    # delta answers but its callers report a problem on every call.
    stop = threading.Event()
    threads, svcs = [], []

    def handler(kind):
        def h(call):
            if kind == "gamma":
                return (int(p.Status.INTERNAL), b"gamma is broken")
            return call.payload[::-1]
        return h

    for t, acc in SERVICES.items():
        sc = Client(server, client_id=acc, key=keys[acc], timeout=0.5,
                    retries=6)
        s = Service(sc, t, handler(t), price=1, max_inflight=64,
                    lease_s=30)
        s.register()
        th = threading.Thread(target=s.run, kwargs={"stop": stop})
        th.start()
        svcs.append((s, sc))
        threads.append(th)
    counts = {t: [0, 0, 0] for t in SERVICES}     # ok, failed, problems
    try:
        for i in range(CALLS):
            a = rnd.choice([a for a in people if call_coins[a]])
            t = rnd.choice(list(SERVICES))
            coin = call_coins[a].pop()
            tally["escrow"] += 1
            add(paid, a, 1)
            try:
                r = cl[a].call_service(t, b"call %d" % i, [coin],
                                       deadline_ms=3000)
                ok_call = r.service == SERVICES[t]
                tally["pay"] += 1
                add(got, SERVICES[t], 1)
                add(earned, SERVICES[t], 1)
                counts[t][0] += 1
                if t == "delta":
                    cl[a].report(r.call_id, "wrong answer")
                    counts[t][2] += 1
            except errors.StatusError:
                ok_call = t == "gamma"
                tally["refund"] += 1
                counts[t][1] += 1
                call_coins[a].append(coin)    # refunded
            if not ok_call:
                ok("call %d to %s answered as the service does" % (i, t),
                   False)
    finally:
        stop.set()
        for th in threads:
            th.join()
        for _, sc in svcs:
            sc.close()
    say("%d paid calls: %s" % (CALLS, counts))

    balances = {a: cl[a].balance(a).balance for a in people}
    for acc in SERVICES.values():
        balances[acc] = bank.balance(acc).balance
    balances[p.ACCOUNT_ESCROW if hasattr(p, "ACCOUNT_ESCROW")
             else 4294967295] = bank.balance(4294967295).balance
    for c in cl.values():
        c.close()
    docs = api_docs(admin, 0, SERVICES["alpha"])
    json.dump({"tally": tally, "balances": balances, "counts": counts,
               "docs": docs}, open(out, "w"))
    check_economy(tally, balances, counts, docs)
    for name, d in (("payers", paid), ("payees", got), ("services", earned)):
        top = docs["flows"]["top_" + name]
        want = sorted(d.values(), reverse=True)[:10]
        ok("the top %s are the economy's (%s)" % (name, top[:3]),
           [x["value"] for x in top] == want and
           all(d[x["account"]] == x["value"] for x in top), want)


def nets(flows):
    return {v["account"]: v["net"] for v in flows["vertices"]}


def check_economy(tally, balances, counts, docs):
    f = docs["flows"]
    ok("the API's value by kind is the economy's tally %s" % tally,
       f["value_by_kind"] == tally, f["value_by_kind"])
    summed = {k: 0 for k in tally}
    for e in f["edges"]:
        summed[e["kind"]] += e["value"]
    ok("the edges add up to the value by kind", summed == tally, summed)
    n = nets(f)
    ok("every account's net flow is its BALANCE (%d accounts)" %
       len(balances), all(n.get(a, 0) == b for a, b in balances.items()),
       [(a, n.get(a), b) for a, b in balances.items() if n.get(a, 0) != b][:5])
    held = sum(v for a, v in n.items() if a != 0)
    ok("net flows add up to minted minus burnt (%d)" % held,
       held == tally["mint"] - tally["burn"] and n[0] == -held)
    ok("no hidden money", f["hidden_money"] == [] and not f["over_caps"])
    ok("%d accounts in the graph" % len(f["vertices"]),
       len(f["vertices"]) >= 280)
    rank = {m["service"]: m for m in docs["rank"]["rank"]}
    good = [rank[SERVICES[t]]["merit"] for t in GOOD]
    bad = [rank[SERVICES[t]]["merit"] for t in SERVICES if t not in GOOD]
    ok("the faulty services rank below the good ones (good %s, faulty %s)"
       % (good, bad), min(good) > max(bad))
    ok("the rank counts every call's outcome and report",
       all(rank[SERVICES[t]]["ok"] == c[0] and
           rank[SERVICES[t]]["failed"] == c[1] and
           rank[SERVICES[t]]["problems"] == c[2]
           for t, c in counts.items()), [(t, rank[SERVICES[t]]) for t in SERVICES])
    mf = docs["maxflow"]["maxflow"]
    ok("max flow from the bank to alpha is at least alpha's income (%s)" %
       mf["value"], mf["value"] >= balances[SERVICES["alpha"]] > 0)


def strip(d):
    """The analysis, without when it was sampled."""
    return {k: v for k, v in d.items() if k not in (
        "sample_ms", "caught_up", "records", "through_seq",
        "last_record_ms")}


def compare(a_path, b_path, kcq):
    a = json.load(open(a_path))["docs"]
    if kcq:
        g = json.load(open(b_path))
        b = {"flows": {k: g[k] for k in ("vertices", "edges",
                                         "value_by_kind", "top_payers",
                                         "top_payees", "top_services",
                                         "hops",
                                         "hops_out_of_range", "over_caps",
                                         "hidden_money")},
             "rank": {"rank": g["rank"], "outcomes_of_unknown_calls":
                      g["outcomes_of_unknown_calls"]},
             "kcore": {"coreness": g["coreness"]},
             "scc": {"components": g["components"]},
             "maxflow": {"maxflow": g["maxflow"]}}
        what = "kcq graph"
    else:
        b = json.load(open(b_path))["docs"]
        what = "the API after a restart"
    for k in ("flows", "kcore", "scc", "maxflow"):
        ok("/api/v1/analytics/%s equals %s's" % (k, what),
           strip(a[k]) == strip(b[k]))
    ra, rb = a["rank"]["rank"], b["rank"]["rank"]
    same = len(ra) == len(rb) and all(
        x["service"] == y["service"] and abs(x["merit"] - y["merit"]) < 1e-9
        and x["ok"] == y["ok"] and x["failed"] == y["failed"] and
        x["problems"] == y["problems"] and x["callers"] == y["callers"]
        for x, y in zip(ra, rb))
    ok("/api/v1/analytics/rank equals %s's" % what, same)


def journal(a_path, dump_path):
    """The value each kind of hop moved, summed from the journal's LEDGER
    records themselves: a MINT's coins made, the coins a TRANSFER, BURN,
    PAY or REFUND moved, the coins an ESCROW took (a price of 1 paid with
    a coin of 1 here, so no change comes back)."""
    a = json.load(open(a_path))["docs"]["flows"]["value_by_kind"]
    sums = {k: 0 for k in a}
    records = 0
    for line in open(dump_path):
        r = json.loads(line)
        if r.get("type") != "LEDGER" and r.get("type") != "ledger":
            continue
        records += 1
        k = r["kind"]
        coins = r["out"] if k == "mint" else r["in"]
        if k in sums:
            sums[k] += sum(int(c["denomination"]) for c in coins)
    ok("the API's value by kind is the sum of the journal's %d LEDGER "
       "records" % records, records > 0 and sums == a, (sums, a))


def main(argv):
    if argv[1] == "keys":
        cmd_keys(argv[2], int(argv[3]))
        return 0
    if argv[1] == "run":
        run(argv[2], argv[3], argv[4], argv[5])
    elif argv[1] == "api":
        json.dump({"docs": api_docs(argv[2], 0, SERVICES["alpha"])},
                  open(argv[3], "w"))
    elif argv[1] == "compare":
        compare(argv[2], argv[3], "--kcq" in argv)
    elif argv[1] == "journal":
        journal(argv[2], argv[3])
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
