# SPDX-License-Identifier: BSD-3-Clause
"""Serving calls (docs/services.md): register a handler for a request
type and answer the calls the appliance delivers.

    from kingcobra import Client
    from kingcobra.service import serve

    def upper(call):                 # a kingcobra.protocol.Delivery
        return call.payload.upper()  # RESPOND OK with these bytes

    with Client("10.77.0.2", keys_file="svc.keys") as c:
        serve(c, "upper", upper, price=5)

The lease is renewed for you (at half its length); a call delivered
twice (the appliance tries again when a RESPOND is slow or lost) reaches
the handler once and is answered again with the same RESPOND, byte for
byte; the handler's return value (bytes, or (status, bytes)) is the
RESPOND, a StatusError it raises is answered with its status and reason,
any other exception with INTERNAL and its text. Deliveries are taken only
from this client's socket and verified with its key.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Union

from . import protocol as p
from .client import Client
from .errors import BadReplyError, NoReplyError, StatusError

Answer = Union[bytes, tuple[int, bytes]]
Handler = Callable[[p.Delivery], Answer]

ANSWERED_KEPT = 4096  # call ids remembered to answer repeats the same way


class Service:
    def __init__(self, client: Client, type_: str, handler: Handler, *,
                 price: int = 0, max_inflight: int = 16, lease_s: int = 30):
        if not p.name_valid(type_):
            raise ValueError("bad type name %r" % type_)
        self.c = client
        self.type = type_
        self.handler = handler
        self.price = price
        self.max_inflight = max_inflight
        self.lease_s = lease_s
        self.answered: OrderedDict[bytes, tuple[bytes, bytes]] = OrderedDict()
        self.calls = 0          # handed to the handler
        self.repeats = 0        # deliveries of calls answered already
        self.refused = 0        # RESPONDs the appliance refused
        self.lease_until = 0.0  # monotonic

    def register(self) -> None:
        """SERVE (or renew): deliveries go to this client's address."""
        self.c.serve(self.type, self.price, self.max_inflight, self.lease_s)
        self.lease_until = time.monotonic() + self.lease_s

    def _answer(self, d: p.Delivery) -> tuple[int, bytes]:
        try:
            got = self.handler(d)
        except StatusError as e:
            return int(e.status), e.reason.encode()[:p.CALL_PAYLOAD_MAX]
        except Exception as e:  # the handler's failure, told the caller
            return p.Status.INTERNAL, ("%s: %s" % (type(e).__name__, e)
                                       ).encode()[:p.CALL_PAYLOAD_MAX]
        try:
            if isinstance(got, tuple):
                status, payload = got
            else:
                status, payload = p.Status.OK, got
            status, payload = int(status), bytes(payload or b"")
        except (TypeError, ValueError) as e:
            return p.Status.INTERNAL, ("the handler's answer is not bytes "
                                       "or (status, bytes): %s" % e).encode()
        if not 0 <= status <= 0xFFFF:
            return p.Status.INTERNAL, b"the handler's status is not 0..65535"
        if len(payload) > p.CALL_PAYLOAD_MAX:
            return p.Status.INTERNAL, ("the handler's answer is %d bytes, "
                                       "more than %d" % (
                                           len(payload), p.CALL_PAYLOAD_MAX)
                                       ).encode()
        return status, payload

    def handle(self, d: p.Delivery) -> None:
        """One delivery: the handler's answer, or the same RESPOND again."""
        if d.type != self.type:
            return
        known = self.answered.get(d.call_id)
        if known is not None:
            self.repeats += 1
            mid, payload = known
        else:
            self.calls += 1
            status, out = self._answer(d)
            mid = self.c.next_msg_id()
            payload = p.enc_respond(d.call_id, status, out)
            self.answered[d.call_id] = (mid, payload)
            while len(self.answered) > ANSWERED_KEPT:
                self.answered.popitem(last=False)
        try:
            # The same message id for a repeat: the appliance answers it
            # from its index, the call is settled once.
            r = self.c.send_raw(p.Op.RESPOND, payload, mid)
        except (NoReplyError, BadReplyError):
            return  # the appliance delivers it again; answered then
        # Refused (too large for services.max_payload, malformed): not
        # an answer to keep; the call's next DELIVER asks again, and the
        # handler says something else or the deadline settles it. NOT_FOUND
        # is a call answered already (or over): nothing to do either way.
        if r.status not in (p.Status.OK, p.Status.NOT_FOUND):
            self.refused += 1
            self.answered.pop(d.call_id, None)

    def run(self, stop: threading.Event | None = None,
            calls: int | None = None, seconds: float | None = None) -> None:
        """Serve until stop is set, `calls` calls were answered, or
        `seconds` passed; UNSERVE at the end."""
        end = time.monotonic() + seconds if seconds is not None else None
        self.register()
        try:
            while not (stop is not None and stop.is_set()) and \
                    not (calls is not None and self.calls >= calls) and \
                    not (end is not None and time.monotonic() >= end):
                if time.monotonic() > self.lease_until - self.lease_s / 2:
                    try:
                        self.register()
                    except (StatusError, NoReplyError, BadReplyError):
                        # Half the lease is left: try again in a second.
                        self.lease_until = min(
                            self.lease_until,
                            time.monotonic() + self.lease_s / 2 + 1)
                while self.c.deliveries:
                    self.handle(self.c.deliveries.popleft())
                data = self.c._recv(time.monotonic() + 0.05)
                if data is not None:
                    d = self.c.is_delivery(data)
                    if d is not None:
                        self.handle(d)
        finally:
            try:
                self.c.unserve(self.type)
            except (StatusError, NoReplyError):
                pass


def serve(client: Client, type_: str, handler: Handler, **kw) -> Service:
    """Serve type_ with handler until interrupted (Service.run's stop,
    calls and seconds are keyword arguments too)."""
    run_kw = {k: kw.pop(k) for k in ("stop", "calls", "seconds") if k in kw}
    s = Service(client, type_, handler, **kw)
    s.run(**run_kw)
    return s
