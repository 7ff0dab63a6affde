#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The Python client (clients/python, issue 20): its unit tests (the
# protocol's test vectors byte for byte, keys files, header rules), then
# clients/python/tests/itest_client.py against the real appliance on a
# TAP port with the ledger and services on: every op, resends, errors,
# asyncio with hundreds in flight, a double-spend race between two
# clients, a paged TRAIL, and a Python service paid for calls made from
# Python and from kcctl; installed with pip into a fresh virtual
# environment, the documentation's examples.
. "$KC_SOURCE_DIR/tests/integration/lib.sh"
require_root
# Debian's Python: the wheels in /usr/share/python-wheels are built for it.
PY=${PYTHON:-/usr/bin/python3}
S=$NET.2
JOURNAL=$WORK/journal-python

check "unit tests of the package" "$PY" -m unittest discover -s \
	"$SRC/clients/python/tests" -p 'test_*.py'
start_appliance "$CFG/tap-services.yaml" "$JOURNAL"
# Everything the client and the appliance say goes into a capture, which
# the Wireshark dissector must decode (deploy/wireshark, after the run).
tcpdump -i "$TAP" -w "$WORK/kcp.pcap" -U -s 0 udp port 60000 \
	>"$WORK/tcpdump.log" 2>&1 8>&- &
TCPDUMP=$!
on_exit "kill $TCPDUMP 2>/dev/null"
for i in $(seq 1 50); do grep -q "listening on" "$WORK/tcpdump.log" && break; sleep 0.1; done
check "the client against the appliance" sh -c \
	"'$PY' '$SRC/clients/python/tests/itest_client.py' $S '$CFG/ledger.keys' '$KCCTL' >'$WORK/py.out' 2>&1"
sed 's/^/    /' "$WORK/py.out"
sleep 0.5
kill -INT "$TCPDUMP"
wait "$TCPDUMP" 2>/dev/null
check "the Wireshark dissector decodes every op of the capture, values as sent" \
	"$PY" "$SRC/tests/ecosystem/check_dissector.py" \
	"$SRC/deploy/wireshark/kcp.lua" capture "$WORK/kcp.pcap"
tail -1 "$WORK/check.out" | sed 's/^/    /'
# As a user installs it: a fresh virtual environment, pip from a copy of
# clients/python (pip builds in the tree it is given), Debian's wheels of
# the build tools so no network is needed; then the README's and
# docs/clients.md's examples with that environment's Python.
cp -r "$SRC/clients/python" "$WORK/pysrc"
check "pip install clients/python into a fresh virtual environment" sh -c \
	"'$PY' -m venv '$WORK/venv' && '$WORK/venv/bin/pip' install -q --no-index \
	--find-links /usr/share/python-wheels '$WORK/pysrc' >'$WORK/pip.out' 2>&1 ||
	{ cat '$WORK/pip.out'; exit 1; }"
check "the README's and docs/clients.md's examples run against the appliance" sh -c \
	"'$WORK/venv/bin/python' '$SRC/clients/python/tests/run_doc_examples.py' \
	$S '$CFG/ledger.keys' '$SRC/README.md' '$SRC/docs/clients.md' >'$WORK/ex.out' 2>&1"
sed 's/^/    /' "$WORK/ex.out"
# The ledger's balances, to hold the money-flow graph against (kcq graph,
# docs/analytics.md): every account's net flow is what it holds.
for a in 1 2 3 4 5 6 4294967295; do
	printf '{"account": %s, "reply": %s}\n' $a \
		"$("$KCCTL" -s $S -k "$CFG/ledger.keys" --json balance $a)"
done >"$WORK/balances.json"
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
check "kcq verify: the journal is sound" "$KCQ" verify "$JOURNAL"
check "kcq graph: each account's net flow is its BALANCE, no hidden money, the service's income the max-flow to it" \
	sh -c "'$KCQ' graph '$JOURNAL' --maxflow=1,5 --scc >'$WORK/graph.json' &&
	'$PY' -c '
import json, sys
g = json.load(open(sys.argv[1]))
bal = {}
for line in open(sys.argv[2]):
    d = json.loads(line)
    bal[d[\"account\"]] = d[\"reply\"][\"balance\"]
net = {v[\"account\"]: v[\"net\"] for v in g[\"vertices\"]}
for a, b in bal.items():
    assert net.get(a, 0) == b, (a, net.get(a), b)
k = g[\"value_by_kind\"]
assert sum(n for a, n in net.items() if a != 0) == k[\"mint\"] - k[\"burn\"], (net, k)
assert g[\"hidden_money\"] == [] and not g[\"over_caps\"], g[\"hidden_money\"]
assert g[\"maxflow\"][\"value\"] == bal[5] and bal[5] > 0, (g[\"maxflow\"], bal[5])
assert any(4294967295 in c and 1 in c for c in g[\"components\"]), g[\"components\"]
print(\"accounts\", len(net), \"edges\", len(g[\"edges\"]), \"minted\", k[\"mint\"])
' '$WORK/graph.json' '$WORK/balances.json'"
finish
