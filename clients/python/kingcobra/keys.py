# SPDX-License-Identifier: BSD-3-Clause
"""Client keys: a keys file as the appliance and kcctl read it
(docs/protocol.md, "Keys and the keys file"), or a hex key."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .protocol import CLIENT_ID_MAX

KEYRING_MAX = 4096
FILE_MAX = 16 << 20
_NAME = re.compile(r"^[!-~]{1,31}$")

# The development keys (config/dev.keys): public, refused by production
# appliances; what kcctl uses without -k.
DEV_KEYS = {1: b"kingcobra-dev-key-local-only-001",
            2: b"kingcobra-dev-key-local-only-002"}


class KeyError_(ValueError):
    """A keys file or key that does not follow the rules; the message names
    FILE:LINE."""


@dataclass(frozen=True)
class Key:
    client_id: int
    key: bytes
    name: str = ""


def parse_hex_key(text: str) -> bytes:
    t = text.strip()
    if len(t) != 64 or not re.fullmatch(r"[0-9A-Fa-f]{64}", t, re.ASCII):
        raise KeyError_("a key is exactly 64 hex digits")
    return bytes.fromhex(t)


def parse_keys(text: str, where: str = "keys") -> list[Key]:
    """Every entry of a keys file's text, in order: CLIENT_ID HEX_KEY
    [NAME] per line, # comments, blank lines; an error names where:LINE."""
    if len(text.encode()) > FILE_MAX:
        raise KeyError_("%s: larger than 16 MiB" % where)
    out: list[Key] = []
    seen: set[int] = set()
    for n, line in enumerate(text.split("\n"), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) > 3:
            raise KeyError_("%s:%d: text after the name" % (where, n))
        if len(fields) < 2:
            raise KeyError_("%s:%d: expected CLIENT_ID HEX_KEY [NAME]" % (
                where, n))
        if not fields[0].isascii() or not fields[0].isdigit() or \
                len(fields[0]) > 10:
            raise KeyError_("%s:%d: client id '%s' is not a number "
                            "1..%d" % (where, n, fields[0], CLIENT_ID_MAX))
        cid = int(fields[0])
        if not 1 <= cid <= CLIENT_ID_MAX:
            raise KeyError_("%s:%d: client id %d out of range 1..%d" % (
                where, n, cid, CLIENT_ID_MAX))
        if cid in seen:
            raise KeyError_("%s:%d: client id %d twice" % (where, n, cid))
        try:
            key = parse_hex_key(fields[1])
        except KeyError_ as e:
            raise KeyError_("%s:%d: %s" % (where, n, e)) from None
        name = fields[2] if len(fields) == 3 else ""
        if name and not _NAME.match(name):
            raise KeyError_("%s:%d: a name is 1..31 printable bytes" % (
                where, n))
        seen.add(cid)
        out.append(Key(cid, key, name))
        if len(out) > KEYRING_MAX:
            raise KeyError_("%s:%d: more than %d clients" % (
                where, n, KEYRING_MAX))
    return out


def key_from_file(path: str | os.PathLike, client_id: int = 0) -> Key:
    """The entry of client_id in a keys file, or the entry with the lowest
    client id when client_id is 0 (as kcctl -k FILE [-c ID])."""
    # Comments may hold any bytes; the fields must be ASCII (checked).
    with open(path, "rb") as f:
        keys = parse_keys(f.read().decode("utf-8", "replace"), str(path))
    if not keys:
        raise KeyError_("%s: no key in it" % path)
    if client_id == 0:
        return min(keys, key=lambda k: k.client_id)
    for k in keys:
        if k.client_id == client_id:
            return k
    raise KeyError_("%s: no key for client %d" % (path, client_id))


def dev_key(client_id: int = 1) -> Key:
    return Key(client_id, DEV_KEYS[client_id], "dev")
