#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Retention: with a consumer keeping up, the journal's old segments go
# (retention_bytes 2 MiB of 1 MiB segments) while a queue nobody consumes
# keeps its messages through its snapshots; a restart on the shortened
# journal restores every queue from its snapshot, and goes on.
. "$(dirname "$0")/lib.sh"
require_root
S=$NET.2
JOURNAL=$WORK/journal-retention
SHARD=$JOURNAL/shard-00

start_appliance "$CFG/tap-retention.yaml" "$JOURNAL"
check "publish to a queue nobody consumes" sh -c \
	"'$KCCTL' -s $S publish keep first && '$KCCTL' -s $S publish keep second"
check "12,000 messages through a queue whose consumer keeps up" \
	"$ITEST" churn $S churn 12000
# Past the idempotency window (1 s + 1 s skew), then a little more
# traffic and an idle moment for the I/O thread to delete.
sleep 3
check "more traffic" "$ITEST" churn $S churn2 300
sleep 1
NSEG=$(ls "$SHARD" | grep -c '\.kcj$')
FIRST=$(ls "$SHARD" | grep '\.kcj$' | head -1)
log "segments left: $NSEG, oldest $FIRST"
check "old segments deleted: $NSEG left, oldest $FIRST" sh -c \
	"test $NSEG -le 5 && test '$FIRST' != 0000000000000000.kcj"
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
check "snapshots written" counter_at_least snapshots 2
check "kcq verify: the shortened journal is sound" "$KCQ" verify "$JOURNAL"

start_appliance "$CFG/tap-retention.yaml" "$JOURNAL"
check "recovery restored the queues from their snapshots" \
	grep -Eq " [1-9][0-9]* queue\(s\) restored from a snapshot" "$APPLOG"
check "the queue nobody consumes kept its messages" sh -c \
	"'$KCCTL' -s $S --json fetch keep 0 | grep -q '\"data\":\"second\"'"
check "the consumed queue starts where its consumer is" sh -c \
	"'$KCCTL' -s $S --json fetch churn 0 1 | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r[\"end_offset\"] == 12000, r
assert r[\"messages\"] == [] or r[\"messages\"][0][\"offset\"] >= 11900, r'"
check "its consumer's offset came back" sh -c \
	"'$KCCTL' -s $S --json offset churn reader | grep -q '\"offset\": *12000'"
check "and it goes on at 12000" sh -c \
	"'$KCCTL' -s $S publish churn after | grep -q 'offset=12000'"
stop_appliance
check "clean shutdown after recovery" test "$STOP_STATUS" -eq 0
finish
