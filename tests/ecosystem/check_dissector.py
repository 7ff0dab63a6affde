#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks deploy/wireshark/kcp.lua with tshark, field values asserted:

    check_dissector.py LUA pcapgen DIR     kc-pcap-gen's PING, PUBLISH and
                                           TRANSFER files (made by the test)
    check_dissector.py LUA capture FILE    a capture of the Python client's
                                           integration test: every op's
                                           request and REPLY, DELIVERs
    check_dissector.py LUA malformed DIR   broken datagrams written here:
                                           expert info, no Lua error

Prints "ok: ..." per check; exits 1 on the first failure.
"""
import os
import struct
import subprocess
import sys

LUA = sys.argv[1]
SEP = "\t"


def ok(what, cond):
    if not cond:
        print("FAIL: %s" % what)
        sys.exit(1)
    print("ok: %s" % what)


def tshark(pcap, names, display_filter=None):
    """One dict per frame (field -> list of values); fails on any Lua
    error in tshark's output."""
    cmd = ["tshark", "-n", "-X", "lua_script:" + LUA, "-r", pcap, "-T",
           "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E",
           "aggregator=|", "-e", "frame.number", "-e", "_ws.expert.message"]
    for n in names:
        cmd += ["-e", n]
    if display_filter:
        cmd += ["-Y", display_filter]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    ok("tshark ran without a Lua error on %s%s" % (
        os.path.basename(pcap), " (%s)" % display_filter if display_filter
        else ""), r.returncode == 0 and "Lua" not in r.stderr and
       "Lua Error" not in out)
    rows = []
    for line in r.stdout.splitlines():
        vals = line.split(SEP)
        row = {}
        for n, v in zip(["frame.number", "_ws.expert.message"] + list(names),
                        vals):
            row[n] = v.split("|") if v else []
        rows.append(row)
    # A Lua error inside the dissector is expert info, not an exit status.
    lua = [m for r in rows for m in r["_ws.expert.message"] if "Lua" in m]
    ok("no Lua error while dissecting %s (%s)" % (os.path.basename(pcap),
                                                 lua[:1]), not lua)
    return rows


def one(row, name):
    v = row.get(name) or []
    return v[0] if v else None


# ---- kc-pcap-gen's files ----------------------------------------------------

def pcapgen(d):
    rows = tshark(os.path.join(d, "ping.pcap"),
                  ["kcp.type", "kcp.op", "kcp.client_id", "kcp.msg_id.client",
                   "kcp.msg_id.seq", "kcp.payload_len", "kcp.echo",
                   "kcp.msg_id.time", "_ws.expert"])
    ok("ping.pcap: 5 frames, REQUEST PING of client 1, 4-byte payload",
       len(rows) == 5 and all(one(r, "kcp.type") == "1" and
                              one(r, "kcp.op") == "1" and
                              one(r, "kcp.client_id") == "1" and
                              one(r, "kcp.msg_id.client") == "1" and
                              one(r, "kcp.payload_len") == "4" and
                              len(one(r, "kcp.echo") or "") == 8
                              for r in rows))
    ok("ping.pcap: sequences from --first-seq 1000, one a frame",
       [one(r, "kcp.msg_id.seq") for r in rows] ==
       [str(1000 + i) for i in range(5)])
    ok("ping.pcap: the message id's time is --time-ms (2024-06-01T12:00:00)",
       all("2024" in (one(r, "kcp.msg_id.time") or "") or
           "1717243200" in (one(r, "kcp.msg_id.time") or "") for r in rows))
    ok("ping.pcap: no expert info", all(not r["_ws.expert"] for r in rows))
    rows = tshark(os.path.join(d, "publish.pcap"),
                  ["kcp.op", "kcp.queue", "kcp.message"])
    ok("publish.pcap: PUBLISH to 'orders' of 16 bytes 'abcdefghijklmnop'",
       len(rows) == 3 and all(one(r, "kcp.op") == "2" and
                              one(r, "kcp.queue") == "orders" and
                              one(r, "kcp.message") ==
                              b"abcdefghijklmnop".hex() for r in rows))
    rows = tshark(os.path.join(d, "transfer.pcap"),
                  ["kcp.op", "kcp.from", "kcp.to", "kcp.coin"])
    ok("transfer.pcap: TRANSFER 1 -> 2 of coins 7, 8, 9",
       [(one(r, "kcp.op"), one(r, "kcp.from"), one(r, "kcp.to"),
         r["kcp.coin"]) for r in rows] ==
       [("17", "1", "2", [str(c)]) for c in (7, 8, 9)])


# ---- a capture of the Python client's test ---------------------------------

OPS = {1: "PING", 2: "PUBLISH", 3: "FETCH", 4: "COMMIT", 5: "OFFSET",
       6: "TIME", 16: "MINT", 17: "TRANSFER", 18: "SPLIT", 19: "MERGE",
       20: "BURN", 21: "BALANCE", 22: "COIN", 23: "TRAIL", 24: "AUDIT",
       48: "SERVE", 49: "UNSERVE", 50: "CALL", 51: "RESPOND", 52: "REPORT"}


def capture(pcap):
    names = ["kcp.type", "kcp.op", "kcp.status", "kcp.msg_id", "kcp.client_id",
             "kcp.queue", "kcp.message", "kcp.offset", "kcp.record",
             "kcp.hop.kind", "kcp.hop.call", "kcp.audit.ok",
             "kcp.svc.type", "kcp.svc.payload", "kcp.svc.service",
             "kcp.svc.price", "kcp.svc.call_id", "kcp.svc.report_text",
             "kcp.svc.caller", "kcp.reason", "kcp.time_ns", "kcp.balance",
             "kcp.owner", "kcp.first_coin", "kcp.svc.settlement",
             "kcp.bad_payload", "kcp.bad_length", "kcp.bad_header",
             "kcp.unknown_op"]
    rows = tshark(pcap, names, "kcp")
    ok("the capture holds KCP (%d messages)" % len(rows), len(rows) > 500)
    seen = {(one(r, "kcp.type"), one(r, "kcp.op")) for r in rows}
    for op, name in OPS.items():
        ok("%s: a REQUEST and its REPLY decoded" % name,
           ("1", str(op)) in seen and ("2", str(op)) in seen)
    ok("DELIVER messages of CALL decoded", ("3", "50") in seen)
    bad = [one(r, "frame.number") for r in rows
           if r["kcp.bad_payload"] or r["kcp.bad_length"] or
           r["kcp.bad_header"] or r["kcp.unknown_op"]]
    ok("no valid message marked malformed (%s)" % bad[:5], not bad)
    by_id = {}
    for r in rows:
        by_id.setdefault(one(r, "kcp.msg_id"), []).append(r)

    def reply_to(req):
        for r in by_id.get(one(req, "kcp.msg_id"), []):
            if one(r, "kcp.type") == "2":
                return r
        return None

    pubs = [r for r in rows if one(r, "kcp.type") == "1" and
            one(r, "kcp.op") == "2" and one(r, "kcp.message") == b"m0".hex()]
    ok("PUBLISH of 'm0' to py-...: queue and message, its REPLY offset 0",
       pubs and (one(pubs[0], "kcp.queue") or "").startswith("py-") and
       one(reply_to(pubs[0]) or {}, "kcp.offset") == "0")
    fetches = [r for r in rows if one(r, "kcp.type") == "2" and
               one(r, "kcp.op") == "3" and
               r["kcp.record"][:3] == [b"m1".hex(), b"m2".hex(), b"m3".hex()]]
    ok("FETCH REPLY: records m1, m2, m3", bool(fetches))
    errs = [r for r in rows if one(r, "kcp.type") == "2" and
            one(r, "kcp.status") == "3" and one(r, "kcp.op") == "3"]
    ok("an error REPLY: NOT_FOUND with its reason text",
       errs and "queue" in (one(errs[0], "kcp.reason") or ""))
    audits = [r for r in rows if one(r, "kcp.type") == "2" and
              one(r, "kcp.op") == "24"]
    ok("AUDIT REPLY: ok", audits and
       all(one(r, "kcp.audit.ok") in ("1", "True") for r in audits))
    times = [int(one(r, "kcp.time_ns")) for r in rows
             if one(r, "kcp.type") == "2" and one(r, "kcp.op") == "6"]
    ok("TIME REPLY: a time of this year", times and
       all(1.7e18 < t < 2.2e18 for t in times))
    calls = [r for r in rows if one(r, "kcp.type") == "2" and
             one(r, "kcp.op") == "50" and one(r, "kcp.status") == "0"]
    hello = [r for r in calls if one(r, "kcp.svc.payload") == b"HELLO".hex()]
    ok("CALL REPLY: service 5, price 2, payload HELLO",
       hello and one(hello[0], "kcp.svc.service") == "5" and
       one(hello[0], "kcp.svc.price") == "2")
    call_id = one(hello[0], "kcp.msg_id")
    delivers = [r for r in rows if one(r, "kcp.type") == "3" and
                one(r, "kcp.msg_id") == call_id]
    ok("its DELIVER: the call id, caller 1, service 5, type py-upper-..., "
       "payload hello", delivers and
       one(delivers[0], "kcp.svc.caller") == "1" and
       one(delivers[0], "kcp.client_id") == "5" and
       (one(delivers[0], "kcp.svc.type") or "").startswith("py-upper-") and
       one(delivers[0], "kcp.svc.payload") == b"hello".hex())
    responds = [r for r in rows if one(r, "kcp.type") == "1" and
                one(r, "kcp.op") == "51" and
                one(r, "kcp.svc.call_id") == call_id]
    ok("the RESPOND names the call; its REPLY says paid",
       responds and one(reply_to(responds[0]) or {}, "kcp.svc.settlement")
       == "1")
    pays = [r for r in rows if one(r, "kcp.type") == "2" and
            one(r, "kcp.op") == "23" and call_id in r["kcp.hop.call"]]
    ok("a TRAIL page with the pay hop naming the call",
       pays and "7" in pays[0]["kcp.hop.kind"])
    reports = [r for r in rows if one(r, "kcp.op") == "52" and
               one(r, "kcp.type") == "1"]
    ok("REPORT: its call and text",
       reports and one(reports[0], "kcp.svc.report_text") ==
       "shouted too loud" and one(reports[0], "kcp.svc.call_id") == call_id)


# ---- broken datagrams ---------------------------------------------------------

def udp_frame(payload, sport=40000, dport=60000):
    ip_len = 20 + 8 + len(payload)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, ip_len, 0, 0x4000, 64, 17, 0,
                     bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2]))
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0)
    eth = bytes.fromhex("024b43000002" "020000000001" "0800")
    return eth + ip + udp + payload


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
            f.write(fr)


def header(type_=1, op=1, payload=b"", plen=None, magic=0x4B43, version=1,
           flags=0, client=1, status=0):
    mid = (1717243200000).to_bytes(6, "big") + client.to_bytes(4, "big") + \
        (7).to_bytes(6, "big")
    return struct.pack(">HBBBBH16sII", magic, version, type_, op, flags,
                       status, mid, client,
                       len(payload) if plen is None else plen) + \
        bytes(32) + payload


def malformed(d):
    cases = [
        ("short", b"KC\x01\x01", "kcp.bad_length"),
        ("bad magic", header(magic=0x1234), "kcp.bad_magic"),
        ("bad version", header(version=9), "kcp.bad_header"),
        ("bad type", header(type_=7), "kcp.bad_header"),
        ("flags", header(flags=1), "kcp.bad_header"),
        ("payload_len too long", header(payload=b"abc", plen=40),
         "kcp.bad_length"),
        ("unknown op", header(op=99), "kcp.unknown_op"),
        ("PUBLISH with a name length of 200",
         header(op=2, payload=bytes([200]) + b"orders"), "kcp.bad_payload"),
        ("FETCH cut short", header(op=3, payload=b"\x06orders\x00\x00"),
         "kcp.bad_payload"),
        ("TRANSFER with 0 coins", header(op=17, payload=bytes(10)),
         "kcp.bad_payload"),
        ("BALANCE with bytes left over", header(op=21, payload=bytes(6)),
         "kcp.bad_payload"),
        ("TRAIL reply whose count and length differ",
         header(type_=2, op=23, payload=struct.pack(">IIH", 3, 0, 2) +
                bytes(57)), "kcp.bad_payload"),
        ("MINT with no payload", header(op=16), "kcp.bad_payload"),
        ("PUBLISH REPLY OK with no offset", header(type_=2, op=2),
         "kcp.bad_payload"),
        ("a REQUEST with a status", header(status=3), "kcp.bad_header"),
        ("a payload over 1408 bytes", header(payload=bytes(1420)),
         "kcp.bad_length"),
        ("a DELIVER of another op than CALL", header(type_=3, op=1),
         "kcp.bad_header"),
        ("SPLIT into one part", header(op=18, payload=struct.pack(
            ">QHQ", 5, 1, 10)), "kcp.bad_payload"),
        ("a queue name with a space", header(op=2, payload=b"\x02a b"),
         "kcp.bad_payload"),
        ("FETCH REPLY with a reserved field set", header(
            type_=2, op=3, payload=struct.pack(">QQQHH", 0, 0, 0, 0, 1)),
         "kcp.bad_payload"),
        ("RESPOND REPLY with settlement 9", header(
            type_=2, op=51, payload=struct.pack(">BQ", 9, 5)),
         "kcp.bad_payload"),
        ("an error REPLY without a reason", header(type_=2, op=2, status=4),
         "kcp.error_status"),
    ]
    path = os.path.join(d, "malformed.pcap")
    write_pcap(path, [udp_frame(c[1]) for c in cases])
    names = sorted({c[2] for c in cases})
    rows = tshark(path, ["kcp.op"] + names)
    ok("every broken datagram decoded to a frame", len(rows) == len(cases))
    for (what, _, expert), r in zip(cases, rows):
        ok("%s: expert info %s" % (what, expert), bool(r.get(expert)))


def main():
    mode, arg = sys.argv[2], sys.argv[3]
    {"pcapgen": pcapgen, "capture": capture, "malformed": malformed}[mode](arg)


if __name__ == "__main__":
    main()
