#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The live analytics (docs/analytics.md, issue 22): a random economy
# (economy.py: 300 accounts, thousands of transfers, burns, paid calls to
# two good and two faulty services) against the appliance, through the
# Python client. The admin API's /api/v1/analytics/ documents, which the
# kc-analytics thread builds from the running journal, must equal the
# economy's own tally (value by kind, every balance as a net flow, nets
# adding up to minted minus burnt, the faulty services ranked below the
# good ones), then `kcq graph` on the stopped appliance's journal and the
# sums of its LEDGER records (kcq dump), then
# the API's again after a restart (the graphs rebuilt from the journal).
# Last, the same journal under caps it exceeds: the analyses refuse with
# the reason and the data path goes on.
. "$(dirname "$0")/lib.sh"
require_root
PY=${PYTHON:-/usr/bin/python3}
export PYTHONPATH=$SRC/clients/python
ECON=$SRC/tests/integration/economy.py
S=$NET.2
ADMIN=127.0.0.1:$((ADMIN_PORT + 1)) # tap-analytics.yaml's admin.port
JOURNAL=$WORK/journal-analytics

"$PY" "$ECON" keys "$CFG/economy.keys" 300
chmod 600 "$CFG/economy.keys"
sed -i "s#^  keys_file: .*#  keys_file: $CFG/economy.keys#" "$CFG/tap-analytics.yaml"
start_appliance "$CFG/tap-analytics.yaml" "$JOURNAL"
t0=$SECONDS
check "the random economy, and the API's analytics against its tally" sh -c \
	"'$PY' '$ECON' run $S '$CFG/economy.keys' $ADMIN '$WORK/api.json' >'$WORK/econ.out' 2>&1"
sed 's/^/    /' "$WORK/econ.out"
log "economy and checks: $((SECONDS - t0)) s"
check "a bad query is refused with the reason (400)" sh -c \
	"curl -s -m 5 -o '$WORK/bad.json' -w '%{http_code}' 'http://$ADMIN/api/v1/analytics/maxflow?from=x' | grep -qx 400 &&
	 grep -q 'from=ACCOUNT' '$WORK/bad.json'"
check "an account not in the graph: 404" sh -c \
	"curl -s -m 5 -o /dev/null -w '%{http_code}' 'http://$ADMIN/api/v1/analytics/maxflow?from=0&to=100000' | grep -qx 404"
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
check "kcq graph on the journal" sh -c \
	"'$KCQ' graph '$JOURNAL' --rank --kcore --scc --maxflow 0,291 >'$WORK/kcq.json'"
check "the API's analytics equal kcq graph's" \
	"$PY" "$ECON" compare "$WORK/api.json" "$WORK/kcq.json" --kcq
sed 's/^/    /' "$WORK/check.out"
check "kcq dump --json of the journal" sh -c \
	"'$KCQ' dump '$JOURNAL' --json >'$WORK/dump.json'"
check "the API's totals are the journal's LEDGER records'" \
	"$PY" "$ECON" journal "$WORK/api.json" "$WORK/dump.json"
sed 's/^/    /' "$WORK/check.out"

# A restart: the graphs are rebuilt from the journal.
start_appliance "$CFG/tap-analytics.yaml" "$JOURNAL"
check "the API's analytics after a restart" \
	"$PY" "$ECON" api "$ADMIN" "$WORK/api2.json"
check "... equal those before it" \
	"$PY" "$ECON" compare "$WORK/api.json" "$WORK/api2.json"
sed 's/^/    /' "$WORK/check.out"
stop_appliance

# Caps the economy exceeds: the analyses refuse, the appliance serves on.
sed 's/^  max_vertices: 1024$/  max_vertices: 64/' "$CFG/tap-analytics.yaml" \
	>"$CFG/tap-analytics-small.yaml"
start_appliance "$CFG/tap-analytics-small.yaml" "$JOURNAL"
for i in $(seq 1 100); do
	curl -sf -m 2 "http://$ADMIN/api/v1/analytics/flows?top=1" 2>/dev/null |
		grep -q '"caught_up":true' && break
	sleep 0.2
done
check "over its caps the flows say so" sh -c \
	"curl -sf -m 5 'http://$ADMIN/api/v1/analytics/flows' | grep -q '\"over_caps\":true'"
for doc in "maxflow?from=0&to=2" kcore scc; do
	check "over its caps /api/v1/analytics/$doc answers 422 with the reason" sh -c \
		"curl -s -m 5 -o '$WORK/cap.json' -w '%{http_code}' 'http://$ADMIN/api/v1/analytics/$doc' | grep -qx 422 &&
		 grep -q 'over its caps' '$WORK/cap.json'"
done
check "the data path serves on (PING)" "$KCCTL" -s $S -k "$CFG/economy.keys" -c 2 ping
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
finish
