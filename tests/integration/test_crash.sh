#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Crash test: the appliance (durability batch) under load from four
# clients is killed with SIGKILL at a random moment, restarted on the same
# journal, and each time every message whose REPLY a client received must
# be found by FETCH at its offset, with no duplicate and no reordering.
# Clients retry with the same message id for 3 s, so some retries cross
# the restart and meet the recovered message-id index.
#
#   test_crash.sh [CYCLES]      (default: KC_CRASH_CYCLES or 20)
. "$(dirname "$0")/lib.sh"
require_root
CFG=$SRC/tests/integration/configs
S=10.79.0.2
CYCLES=${1:-${KC_CRASH_CYCLES:-20}}
JOURNAL=$WORK/journal-crash
on_exit "rm -rf /var/run/dpdk/kc-itest-tap"

# verify_all: every cycle's queue so far (each cycle loads its own queue,
# so none fills up).
verify_all() {
	local c
	for c in $(seq 1 "$1"); do
		"$ITEST" crash-verify $S "crash-$c" "$WORK/acked-$c.log" || return 1
	done
}

for cycle in $(seq 1 "$CYCLES"); do
	start_appliance "$CFG/tap.yaml" "$JOURNAL"
	if [ "$cycle" -gt 1 ]; then
		check "cycle $cycle: recovered $(grep -o '[0-9]* requests replayed' "$APPLOG")" \
			grep -q "journal shard 0 recovered" "$APPLOG"
		check "cycle $cycle: every acknowledged message at its offset, no duplicate, no reorder" \
			verify_all $((cycle - 1))
	fi
	"$ITEST" crash-load $S "crash-$cycle" 4 "$WORK/acked-$cycle.log" \
		>"$WORK/load.out" 2>&1 &
	LOAD=$!
	# 0.2 .. 1.2 s of load, then SIGKILL: no chance to flush anything.
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.2 + r / 32767 }')"
	kill -KILL "$KC_PID"
	wait "$KC_PID" 2>/dev/null
	KC_PID=""
	wait "$LOAD"
	log "cycle $cycle: killed; $(cat "$WORK/load.out")"
done

start_appliance "$CFG/tap.yaml" "$JOURNAL"
check "after the last kill: every acknowledged message at its offset" \
	verify_all "$CYCLES"
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
check "kcq verify: the journal is sound after $CYCLES kills" "$KCQ" verify "$JOURNAL"
ACKED=$(cat "$WORK"/acked-*.log | wc -l)
check "acknowledged messages: $ACKED" test "$ACKED" -gt 0

# The same with retention deleting segments as it goes (small segments,
# a one-second idempotency window): recovery then starts each queue from
# its snapshot, and a kill may hit a snapshot half written.
JOURNAL=$WORK/journal-crash-retention
RCYCLES=$(( (CYCLES + 1) / 2 ))
for cycle in $(seq 1 "$RCYCLES"); do
	start_appliance "$CFG/tap-retention.yaml" "$JOURNAL"
	if [ "$cycle" -gt 1 ]; then
		check "retention cycle $cycle: every acknowledged message at its offset" \
			verify_all $((cycle - 1))
	fi
	: >"$WORK/acked-$cycle.log"
	"$ITEST" crash-load $S "crash-$cycle" 4 "$WORK/acked-$cycle.log" \
		>"$WORK/load.out" 2>&1 &
	LOAD=$!
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.5 + 2 * r / 32767 }')"
	kill -KILL "$KC_PID"
	wait "$KC_PID" 2>/dev/null
	KC_PID=""
	wait "$LOAD"
	log "retention cycle $cycle: killed; $(cat "$WORK/load.out")"
done
start_appliance "$CFG/tap-retention.yaml" "$JOURNAL"
check "retention: every acknowledged message at its offset after the last kill" \
	verify_all "$RCYCLES"
check "retention deleted segments" sh -c \
	"! test -e '$JOURNAL/shard-00/0000000000000000.kcj'"
stop_appliance
check "kcq verify: the shortened journal is sound" "$KCQ" verify "$JOURNAL"
finish
