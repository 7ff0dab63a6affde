#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# deploy/wireshark/kcp.lua under tshark, field values asserted: the PING,
# PUBLISH and TRANSFER files kc-pcap-gen writes, and broken datagrams
# (expert info for each, never a Lua error). A capture of every op's
# request and REPLY is checked by test_python_client.sh, which takes it.
set -eu
SRC=${KC_SOURCE_DIR:?KC_SOURCE_DIR must point at the source tree}
BUILD=${KC_BUILD_DIR:?KC_BUILD_DIR must point at the meson build dir}
command -v tshark >/dev/null || { echo "tshark missing (deploy/install-deps installs it)"; exit 1; }
D=$(mktemp -d /tmp/kc-wireshark.XXXXXX)
trap 'rm -rf "$D"' EXIT
G=$BUILD/perf/kc-pcap-gen
A="--dst-mac 02:4b:43:00:00:02 --dst-ip 10.77.0.2"
# shellcheck disable=SC2086
"$G" -o "$D/ping.pcap" $A -n 5 --size 4 --first-seq 1000 --time-ms 1717243200000 >/dev/null
# shellcheck disable=SC2086
"$G" -o "$D/publish.pcap" $A -n 3 --op publish --queue orders --size 16 >/dev/null
# shellcheck disable=SC2086
"$G" -o "$D/transfer.pcap" $A -n 3 --op transfer --from 1 --to 2 --first-coin 7 >/dev/null
LUA=$SRC/deploy/wireshark/kcp.lua
python3 "$SRC/tests/ecosystem/check_dissector.py" "$LUA" pcapgen "$D"
python3 "$SRC/tests/ecosystem/check_dissector.py" "$LUA" malformed "$D"
