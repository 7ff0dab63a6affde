# SPDX-License-Identifier: BSD-3-Clause
"""Exceptions: one per KCP status code (docs/protocol.md, section 6), and
the client's own (no REPLY, a REPLY that does not check out)."""
from __future__ import annotations

from .protocol import KingCobraError, MalformedError, Status


class NoReplyError(KingCobraError, TimeoutError):
    """No REPLY came after every try: the request may or may not have been
    executed (resend it with the same message id to find out)."""

    def __init__(self, message: str, msg_id: bytes):
        super().__init__(message)
        self.msg_id = msg_id


class BadReplyError(MalformedError):
    """REPLYs to our message id that do not check out: only ones whose tag
    does not verify came (a changed or forged datagram), or one whose
    payload does not decode."""


class StatusError(KingCobraError):
    """A REPLY whose status is not OK. `status` is the code, `reason` the
    appliance's reason text, `msg_id` the request's message id."""

    status = Status.OK  # each subclass sets its own

    def __init__(self, reason: str = "", msg_id: bytes = b"",
                 status: int | None = None):
        if status is not None:
            self.status = status
        super().__init__("%s: %s" % (_name(self.status), reason)
                         if reason else _name(self.status))
        self.reason = reason
        self.msg_id = msg_id


def _name(status: int) -> str:
    try:
        return Status(status).name
    except ValueError:
        return "status %d" % status


class BadRequest(StatusError):
    status = Status.BAD_REQUEST


class UnknownOp(StatusError):
    status = Status.UNKNOWN_OP


class NotFound(StatusError):
    status = Status.NOT_FOUND


class QueueFull(StatusError):
    status = Status.QUEUE_FULL


class NoSpace(StatusError):
    status = Status.NO_SPACE


class TooLarge(StatusError):
    status = Status.TOO_LARGE


class OutOfRange(StatusError):
    status = Status.OUT_OF_RANGE


class Unavailable(StatusError):
    """The appliance could not take the request now (journal busy,
    draining, no service free): resent for you with the same message id
    after a pause, and raised only when that did not help."""
    status = Status.UNAVAILABLE


class Internal(StatusError):
    status = Status.INTERNAL


class StorageFull(StatusError):
    status = Status.STORAGE_FULL


class StorageFailed(StatusError):
    """The journal failed a write: whether the request was executed is
    unknown until the appliance restarts; resend the same message id
    then."""
    status = Status.STORAGE_FAILED


class Expired(StatusError):
    status = Status.EXPIRED


class Forbidden(StatusError):
    status = Status.FORBIDDEN


class NotOwner(StatusError):
    status = Status.NOT_OWNER


class CoinDead(StatusError):
    status = Status.COIN_DEAD


class ServiceTimeout(StatusError):
    """A call's service did not answer before its deadline (status
    TIMEOUT); nothing was charged."""
    status = Status.TIMEOUT


_BY_STATUS: dict[int, type[StatusError]] = {
    c.status: c for c in (BadRequest, UnknownOp, NotFound, QueueFull, NoSpace,
                          TooLarge, OutOfRange, Unavailable, Internal,
                          StorageFull, StorageFailed, Expired, Forbidden,
                          NotOwner, CoinDead, ServiceTimeout)}


def error_for(status: int, reason: str = "", msg_id: bytes = b"") -> StatusError:
    """The exception of a status code (a StatusError for unknown codes)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        return StatusError(reason, msg_id, status)
    return cls(reason, msg_id)
