#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The ledger end to end: kcctl drives every op against the appliance on a
# TAP port; clients race to spend the same coins; a retried TRANSFER is
# applied once, before and after a restart; a restart recovers the same
# ledger from its snapshot; reaped coins keep their trail; and the ledger
# works the same in pipeline mode (worker 0 owns it).
. "$(dirname "$0")/lib.sh"
require_root
KEYS=$CFG/ledger.keys
S=$NET.2
LT=$BUILD/tests/integration/kc-ledger-itest
JOURNAL=$WORK/journal-ledger

kc() { "$KCCTL" -s $S -k "$KEYS" "$@"; }
# field NAME: a key=value field of the OK line kcctl printed last.
field() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" "$WORK/out" | head -1; }
run() { kc "$@" >"$WORK/out" 2>&1; }
expect() { # expect STATUS KCCTL-ARGS...: the reply's status is STATUS
	local want=$1
	shift
	run "$@"
	grep -q "^$want\b\|^ERR $want:" "$WORK/out" || { cat "$WORK/out"; return 1; }
}

start_appliance "$CFG/tap-ledger.yaml" "$JOURNAL"

# Every op by hand, as an operator would.
check "mint 3 coins of 100 to account 1" expect OK -c 1 mint 1 100 3
check "a non-authority cannot mint" expect FORBIDDEN -c 2 mint 2 100 1
check "transfer coins 1 and 2 from 1 to 2" expect OK -c 1 transfer 1 2 1 2
check "account 1 holds 100 in one coin" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' balance 1 | grep -q 'balance=100 coins=1'"
check "account 2 holds 200 in two coins" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' balance 2 | grep -q 'balance=200 coins=2'"
check "spending a coin twice: NOT_OWNER" expect NOT_OWNER -c 1 transfer 1 3 1
check "spending another's coin with one's own key: NOT_OWNER" \
	expect NOT_OWNER -c 3 transfer 3 4 1
check "signing for another account: FORBIDDEN" expect FORBIDDEN -c 3 transfer 2 4 1
check "transfer to a client not in the keys file: NOT_FOUND" \
	expect NOT_FOUND -c 2 transfer 2 99 1
check "split coin 1 into 30 + 70" expect OK -c 2 split 1 30 70
CHILD=$(field first_coin)
check "the split parent is dead: COIN_DEAD" expect COIN_DEAD -c 2 transfer 2 3 1
check "split parts that do not add up: BAD_REQUEST" \
	expect BAD_REQUEST -c 2 split 2 30 71
check "merge across owners: NOT_OWNER" expect NOT_OWNER -c 2 merge $CHILD 3
check "merge the two children back" expect OK -c 2 merge $CHILD $((CHILD + 1))
MERGED=$(field coin)
check "burn coin 3" expect OK -c 1 burn 3
check "audit: supply 300 minted - 100 burnt = 200 live" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' audit | grep -q 'ok=true minted=300 burnt=100 live_sum=200'"
run trail "$MERGED"
check "trail of the merged coin goes back through split and transfer to the mint" \
	sh -c "grep -q ' mint coin=1 ' '$WORK/out' && grep -q ' transfer coin=1 ' '$WORK/out' && grep -q ' split coin=$CHILD ' '$WORK/out' && grep -q ' merge coin=$MERGED ' '$WORK/out'"
sleep 2.5 # reap_after_s: 1; the reaper runs as requests come
run ping
run coin 1
check "a reaped coin is DEAD, and says where its history is" \
	grep -q 'COIN_DEAD.*reaped' "$WORK/out"
run trail "$MERGED"
check "the trail still reaches the reaped coin's mint" \
	grep -q ' mint coin=1 ' "$WORK/out"

# Many clients race to spend the same coins.
check "race: 64 coins, 8 clients, exactly one TRANSFER per coin wins" \
	"$LT" race $S "$KEYS" 64 8
check "a retried TRANSFER is applied once" \
	"$LT" idempotent $S "$KEYS" "$WORK/transfer.dgram"

# A restart recovers the same ledger, from its newest snapshot.
kc --json audit >"$WORK/audit-before.json"
for a in 1 2 3 4 5 6; do kc balance $a; done >"$WORK/bal-before" 2>&1
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
check "the durable ledger snapshot is named for recovery" \
	test -s "$JOURNAL/ledger.snapshot"
start_appliance "$CFG/tap-ledger.yaml" "$JOURNAL"
check "recovery started from the ledger snapshot" \
	grep -q "ledger recovered: .* from the snapshot at seq $(cat "$JOURNAL/ledger.snapshot")," "$APPLOG"
for a in 1 2 3 4 5 6; do kc balance $a; done >"$WORK/bal-after" 2>&1
check "every balance is what it was" bash -c \
	"diff <(sed 's/ (.*//' '$WORK/bal-before') <(sed 's/ (.*//' '$WORK/bal-after')"
kc --json audit >"$WORK/audit-after.json"
check "the audit is what it was" python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
keys = ("ok", "minted", "burnt", "live_sum", "live_coins", "accounts")
sys.exit(0 if all(a[k] == b[k] for k in keys) and b["ok"] else 1)
' "$WORK/audit-before.json" "$WORK/audit-after.json"
check "the retried TRANSFER, sent again after the restart, gets its first REPLY and moves nothing" \
	"$LT" idempotent $S "$KEYS" "$WORK/transfer.dgram"
kc trail "$MERGED" >"$WORK/trail-kcctl" 2>&1
stop_appliance
check "kcq verify: the ledger's journal is sound" "$KCQ" verify "$JOURNAL"
"$KCQ" trail "$JOURNAL" "$MERGED" >"$WORK/trail-kcq" 2>&1
check "kcq trail, offline, prints the trail kcctl got from the appliance" \
	bash -c "diff <(grep '^seq=' '$WORK/trail-kcctl') <(grep '^seq=' '$WORK/trail-kcq') && grep -q '^seq=' '$WORK/trail-kcq'"

# Pipeline mode: two workers, the ledger on worker 0.
start_appliance "$CFG/tap-pipeline.yaml"
check "pipeline: mint" sh -c "'$KCCTL' -s $S mint 1 5 4 | grep -q '^OK'"
check "pipeline: transfer" sh -c "'$KCCTL' -s $S transfer 1 2 1 2 3 | grep -q '^OK'"
check "pipeline: trail" sh -c "'$KCCTL' -s $S trail 2 | grep -q ' transfer coin=2 '"
check "pipeline: audit" sh -c "'$KCCTL' -s $S audit | grep -q 'ok=true minted=20'"
stop_appliance
check "pipeline: clean shutdown" test "$STOP_STATUS" -eq 0
finish
