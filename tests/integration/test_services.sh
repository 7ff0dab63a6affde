#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Service calls end to end (docs/services.md): kcctl serve runs services
# (a good one, one that answers errors, one too slow for its callers'
# deadlines) in a network namespace, against the appliance on an
# AF_PACKET port on the veth into it; callers pay with coins
# held in escrow; the good service is paid, the others' callers refunded
# and the erring one quarantined; a restart, and a SIGKILL with a call in
# flight, recover calls, escrow and scores; kcq verify reads it all.
. "$(dirname "$0")/lib.sh"
require_root
KEYS=$CFG/ledger.keys
S=$NET78.2
NS=kc-itest-svc-$SLOT
IN_NS="ip netns exec $NS"
JOURNAL=$WORK/journal-services
ESCROW=4294967295
LT="$IN_NS $BUILD/tests/integration/kc-ledger-itest"
veth_to_ns $NS kcv$SLOT kcw$SLOT $NET78.1/24

kc() { $IN_NS "$KCCTL" -s $S -k "$KEYS" "$@"; }
field() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" "$WORK/out" | head -1; }
run() { kc "$@" >"$WORK/out" 2>&1; }
expect() { # expect STATUS KCCTL-ARGS...
	local want=$1
	shift
	run "$@"
	grep -q "^$want\b\|^ERR $want:" "$WORK/out" || { cat "$WORK/out"; return 1; }
}
balance() { kc balance "$1" | sed -n 's/.*balance=\([0-9]*\).*/\1/p'; }
# serve NAME CLIENT TYPE PRICE CMD...: a kcctl serve in the background.
serve() {
	local name=$1 client=$2 type=$3 price=$4
	shift 4
	# Not through kc(): $! must be the process itself, which stop_serve
	# and the exit kill; and without fd 8, the CPU lock.
	$IN_NS "$KCCTL" -s $S -k "$KEYS" -c "$client" --price "$price" \
		--max-inflight "${SERVE_INFLIGHT:-4}" --lease 6 serve \
		"$type" -- "$@" >"$WORK/serve-$name.log" 2>&1 8>&- &
	eval "PID_$name=$!"
	on_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
}
stop_serve() { # stop_serve NAME
	local pid
	eval "pid=\$PID_$1"
	stop_pid "$pid" TERM "kcctl serve $1"
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
	local n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}
escrow_is() { [ "$(balance $ESCROW)" = "$1" ]; }

start_appliance "$CFG/afpacket-services.yaml" "$JOURNAL"
check "mint 40 coins of 10 to caller 2" expect OK -c 1 mint 2 10 40
check "mint one coin of 25 to caller 6" expect OK -c 1 mint 6 25 1
BIG=41

check "nobody serves it yet: UNAVAILABLE, nothing charged" \
	expect UNAVAILABLE -c 2 --deadline-ms 500 call upper hi 1
serve good 3 upper 10 tr a-z A-Z
serve bad 4 flaky 10 sh -c 'cat >/dev/null; echo broken; exit 3'
serve slow 5 slow 5 sh -c 'cat >/dev/null; sleep 3; echo late'
check "the services registered" wait_for 10 sh -c \
	"grep -q 'serving upper' '$WORK/serve-good.log' && grep -q 'serving flaky' '$WORK/serve-bad.log' && grep -q 'serving slow' '$WORK/serve-slow.log'"

check "a paid call: the service's answer, its account and price" \
	sh -c "$IN_NS '$KCCTL' -s $S -k '$KEYS' -c 2 call upper 'hello world' 1 >'$WORK/out' && grep -q '^OK call=[0-9a-f]\{32\} service=3 price=10 payload=HELLO WORLD' '$WORK/out'"
CALL1=$(field call)
check "the service was paid 10" test "$(balance 3)" = 10
check "the caller paid 10" test "$(balance 2)" = 390
check "nothing stays in escrow" escrow_is 0
check "change: a coin of 25 for a call of 10 leaves 15 with the caller" \
	sh -c "$IN_NS '$KCCTL' -s $S -k '$KEYS' -c 6 call upper abc $BIG | grep -q 'payload=ABC' && $IN_NS '$KCCTL' -s $S -k '$KEYS' balance 6 | grep -q 'balance=15 coins=1'"
check "coins worth less than the price: OUT_OF_RANGE" \
	expect OUT_OF_RANGE -c 6 call slow x
check "another's coin: NOT_OWNER" expect NOT_OWNER -c 6 call upper x 2
check "the good service's caller reports a problem" \
	expect OK -c 2 report "$CALL1" problem 'not what I asked'
check "only the caller may report" expect FORBIDDEN -c 3 report "$CALL1" suggestion x
check "a second problem report on one call is refused" \
	expect BAD_REQUEST -c 2 report "$CALL1" problem again
check "a suggestion" expect OK -c 2 report "$CALL1" suggestion 'try lowercase too'

# The erring service: every caller refunded, and quarantined after
# arbiter.min_calls (8) outcomes under a score of 0.5.
for i in $(seq 2 11); do
	kc -c 2 call flaky x $i >"$WORK/flaky-$i" 2>&1
done
check "an erring service's callers get its error and text" \
	grep -q 'INTERNAL.*broken' "$WORK/flaky-2"
check "its callers are refunded: the caller still has 390" \
	test "$(balance 2)" = 390
check "the erring service earned nothing" test "$(balance 4)" = 0
check "it is quarantined: the ninth call finds no service" \
	grep -q 'UNAVAILABLE' "$WORK/flaky-11"

# The slow service misses a 1 s deadline: TIMEOUT, refunded.
check "a call past its deadline: TIMEOUT" \
	expect TIMEOUT -c 2 --deadline-ms 1000 call slow x 12
check "its caller is refunded" test "$(balance 2)" = 390
check "nothing stays in escrow after the timeout" escrow_is 0

# A retry of a completed call gets the same REPLY, paid once.
check "a retried CALL is answered from its call, paid once" \
	$LT call-twice $S "$KEYS" 2 upper 13
check "paid once: the service has 30 (three calls)" test "$(balance 3)" = 30

# The admin API shows the same figures.
curl -s "http://127.0.0.1:$ADMIN_PORT/api/v1/services" >"$WORK/services.json"
check "admin API: the erring service quarantined, the good one's revenue, nothing in escrow" \
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = {(v["type"], v["account"]): v for v in d["services"]}
bad, good = s[("flaky", 4)], s[("upper", 3)]
ok = (bad["quarantined"] and bad["errors"] == 8 and bad["revenue"] == 0
      and good["revenue"] == 30 and good["problems"] == 1
      and good["suggestions"] == 1 and d["summary"]["escrow"] == 0)
sys.exit(0 if ok else print(json.dumps(d, indent=1)) or 1)
' "$WORK/services.json"
check "admin API: the reports" sh -c \
	"curl -s http://127.0.0.1:$ADMIN_PORT/api/v1/reports | grep -q 'try lowercase too'"
check "metrics: per-service counters and the escrow" sh -c \
	"curl -s http://127.0.0.1:$ADMIN_PORT/metrics | grep -q 'kingcobra_service_revenue_total{type=\"upper\",account=\"3\"} 30' && curl -s http://127.0.0.1:$ADMIN_PORT/metrics | grep -q '^kingcobra_escrow 0'"

# A call in flight across a SIGKILL: after recovery it completes exactly
# once (the slow service answers it, or its deadline refunds it).
kc -c 2 --deadline-ms 8000 --timeout 500 --retries 40 call slow y 14 \
	>"$WORK/inflight" 2>&1 &
CALLER=$!
check "the call is in escrow" wait_for 5 escrow_is 5
kill -KILL "$KC_PID"
wait "$KC_PID" 2>/dev/null
KC_PID=""
start_appliance "$CFG/afpacket-services.yaml" "$JOURNAL"
check "recovery replayed the service calls" \
	grep -q 'ledger recovered' "$APPLOG"
wait "$CALLER"
check "the caller got one REPLY for the call in flight" \
	grep -q '^OK call=.*payload=late\|^ERR TIMEOUT' "$WORK/inflight"
check "settled exactly once: nothing left in escrow" wait_for 15 escrow_is 0
if grep -q '^OK' "$WORK/inflight"; then
	check "the slow service was paid once" test "$(balance 5)" = 5
else
	check "refunded once: the caller has its 380 (10 paid for the retried call)" \
		test "$(balance 2)" = 380
fi
check "money is conserved: AUDIT ok, 425 minted, 425 live" sh -c \
	"$IN_NS '$KCCTL' -s $S -k '$KEYS' audit | grep -q 'ok=true minted=425 burnt=0 live_sum=425'"

# Load: 1,000 paid calls of one type from four callers (an UNAVAILABLE
# one made again after a moment), served by a good service (two calls
# at a time), one that answers errors and one too slow for its callers'
# deadlines. Every call gets exactly one REPLY; the two bad ones are
# quarantined by their outcomes and then get no more calls; the good one
# is paid for each OK call; money is conserved.
# First the bad ones alone, so that each has its outcomes whatever the
# timing: the erring one errs 8 times, the slow one misses 8 deadlines.
serve wbad 4 work 10 sh -c 'cat >/dev/null; echo broken; exit 3'
check "the erring work service registered" wait_for 10 \
	grep -q 'serving work' "$WORK/serve-wbad.log"
$LT call-load $S "$KEYS" work 8 1000 2 >"$WORK/warm1" 2>&1
serve wslow 5 work 10 sh -c 'cat >/dev/null; sleep 3'
check "the slow work service registered" wait_for 10 \
	grep -q 'serving work' "$WORK/serve-wslow.log"
$LT call-load $S "$KEYS" work 8 300 2 >"$WORK/warm2" 2>&1
check "8 errors, then 8 timeouts, each answered once" sh -c \
	"grep -q '^ok 0 other 8 INTERNAL 8 ' '$WORK/warm1' && grep -q '^ok 0 other 8 TIMEOUT 8 ' '$WORK/warm2'"
SERVE_INFLIGHT=2 serve wgood 3 work 10 cat
check "the good work service registered" wait_for 10 \
	grep -q 'serving work' "$WORK/serve-wgood.log"
GOOD0=$(balance 3)
$LT call-load $S "$KEYS" work 250 1000 \
	2 6 2 6 >"$WORK/load" 2>&1
check "1,000 calls, every one answered exactly once" \
	sh -c "tail -1 '$WORK/load' | grep -q 'call-load: .* 0 failed'"
OKS=$(sed -n 's/^ok \([0-9]*\) .*/\1/p' "$WORK/load")
log "load: $(grep '^ok ' "$WORK/load")"
check "nearly every call was served OK" test "${OKS:-0}" -ge 900
check "the good service was paid its price for each OK call" \
	test "$(balance 3)" = $((GOOD0 + 10 * ${OKS:-0}))
check "the erring and the slow service earned nothing" sh -c \
	"test \"\$($IN_NS '$KCCTL' -s $S -k '$KEYS' balance 4 | sed -n 's/.*balance=\([0-9]*\).*/\1/p')\" = 0"
check "the slow service's calls all timed out: nothing left in escrow" \
	wait_for 15 escrow_is 0
curl -s "http://127.0.0.1:$ADMIN_PORT/api/v1/services" >"$WORK/work1.json"
check "admin API: both bad services of work quarantined, the good one's OK calls" \
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = {(v["type"], v["account"]): v for v in d["services"]}
good, bad, slow = s[("work", 3)], s[("work", 4)], s[("work", 5)]
ok = (bad["quarantined"] and slow["quarantined"] and
      good["ok"] == int(sys.argv[2]) and good["revenue"] == 10 * good["ok"]
      and slow["timeouts"] >= 8 and bad["errors"] >= 8)
sys.exit(0 if ok else print(json.dumps(d, indent=1)) or 1)
' "$WORK/work1.json" "${OKS:-0}"
$LT call-load $S "$KEYS" work 10 1000 \
	2 6 >"$WORK/load2" 2>&1
curl -s "http://127.0.0.1:$ADMIN_PORT/api/v1/services" >"$WORK/work2.json"
check "quarantined services get no more calls" python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
calls = lambda d, acct: [v["calls"] for v in d["services"]
                         if v["type"] == "work" and v["account"] == acct][0]
sys.exit(0 if calls(a, 4) == calls(b, 4) and calls(a, 5) == calls(b, 5)
         else 1)
' "$WORK/work1.json" "$WORK/work2.json"
check "money is conserved after the load: AUDIT ok, supply = everything minted" \
	sh -c "$IN_NS '$KCCTL' -s $S -k '$KEYS' audit | grep -q 'ok=true minted=10785 burnt=0 live_sum=10785'"
GOOD_END=$(balance 3)

for s in good bad slow wgood wbad wslow; do stop_serve $s; done
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
check "kcq verify: calls, OUTCOME records and call hops are sound" \
	sh -c "'$KCQ' verify '$JOURNAL' >'$WORK/verify' 2>&1 && grep -q 'completed call(s) answered' '$WORK/verify'"
# The hop kinds of calls (escrow, pay, refund) are counted with the others
# (their counters were an array that stopped at burn).
check "kcq stats counts the calls' hops by kind" sh -c \
	"'$KCQ' stats --json '$JOURNAL' | python3 -c '
import json, sys
k = json.load(sys.stdin)[0][\"ledger_hops\"]
assert k.get(\"escrow\", 0) > 0 and k.get(\"pay\", 0) > 0 and k.get(\"refund\", 0) > 0, k'"
# The opinion graph (docs/analytics.md): the good service (3) ranks above
# the one that answers errors (4) and the slow one (5), and the money-flow
# graph has no hidden money.
check "kcq graph --rank: the good service first, the faulty ones below" sh -c \
	"'$KCQ' graph '$JOURNAL' --rank >'$WORK/rank.json' && python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))
r = [x[\"service\"] for x in g[\"rank\"]]
m = {x[\"service\"]: x for x in g[\"rank\"]}
assert r[0] == 3 and 4 in r and 5 in r, g[\"rank\"]
assert m[3][\"merit\"] > m[4][\"merit\"] and m[3][\"merit\"] > m[5][\"merit\"], g[\"rank\"]
assert m[4][\"failed\"] > 0 and m[5][\"failed\"] > 0 and m[3][\"ok\"] > 0, g[\"rank\"]
assert sum(x[\"problems\"] for x in g[\"rank\"]) > 0, g[\"rank\"]
assert g[\"hidden_money\"] == [], g[\"hidden_money\"]
print(json.dumps(g[\"rank\"]))
' '$WORK/rank.json'"
cat "$WORK/check.out"
check "kcq dump shows the held CALL record and the OUTCOMEs" sh -c \
	"'$KCQ' dump --json '$JOURNAL' | grep -q '\"held\": *true' && '$KCQ' dump --json '$JOURNAL' | grep -q '\"type\": *\"OUTCOME\"'"
start_appliance "$CFG/afpacket-services.yaml" "$JOURNAL"
check "recovery started from a ledger snapshot with its services" sh -c \
	"grep -q 'ledger recovered: .* from the snapshot at seq' '$APPLOG' && grep -q 'services recovered: 6 service(s) of 4 type(s), 0 call(s) open, 0 in escrow' '$APPLOG' || { grep -E 'ledger recovered|services recovered' '$APPLOG'; false; }"
check "after a clean restart the good service has what it had" \
	test "$(balance 3)" = "$GOOD_END"
stop_appliance
finish
