#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Crash test: the appliance (durability batch) under load from four
# clients is killed with SIGKILL at a random moment, restarted on the same
# journal, and each time every message whose REPLY a client received must
# be found by FETCH at its offset, with no duplicate and no reordering.
# Then the same with ledger TRANSFERs: every acknowledged one holds, no
# coin has two owners, AUDIT holds.
# Clients retry with the same message id for 3 s, so some retries cross
# the restart and meet the recovered message-id index.
#
#   test_crash.sh [CYCLES]      (default: KC_CRASH_CYCLES or 20)
#
# KC_CRASH_PARTS names the parts to run (default: plain retention ledger
# calls): CYCLES plain kills, CYCLES/2 with retention, CYCLES/2 of the
# ledger, and CYCLES/4 of service calls.
. "$(dirname "$0")/lib.sh"
require_root
S=$NET.2
CYCLES=${1:-${KC_CRASH_CYCLES:-20}}
PARTS=" ${KC_CRASH_PARTS:-plain retention ledger calls} "
part() { case $PARTS in *" $1 "*) return 0 ;; esac; return 1; }
JOURNAL=$WORK/journal-crash

# verify_all FIRST LAST: the queues of cycles FIRST..LAST (each cycle
# loads its own queue, so none fills up).
verify_all() {
	local c
	for c in $(seq "$1" "$2"); do
		"$ITEST" crash-verify $S "crash-$c" "$WORK/acked-$c.log" || return 1
	done
}

# wait_first_ack COMMAND...: until COMMAND succeeds (the load's first
# acknowledgement is logged), the load ends or 30 s pass. The kill comes
# at random after that, so a cycle tests something however slowly a busy
# machine starts the clients (without it, one of 1,000 cycles on a loaded
# machine was killed before its first REPLY).
wait_first_ack() {
	local i
	for i in $(seq 1 600); do
		"$@" && return 0
		kill -0 "$LOAD" 2>/dev/null || return 0
		sleep 0.05
	done
}

# kill_cycles NAME CONFIG CYCLES MIN_S SPAN_S EPOCH: start the appliance on
# $JOURNAL, check every earlier cycle's queue, load its own queue from four
# clients, SIGKILL it MIN_S + [0, SPAN_S) s after its first acknowledged
# PUBLISH (no chance to flush
# anything); then one last start and check. A cycle's queue is new, and
# the config allows max_queues of them: every EPOCH cycles (fewer than
# max_queues) the journal so far is checked a last time and the cycles go
# on with a new one ($JOURNAL-CYCLE), so any number of cycles stays within
# the limits and every cycle tests something. A cycle whose load got no
# PUBLISH acknowledged before the kill fails.
kill_cycles() {
	local name=$1 cfg=$2 n=$3 min=$4 span=$5 epoch=$6 cycle first=1
	local journal0=$JOURNAL
	rm -f "$WORK"/acked-*.log
	for cycle in $(seq 1 "$n"); do
		if [ "$cycle" -gt 1 ] && [ $(( (cycle - 1) % epoch )) -eq 0 ]; then
			start_appliance "$cfg" "$JOURNAL"
			check "$name cycles $first..$((cycle - 1)): every acknowledged message at its offset" \
				verify_all "$first" $((cycle - 1))
			stop_appliance
			check "$name cycles $first..$((cycle - 1)): kcq verify" \
				"$KCQ" verify "$JOURNAL"
			first=$cycle
			JOURNAL=$journal0-$cycle
		fi
		start_appliance "$cfg" "$JOURNAL"
		if [ "$cycle" -gt "$first" ]; then
			check "$name cycle $cycle: recovered $(grep -o '[0-9]* requests replayed' "$APPLOG")" \
				grep -q "journal shard 0 recovered" "$APPLOG"
			check "$name cycle $cycle: every acknowledged message at its offset, no duplicate, no reorder" \
				verify_all "$first" $((cycle - 1))
		fi
		"$ITEST" crash-load $S "crash-$cycle" 4 "$WORK/acked-$cycle.log" \
			>"$WORK/load.out" 2>&1 &
		LOAD=$!
		wait_first_ack test -s "$WORK/acked-$cycle.log"
		sleep "$(awk -v r=$RANDOM -v a="$min" -v b="$span" \
			'BEGIN { printf "%.3f", a + b * r / 32768 }')"
		kill -KILL "$KC_PID"
		wait "$KC_PID" 2>/dev/null
		KC_PID=""
		wait "$LOAD"
		log "$name cycle $cycle: killed; $(cat "$WORK/load.out")"
		check "$name cycle $cycle: PUBLISHes were acknowledged before the kill" \
			test -s "$WORK/acked-$cycle.log"
	done
	start_appliance "$cfg" "$JOURNAL"
	check "$name: after the last kill, every acknowledged message at its offset" \
		verify_all "$first" "$n"
}

# tap.yaml allows 32 queues, tap-retention.yaml 16.
if part plain; then
	kill_cycles plain "$CFG/tap.yaml" "$CYCLES" 0.2 1 30
	stop_appliance
	check "clean shutdown" test "$STOP_STATUS" -eq 0
	check "kcq verify: the journal is sound after $CYCLES kills" \
		"$KCQ" verify "$JOURNAL"
	ACKED=$(cat "$WORK"/acked-*.log | wc -l)
	check "acknowledged messages: $ACKED" test "$ACKED" -gt 0
fi

# The same with retention deleting segments as it goes (small segments,
# a one-second idempotency window): recovery then starts each queue from
# its snapshot, and a kill may hit a snapshot half written.
if part retention; then
	JOURNAL=$WORK/journal-crash-retention
	kill_cycles retention "$CFG/tap-retention.yaml" \
		$(( (CYCLES + 1) / 2 )) 0.5 2 15
	check "retention deleted segments" sh -c \
		"! test -e '$JOURNAL/shard-00/0000000000000000.kcj'"
	stop_appliance
	check "kcq verify: the shortened journal is sound" "$KCQ" verify \
		"$JOURNAL"
fi

# The ledger: 32 coins go back and forth between accounts 1 and 2 from
# four clients, with a ledger snapshot every 50 transfers (so kills hit
# snapshots half written too). After every restart each coin is where its
# last acknowledged TRANSFER put it (or the one tried after it, executed
# but never answered), that hop is in its trail, BALANCE agrees with the
# coins and AUDIT holds. Every LEPOCH cycles (KC_CRASH_LEDGER_EPOCH, 50)
# the journal so far is checked a last time and the cycles go on with a
# new one and 32 new coins: each check walks the coins' trails, which grow
# with every cycle, so on one journal the checks of a long run would take
# ever longer.
LT=$BUILD/tests/integration/kc-ledger-itest
LKEYS=$CFG/ledger.keys
LCYCLES=$(( (CYCLES + 1) / 2 ))
LEPOCH=${KC_CRASH_LEDGER_EPOCH:-50}

# ledger_epoch_end FIRST LAST: the last start and check of that journal.
ledger_epoch_end() {
	start_appliance "$CFG/tap-ledger.yaml" "$JOURNAL"
	check "ledger cycles $1..$2: after the last kill, every acknowledged TRANSFER holds" \
		"$LT" crash-verify $S "$LKEYS" "$LLOG"
	stop_appliance
	check "ledger cycles $1..$2: acknowledged transfers: $(grep -c '^ack' "$LLOG")" \
		test "$(grep -c '^ack' "$LLOG")" -gt 0
	check "ledger cycles $1..$2: kcq verify: the journal is sound" \
		"$KCQ" verify "$JOURNAL"
}

part ledger || LCYCLES=0
first=1
for cycle in $(seq 1 "$LCYCLES"); do
	if [ $(( (cycle - 1) % LEPOCH )) -eq 0 ]; then
		[ "$cycle" -gt 1 ] && ledger_epoch_end "$first" $((cycle - 1))
		first=$cycle
		JOURNAL=$WORK/journal-crash-ledger-$cycle
		LLOG=$WORK/ledger-acked-$cycle.log
	fi
	start_appliance "$CFG/tap-ledger.yaml" "$JOURNAL"
	if [ "$cycle" -eq "$first" ]; then
		check "ledger cycle $cycle: 32 coins minted on a new journal" sh -c \
			"'$KCCTL' -s $S -k '$LKEYS' mint 1 10 32 | grep -q 'first_coin=1 '"
	else
		check "ledger cycle $cycle: $(grep -o 'ledger recovered: [^;]*; [^,]*' "$APPLOG")" \
			"$LT" crash-verify $S "$LKEYS" "$LLOG"
	fi
	ACKS0=$(grep -c '^ack' "$LLOG" 2>/dev/null)
	"$LT" crash-load $S "$LKEYS" "$LLOG" 1 32 4 >"$WORK/load.out" 2>&1 &
	LOAD=$!
	wait_first_ack sh -c "n=\$(grep -c '^ack' '$LLOG' 2>/dev/null); [ \"\${n:-0}\" -gt ${ACKS0:-0} ]"
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.3 + r / 32768 }')"
	kill -KILL "$KC_PID"
	wait "$KC_PID" 2>/dev/null
	KC_PID=""
	wait "$LOAD"
	log "ledger cycle $cycle: killed; $(cat "$WORK/load.out")"
	# The same 32 coins move in every cycle of a journal: nothing grows
	# but the journal, so any number of cycles stays within the ledger's
	# limits.
	check "ledger cycle $cycle: TRANSFERs were acknowledged before the kill" \
		test "$(grep -c '^ack' "$LLOG")" -gt "${ACKS0:-0}"
done
[ "$LCYCLES" -eq 0 ] || ledger_epoch_end "$first" "$LCYCLES"

# Service calls (docs/services.md): a kcctl serve of type crash (price
# 10, client 3) and two callers making paid calls; the appliance is killed
# while calls are in flight. After every restart recovery's own check
# must pass (every open call's price in escrow, nothing else there), every
# call must end settled (escrow back to 0: answered and paid, or refunded
# at its deadline, exactly once), every call a caller got a REPLY for must
# have stayed as that REPLY said (kc-ledger-itest call-verify: OK paid the
# service, anything else paid nothing, each escrow settled once in the
# coin's trail, naming its call) and AUDIT must hold.
if part calls; then
	JOURNAL=$WORK/journal-crash-calls
	CKEYS=$CFG/ledger.keys
	ck() { "$KCCTL" -s $S -k "$CKEYS" "$@"; }
	escrow() { ck balance 4294967295 | sed -n 's/.*balance=\([0-9]*\).*/\1/p'; }
	start_appliance "$CFG/tap-services.yaml" "$JOURNAL"
	# 50 ms a call: the kill finds calls in flight.
	# Started itself, not through a function: $! is its PID, which the
	# kill below must reach (and without fd 8, the CPU lock).
	"$KCCTL" -s $S -k "$CKEYS" -c 3 --price 10 --max-inflight 8 \
		--lease 3 serve crash -- sh -c 'sleep 0.05; cat' \
		>"$WORK/serve-crash.log" 2>&1 8>&- &
	SERVE=$!
	on_exit "kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null"
	for cycle in $(seq 1 $(( (CYCLES + 3) / 4 ))); do
		"$LT" call-crash-load $S "$CKEYS" "$WORK/calls.log" crash 50 \
			2000 2 6 >"$WORK/calls-$cycle.out" 2>&1 &
		LOAD=$!
		sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.3 + 0.7 * r / 32768 }')"
		kill -KILL "$KC_PID"
		wait "$KC_PID" 2>/dev/null
		KC_PID=""
		start_appliance "$CFG/tap-services.yaml" "$JOURNAL"
		check "calls cycle $cycle: $(grep -o 'services recovered: [^;]*' "$APPLOG")" \
			grep -q 'services recovered' "$APPLOG"
		wait "$LOAD"
		log "calls cycle $cycle: killed; $(grep '^ok ' "$WORK/calls-$cycle.out")"
		# The callers stop after their deadlines and retries; the calls
		# they left settle by their service's answer or deadline.
		for i in $(seq 1 100); do
			[ "$(escrow)" = 0 ] && break
			sleep 0.1
		done
		check "calls cycle $cycle: every call settled, nothing in escrow" \
			test "$(escrow)" = 0
		check "calls cycle $cycle: AUDIT holds" sh -c \
			"'$KCCTL' -s $S -k '$CKEYS' audit | grep -q '^OK ok=true'"
		check "calls cycle $cycle: every answered call as its REPLY said, each settled once" \
			"$LT" call-verify $S "$CKEYS" "$WORK/calls.log" 3
		log "calls cycle $cycle: $(tail -1 "$WORK/check.out")"
	done
	kill "$SERVE" 2>/dev/null
	wait "$SERVE" 2>/dev/null
	stop_appliance
	check "calls: kcq verify: the journal is sound" "$KCQ" verify "$JOURNAL"
fi
finish
