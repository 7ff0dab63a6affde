#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""KCP test vectors, computed independently of the C code.

Only the Python standard library (struct, hmac, hashlib) is used, so these
vectors cross-check the C encoder (lib/proto) and signer (lib/auth): the
hex strings printed here are pasted into tests/unit/test_proto.c and
docs/protocol.md, and test_proto asserts that the C code produces exactly
the same bytes.

    tests/vectors/gen_vectors.py          # all vectors, one per line
    tests/vectors/gen_vectors.py --c      # C string literals for test_proto.c
    tests/vectors/gen_vectors.py --md     # hex dumps for docs/protocol.md
"""
import hashlib
import hmac
import struct
import sys

MAGIC = 0x4B43
VERSION = 1
REQUEST, REPLY, DELIVER = 1, 2, 3
OP = {"ping": 1, "publish": 2, "fetch": 3, "commit": 4, "offset": 5,
      "time": 6, "transfer": 17, "serve": 48, "call": 50, "respond": 51,
      "report": 52}
STATUS_OK, STATUS_QUEUE_FULL = 0, 4

DEV_KEY = b"kingcobra-dev-key-local-only-001"
CLIENT_ID = 1
T0_MS = 1717243200000  # 2024-06-01T12:00:00Z

assert len(DEV_KEY) == 32


def msg_id(unix_ms, client_id, seq):
    """48-bit ms, 32-bit client id, 48-bit sequence, big-endian."""
    return (struct.pack(">Q", unix_ms)[2:] + struct.pack(">I", client_id) +
            struct.pack(">Q", seq)[2:])


def message(typ, op, status, mid, payload, key=DEV_KEY, client_id=CLIENT_ID):
    """Header (64 bytes, tag over bytes 0..31 and the payload) + payload."""
    signed = struct.pack(">HBBBBH16sII", MAGIC, VERSION, typ, op, 0, status,
                         mid, client_id, len(payload))
    assert len(signed) == 32
    tag = hmac.new(key, signed + payload, hashlib.sha256).digest()
    return signed + tag + payload


def name(s):
    b = s.encode()
    assert 1 <= len(b) <= 64
    return bytes([len(b)]) + b


def fetch_reply(first, nxt, end, records):
    out = struct.pack(">QQQHH", first, nxt, end, len(records), 0)
    for r in records:
        out += struct.pack(">I", len(r)) + r
    return out


def vectors():
    v = []
    mid1 = msg_id(T0_MS, CLIENT_ID, 1)
    v.append(("ping_request",
              message(REQUEST, OP["ping"], 0, mid1, b"hello")))
    mid2 = msg_id(T0_MS + 1, CLIENT_ID, 2)
    v.append(("publish_request",
              message(REQUEST, OP["publish"], 0, mid2,
                      name("orders") + b"hello, kingcobra")))
    v.append(("publish_reply",
              message(REPLY, OP["publish"], STATUS_OK, mid2,
                      struct.pack(">Q", 41))))
    mid3 = msg_id(T0_MS + 2, CLIENT_ID, 3)
    v.append(("fetch_request",
              message(REQUEST, OP["fetch"], 0, mid3,
                      name("orders") + struct.pack(">QH", 41, 2))))
    v.append(("fetch_reply",
              message(REPLY, OP["fetch"], STATUS_OK, mid3,
                      fetch_reply(41, 43, 43,
                                  [b"hello, kingcobra", b"second message"]))))
    mid4 = msg_id(T0_MS + 3, CLIENT_ID, 4)
    v.append(("error_reply",
              message(REPLY, OP["publish"], STATUS_QUEUE_FULL, mid4,
                      b"queue orders holds 16384 messages")))
    mid5 = msg_id(T0_MS + 4, CLIENT_ID, 5)
    v.append(("commit_request",
              message(REQUEST, OP["commit"], 0, mid5,
                      name("orders") + name("billing") +
                      struct.pack(">Q", 43))))
    mid6 = msg_id(T0_MS + 5, CLIENT_ID, 6)
    v.append(("offset_reply",
              message(REPLY, OP["offset"], STATUS_OK, mid6,
                      struct.pack(">Q", 43))))
    mid7 = msg_id(T0_MS + 6, CLIENT_ID, 7)
    coins = [5, 6]
    v.append(("transfer_request",
              message(REQUEST, OP["transfer"], 0, mid7,
                      struct.pack(">IIH", 1, 2, len(coins)) +
                      b"".join(struct.pack(">Q", c) for c in coins))))
    mid8 = msg_id(T0_MS + 7, CLIENT_ID, 8)
    v.append(("time_reply",
              message(REPLY, OP["time"], STATUS_OK, mid8,
                      struct.pack(">Q", (T0_MS + 7) * 1000000))))
    # Service calls (docs/services.md): client 1 serves "upper" and calls
    # it itself, so one key signs every message of the call.
    mid9 = msg_id(T0_MS + 8, CLIENT_ID, 9)
    v.append(("serve_request",
              message(REQUEST, OP["serve"], 0, mid9,
                      name("upper") + struct.pack(">QII", 5, 4, 30))))
    mid10 = msg_id(T0_MS + 9, CLIENT_ID, 10)
    v.append(("call_request",
              message(REQUEST, OP["call"], 0, mid10,
                      name("upper") + struct.pack(">IH", 2000, 5) +
                      b"hello" + struct.pack(">HQ", 1, 17))))
    v.append(("deliver_message",
              message(DELIVER, OP["call"], 0, mid10,
                      struct.pack(">IQ", CLIENT_ID, T0_MS + 9 + 2000) +
                      name("upper") + struct.pack(">H", 5) + b"hello")))
    mid11 = msg_id(T0_MS + 10, CLIENT_ID, 11)
    v.append(("respond_request",
              message(REQUEST, OP["respond"], 0, mid11,
                      mid10 + struct.pack(">H", 0) + b"HELLO")))
    v.append(("call_reply",
              message(REPLY, OP["call"], STATUS_OK, mid10,
                      struct.pack(">IQ", CLIENT_ID, 5) + b"HELLO")))
    mid12 = msg_id(T0_MS + 11, CLIENT_ID, 12)
    v.append(("report_request",
              message(REQUEST, OP["report"], 0, mid12,
                      mid10 + bytes([1]) + b"wrong case")))
    return v


def csum16(data):
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def frame(kcp, src_mac, dst_mac, src_ip, dst_ip, sport, dport):
    """Ethernet II + IPv4 (no options, DF, id 0, TTL 64) + UDP."""
    udp_len = 8 + len(kcp)
    total = 20 + udp_len
    assert total <= 1500
    iph = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 17, 0,
                      ip4(src_ip), ip4(dst_ip))
    iph = iph[:10] + struct.pack(">H", csum16(iph)) + iph[12:]
    pseudo = ip4(src_ip) + ip4(dst_ip) + struct.pack(">BBH", 0, 17, udp_len)
    udph = struct.pack(">HHHH", sport, dport, udp_len, 0)
    uc = csum16(pseudo + udph + kcp)
    if uc == 0:
        uc = 0xFFFF  # 0 means "no checksum" in UDP over IPv4
    udph = udph[:6] + struct.pack(">H", uc)
    eth = (bytes.fromhex(dst_mac.replace(":", "")) +
           bytes.fromhex(src_mac.replace(":", "")) + struct.pack(">H", 0x0800))
    return eth + iph + udph + kcp


def ping_frame():
    kcp = vectors()[0][1]
    return frame(kcp, "02:00:00:00:00:01", "02:4b:43:00:00:02",
                 "10.77.0.1", "10.77.0.2", 40000, 60000)


def c_literal(label, data):
    h = data.hex()
    lines = ['static const char vec_%s[] =' % label]
    for i in range(0, len(h), 64):
        lines.append('\t"%s"' % h[i:i + 64])
    lines[-1] += ";"
    return "\n".join(lines)


def hexdump(data):
    out = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        out.append("%04x  %s" % (i, " ".join("%02x" % b for b in chunk)))
    return "\n".join(out)


def main():
    vs = vectors() + [("ping_frame", ping_frame())]
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "--c":
        print("\n\n".join(c_literal(n, d) for n, d in vs))
    elif mode == "--md":
        for n, d in vs:
            print("%s (%d bytes):\n\n```\n%s\n```\n" % (n, len(d), hexdump(d)))
    elif mode == "":
        for n, d in vs:
            print(n, d.hex())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
