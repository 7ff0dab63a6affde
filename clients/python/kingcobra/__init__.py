# SPDX-License-Identifier: BSD-3-Clause
"""KingCobra's Python client: KCP (docs/protocol.md) over UDP, standard
library only. kingcobra.Client is synchronous, kingcobra.aio.AsyncClient
asynchronous (many requests in flight); kingcobra.protocol holds the
codecs, kingcobra.errors the exceptions, one per status code."""
from .client import Client, Reply
from .errors import (BadReplyError, KingCobraError, NoReplyError,
                     StatusError)
from .keys import Key, key_from_file, parse_keys
from .protocol import (ACCOUNT_ESCROW, Audit, Balance, CallResult, CoinInfo,
                       Coins, Delivery, FetchResult, Hop, HopKind, Op,
                       ReportKind, Settlement, SettleResult, Status,
                       TrailPage)

__version__ = "0.1.0"
__all__ = [
    "Client", "Reply", "KingCobraError", "NoReplyError", "BadReplyError",
    "StatusError", "Key", "key_from_file", "parse_keys", "ACCOUNT_ESCROW",
    "Audit", "Balance", "CallResult", "CoinInfo", "Coins", "Delivery",
    "FetchResult", "Hop", "HopKind", "Op", "ReportKind", "Settlement",
    "SettleResult", "Status", "TrailPage",
]
