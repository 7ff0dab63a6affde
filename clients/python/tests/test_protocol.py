# SPDX-License-Identifier: BSD-3-Clause
"""kingcobra.protocol against the protocol's test vectors, byte for byte:
the hex dumps of docs/protocol.md section 9 (which tests/unit/test_proto.c
holds too). Each vector is built again with this package's encoders and
signer and must come out identical; each is decoded back to the values
the doc says it holds. Run: python3 -m unittest discover clients/python/tests
"""
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))

from kingcobra import protocol as p  # noqa: E402
from kingcobra import errors, keys  # noqa: E402

KEY = keys.DEV_KEYS[1]
T0 = 1717243200000


def doc_vectors():
    """name -> bytes, from docs/protocol.md's section 9 hex dumps."""
    with open(os.path.join(ROOT, "docs", "protocol.md")) as f:
        text = f.read()
    text = text[text.index("## 9. Test vectors"):]
    out = {}
    for m in re.finditer(r"^(\w+) \((\d+) bytes\):\n\n```\n(.*?)```", text,
                         re.M | re.S):
        hexes = "".join(line[6:].replace(" ", "")
                        for line in m.group(3).splitlines())
        out[m.group(1)] = bytes.fromhex(hexes)
        assert len(out[m.group(1)]) == int(m.group(2)), m.group(1)
    return out


def mid(n):
    return p.msg_id(T0 + n - 1, 1, n)


class Vectors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v = doc_vectors()

    def same(self, name, type_, op, status, n, payload):
        built = p.encode(type_, op, status, mid(n), 1, payload, KEY)
        self.assertEqual(built.hex(), self.v[name].hex(), name)
        h = p.decode_header(self.v[name])
        self.assertTrue(p.verify(self.v[name], KEY), name)
        self.assertFalse(p.verify(self.v[name], keys.DEV_KEYS[2]), name)
        self.assertEqual((h.type, h.op, h.status, h.msg_id, h.client_id),
                         (type_, op, status, mid(n), 1))
        return self.v[name][p.HDR_LEN:]

    def test_every_vector_is_checked(self):
        self.assertEqual(set(self.v), {
            "ping_request", "publish_request", "publish_reply",
            "fetch_request", "fetch_reply", "error_reply", "commit_request",
            "offset_reply", "transfer_request", "time_reply", "serve_request",
            "call_request", "deliver_message", "respond_request",
            "call_reply", "report_request", "ping_frame"})

    def test_ping(self):
        self.same("ping_request", p.MsgType.REQUEST, p.Op.PING, 0, 1, b"hello")
        self.assertEqual(p.msg_id_parts(mid(1)), (T0, 1, 1))
        # The frame holds the same message after 42 bytes of Ethernet,
        # IPv4 and UDP headers.
        self.assertEqual(self.v["ping_frame"][42:], self.v["ping_request"])

    def test_queues(self):
        self.same("publish_request", 1, p.Op.PUBLISH, 0, 2,
                  p.enc_publish("orders", b"hello, kingcobra"))
        pl = self.same("publish_reply", 2, p.Op.PUBLISH, 0, 2, p.u64(41))
        self.assertEqual(p.dec_u64(pl), 41)
        self.same("fetch_request", 1, p.Op.FETCH, 0, 3,
                  p.enc_fetch("orders", 41, 2))
        want = p.FetchResult(41, 43, 43, [b"hello, kingcobra",
                                          b"second message"])
        pl = self.same("fetch_reply", 2, p.Op.FETCH, 0, 3,
                       p.enc_fetch_reply(want))
        self.assertEqual(p.dec_fetch_reply(pl), want)
        pl = self.same("error_reply", 2, p.Op.PUBLISH, p.Status.QUEUE_FULL, 4,
                       b"queue orders holds 16384 messages")
        e = errors.error_for(p.Status.QUEUE_FULL, pl.decode())
        self.assertIsInstance(e, errors.QueueFull)
        self.assertEqual(str(e), "QUEUE_FULL: queue orders holds 16384 messages")
        self.same("commit_request", 1, p.Op.COMMIT, 0, 5,
                  p.enc_commit("orders", "billing", 43))
        self.assertEqual(p.dec_u64(self.same("offset_reply", 2, p.Op.OFFSET,
                                             0, 6, p.u64(43))), 43)
        self.assertEqual(p.dec_u64(self.same(
            "time_reply", 2, p.Op.TIME, 0, 8, p.u64((T0 + 7) * 1000000))),
            1717243200007000000)

    def test_ledger(self):
        self.same("transfer_request", 1, p.Op.TRANSFER, 0, 7,
                  p.enc_transfer(1, 2, [5, 6]))

    def test_service_calls(self):
        self.same("serve_request", 1, p.Op.SERVE, 0, 9,
                  p.enc_serve("upper", 5, 4, 30))
        self.same("call_request", 1, p.Op.CALL, 0, 10,
                  p.enc_call("upper", 2000, b"hello", [17]))
        pl = self.same("deliver_message", p.MsgType.DELIVER, p.Op.CALL, 0, 10,
                       p.enc_deliver(1, T0 + 9 + 2000, "upper", b"hello"))
        d = p.dec_deliver(p.decode_header(self.v["deliver_message"]), pl)
        self.assertEqual(d, p.Delivery(mid(10), 1, 1, T0 + 2009, "upper",
                                       b"hello"))
        self.same("respond_request", 1, p.Op.RESPOND, 0, 11,
                  p.enc_respond(mid(10), 0, b"HELLO"))
        pl = self.same("call_reply", 2, p.Op.CALL, 0, 10,
                       p.enc_call_reply(1, 5, b"HELLO"))
        self.assertEqual(p.dec_call_reply(pl), p.CallResult(1, 5, b"HELLO"))
        self.same("report_request", 1, p.Op.REPORT, 0, 12,
                  p.enc_report(mid(10).hex(), p.ReportKind.PROBLEM,
                               b"wrong case"))


class Rules(unittest.TestCase):
    def test_header_checks(self):
        v = doc_vectors()["ping_request"]
        for bad, why in ((v[:63], "shorter"), (b"\x00" + v[1:], "magic"),
                         (v[:2] + b"\x02" + v[3:], "version"),
                         (v[:3] + b"\x09" + v[4:], "type"),
                         (v[:5] + b"\x01" + v[6:], "flags"),
                         (v + b"x", "payload length"), (v[:-1], "payload")):
            with self.assertRaises(p.MalformedError, msg=why):
                p.decode_header(bad)
        tampered = v[:-1] + b"O"
        self.assertFalse(p.verify(tampered, KEY))

    def test_names(self):
        self.assertTrue(p.name_valid("a" * 64))
        for bad in ("", "a" * 65, "a b", "ü", "a/b"):
            self.assertFalse(p.name_valid(bad), bad)
            with self.assertRaises(ValueError):
                p.enc_name(bad)

    def test_reply_decoders_refuse_leftovers(self):
        with self.assertRaises(p.MalformedError):
            p.dec_u64(p.u64(1) + b"x")
        with self.assertRaises(p.MalformedError):
            p.dec_fetch_reply(p.u64(0) * 3 + p.u16(1) + p.u16(0) + p.u32(5) + b"abc")
        # A TRAIL page whose count and length disagree.
        hop = (p.u64(1) * 4 + p.u32(0) + p.u32(1) + bytes([1]) + bytes(16))
        ok = p.u32(1) + p.u32(0) + p.u16(1) + hop
        self.assertEqual(p.dec_trail_reply(ok).hops[0].kind, p.HopKind.MINT)
        self.assertIsNone(p.dec_trail_reply(ok).hops[0].call)
        with self.assertRaises(p.MalformedError):
            p.dec_trail_reply(ok + b"x")
        with self.assertRaises(p.MalformedError):
            p.dec_trail_reply(p.u32(0) + p.u32(0) + p.u16(1) + hop)
        pay = p.u64(2) * 4 + p.u32(p.ACCOUNT_ESCROW) + p.u32(3) + bytes([7]) + \
            bytes(range(16))
        h = p.dec_trail_reply(p.u32(1) + p.u32(0) + p.u16(1) + pay).hops[0]
        self.assertEqual((h.kind, h.call), (p.HopKind.PAY, bytes(range(16))))

    def test_statuses_have_exceptions(self):
        for s in p.Status:
            if s == p.Status.OK:
                continue
            e = errors.error_for(s, "why")
            self.assertEqual(e.status, s)
            self.assertIn(s.name, str(e))
        self.assertIsInstance(errors.error_for(p.Status.TIMEOUT),
                              errors.ServiceTimeout)
        self.assertEqual(errors.error_for(99).status, 99)


class Replies(unittest.TestCase):
    """The client against a stand-in server on 127.0.0.1 (no appliance)."""

    def serve(self, answers):
        """A UDP server that answers the first request with each of
        answers(request) in turn; its port."""
        import socket
        import threading
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        self.addCleanup(s.close)

        def run():
            data, peer = s.recvfrom(2048)
            for a in answers(data):
                s.sendto(a, peer)
        threading.Thread(target=run, daemon=True).start()
        return s.getsockname()[1]

    @staticmethod
    def reply(req, key=KEY, payload=b"pong"):
        h = p.decode_header(req)
        return p.encode(p.MsgType.REPLY, h.op, 0, h.msg_id, h.client_id,
                        payload, key)

    def test_bad_tag_ignored_then_good_reply(self):
        from kingcobra import Client
        port = self.serve(lambda q: [self.reply(q, keys.DEV_KEYS[2], b"evil"),
                                     self.reply(q)])
        with Client("127.0.0.1", port, timeout=0.5, retries=0) as c:
            self.assertEqual(c.ping(b"x"), b"pong")

    def test_only_bad_tags_is_bad_reply(self):
        from kingcobra import Client
        port = self.serve(lambda q: [self.reply(q, keys.DEV_KEYS[2])])
        with Client("127.0.0.1", port, timeout=0.2, retries=0) as c:
            with self.assertRaises(errors.BadReplyError):
                c.ping(b"x")

    def test_malformed_replies_raise(self):
        from kingcobra import Client
        # A MINT of 3 coins answered with 2; a COMMIT answered with bytes.
        port = self.serve(lambda q: [self.reply(q, payload=p.u64(5) +
                                                p.u32(2))])
        with Client("127.0.0.1", port, timeout=0.5, retries=0) as c:
            with self.assertRaises(p.MalformedError):
                c.mint(1, 10, 3)
        port = self.serve(lambda q: [self.reply(q, payload=b"x")])
        with Client("127.0.0.1", port, timeout=0.5, retries=0) as c:
            with self.assertRaises(errors.KingCobraError):
                c.commit("q", "c", 1)


class Keys(unittest.TestCase):
    def test_keys_file_rules(self):
        k = keys.parse_keys("# comment\n\n7 " + "ab" * 32 + " alice # x\n"
                            "8\t" + "CD" * 32 + "\n")
        self.assertEqual([(x.client_id, x.name) for x in k],
                         [(7, "alice"), (8, "")])
        self.assertEqual(k[1].key, bytes([0xcd]) * 32)
        for text, what in (("0 " + "ab" * 32, "out of range"),
                           ("4294967295 " + "ab" * 32, "out of range"),
                           ("7 abcd", "64 hex digits"),
                           ("7 " + "ab" * 32 + " a b", "after the name"),
                           ("7 " + "ab" * 32 + "\n7 " + "cd" * 32, "twice"),
                           ("x " + "ab" * 32, "not a number")):
            with self.assertRaisesRegex(keys.KeyError_, what):
                keys.parse_keys(text, "k")
        with self.assertRaisesRegex(keys.KeyError_, "^k:2: "):
            keys.parse_keys("1 " + "ab" * 32 + "\n2 zz", "k")

    def test_dev_keys_file(self):
        k = keys.key_from_file(os.path.join(ROOT, "config", "dev.keys"), 2)
        self.assertEqual(k.key, keys.DEV_KEYS[2])

    def test_lowest_client_id_and_utf8_comments(self):
        import tempfile
        with tempfile.NamedTemporaryFile("wb", suffix=".keys") as f:
            f.write("# clé de test\n9 ".encode() + b"ab" * 32 +
                    b"\n3 " + b"cd" * 32 + b"\n")
            f.flush()
            self.assertEqual(keys.key_from_file(f.name).client_id, 3)
            self.assertEqual(keys.key_from_file(f.name, 9).client_id, 9)
        with self.assertRaises(keys.KeyError_):
            keys.parse_keys("12345678901 " + "ab" * 32)


if __name__ == "__main__":
    unittest.main()
