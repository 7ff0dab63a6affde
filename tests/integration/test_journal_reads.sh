#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# journal.reads (docs/journal-format.md, section 5): with none (the default)
# the journal keeps no record of a request that changes nothing, and a
# restart after PINGs, TIMEs, FETCHes and OFFSETs recovers the same queues
# and offsets; with all it keeps every read, REQUEST and REPLY, as before.
# Under both, a read sent again (the same datagram) is answered again.
. "$(dirname "$0")/lib.sh"
require_root
S=$NET.2
READS=20

# state FILE: of kcctl's FETCH REPLY in FILE, what the queue holds.
state() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["first_offset"], r["end_offset"], r["messages"])' "$1"
}

# records OP TYPE: how many TYPE records of OP the journal holds.
records() {
	"$KCQ" dump --json "$JOURNAL" |
		grep -c "\"type\":\"$2\",\"op\":\"$1\""
}

# One run on CONFIG: writes, then reads, a restart, the state compared.
run() {
	local mode=$1 cfg=$2 want_reads
	start_appliance "$cfg"
	check "$mode: banner names journal.reads $mode" \
		grep -q "reads $mode" "$APPLOG"
	check "$mode: publish" sh -c "'$KCCTL' -s $S publish rq one | grep -q offset=0"
	check "$mode: publish (second)" sh -c "'$KCCTL' -s $S publish rq two | grep -q offset=1"
	check "$mode: commit" "$KCCTL" -s $S commit rq reader 1
	for i in $(seq 1 $READS); do
		"$KCCTL" -s $S ping >/dev/null &&
			"$KCCTL" -s $S time >/dev/null &&
			"$KCCTL" -s $S fetch rq 0 >/dev/null &&
			"$KCCTL" -s $S offset rq reader >/dev/null ||
			echo "read $i failed"
	done >"$WORK/reads.$mode" 2>&1
	check "$mode: $READS PINGs, TIMEs, FETCHes and OFFSETs answered" \
		sh -c "cat '$WORK/reads.$mode'; test ! -s '$WORK/reads.$mode'"
	check "$mode: a read sent again is answered again, the same" \
		"$ITEST" read-retry $S rq 5
	"$KCCTL" -s $S --json fetch rq 0 >"$WORK/fetch.$mode.before"
	check "$mode: the queue holds the second message (the first trimmed)" \
		test "$(state "$WORK/fetch.$mode.before")" = \
		"1 2 [{'offset': 1, 'data': 'two'}]"
	stop_appliance
	check "$mode: clean shutdown" test "$STOP_STATUS" -eq 0
	check "$mode: kcq verify: the journal is sound" "$KCQ" verify "$JOURNAL"
	check "$mode: the journal holds both PUBLISHes and the COMMIT" sh -c \
		"test $(records publish REQUEST) -eq 2 &&
		 test $(records commit REQUEST) -eq 1"
	if [ "$mode" = none ]; then
		want_reads=0
	else
		want_reads=$READS
	fi
	# read-retry sends each of its datagrams 5 times: with all, a
	# journaled read is executed, and journaled, each time.
	for op in ping time fetch offset; do
		local n=$want_reads
		[ "$mode" = all ] && [ "$op" != time ] && n=$((n + 5))
		[ "$mode" = all ] && [ "$op" = fetch ] && n=$((n + 1))
		check "$mode: $op: $n REQUEST and $n REPLY records" sh -c \
			"test $(records $op REQUEST) -eq $n &&
			 test $(records $op REPLY) -eq $n"
	done
	# A restart on the same journal: the same state, reads or not.
	start_appliance "$cfg" "$JOURNAL"
	"$KCCTL" -s $S --json fetch rq 0 >"$WORK/fetch.$mode.after"
	check "$mode: after a restart, FETCH returns the same messages" \
		test "$(state "$WORK/fetch.$mode.before")" = \
		"$(state "$WORK/fetch.$mode.after")"
	check "$mode: after a restart, the consumer's offset is back" \
		sh -c "'$KCCTL' -s $S --json offset rq reader | grep -q '\"offset\": *1'"
	check "$mode: after a restart, a read is answered" "$KCCTL" -s $S ping
	stop_appliance
	check "$mode: clean shutdown after the restart" test "$STOP_STATUS" -eq 0
}

run none "$CFG/tap.yaml"
{ cat "$CFG/tap.yaml"; printf 'journal:\n  reads: all\n'; } >"$CFG/tap-reads-all.yaml"
run all "$CFG/tap-reads-all.yaml"
finish
