#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A journal written by an earlier build (tests/fixtures/journal-v1, from
# commit 6a266e1; tests/fixtures/make-journal-v1.sh says how) is read by
# today's: kcq verifies it, the appliance recovers the queues, consumer
# offsets and ledger it describes, and goes on appending to it. The journal
# format has one version; this keeps a refactor from changing it by
# accident.
. "$(dirname "$0")/lib.sh"
require_root
slot_config "$SRC/tests/fixtures/journal-v1.yaml" >"$WORK/journal-v1.yaml"
CFG=$WORK/journal-v1.yaml
KEYS=$SRC/tests/integration/configs/ledger.keys
S=$NET.2
JOURNAL=$WORK/journal
kc() { "$KCCTL" -s $S -k "$KEYS" "$@"; }

cp -a "$SRC/tests/fixtures/journal-v1" "$JOURNAL"
check "kcq verify: the old journal is sound" "$KCQ" verify "$JOURNAL"
"$KCQ" stats "$JOURNAL" >"$WORK/stats" 2>&1
"$KCQ" verify "$JOURNAL" >"$WORK/verify" 2>&1
check "kcq verify counts its records, pairs, hops and snapshots" grep -q \
	"645 records in 2 segment(s) from seq 1, 315 request/reply pairs, 8 ledger hop(s), 3 snapshot(s) (1 of the ledger)" \
	"$WORK/verify"
check "kcq stats counts requests by op" grep -q \
	"requests by op: ping=1 publish=302 commit=1 mint=2 transfer=3 split=1 merge=1 burn=1 balance=1 trail=1 audit=1" \
	"$WORK/stats"
"$KCQ" dump --json "$JOURNAL" >"$WORK/dump.json" 2>&1
check "kcq dump decodes every record" python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 645, len(recs)
assert not any(r.get("kcp") == "undecodable" or r.get("hop") == "undecodable"
               or r.get("snapshot") == "undecodable" for r in recs)
req = [r for r in recs if r["type"] == "REQUEST"]
assert sum(1 for r in req if r["op"] == "publish" and r["queue"] == "orders") == 300
tr = [r for r in req if r["op"] == "transfer"]
assert [t["coins"] for t in tr] == [[1, 2], [4], [8, 9, 10]], tr
hops = [r for r in recs if r["type"] == "LEDGER"]
assert [h["kind"] for h in hops] == ["mint", "transfer", "split", "merge",
    "burn", "transfer", "mint", "transfer"], hops
' "$WORK/dump.json"

start_appliance "$CFG" "$JOURNAL"
check "recovery reported" grep -q "journal shard 0 recovered" "$APPLOG"
check "ledger recovered from its snapshot" grep -q \
	"ledger recovered: .* from the snapshot at seq $(cat "$JOURNAL/ledger.snapshot")," "$APPLOG"
check "queue orders holds its 300 messages" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' --json fetch orders 299 | grep -q '\"next_offset\": *300'"
check "the message at offset 150 is the 151st published" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' fetch orders 150 1 | grep -q '^150 000150-m'"
check "queue audit.log holds its 2 messages" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' --json fetch audit.log 0 | grep -q '\"end_offset\": *2'"
check "consumer billing's offset is 120" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' --json offset orders billing | grep -q '\"offset\": *120'"
for want in "1 balance=0 coins=0" "2 balance=200 coins=2" \
	"3 balance=100 coins=1" "4 balance=35 coins=7" "5 balance=15 coins=3"; do
	check "account ${want%% *} holds ${want#* }" sh -c \
		"'$KCCTL' -s $S -k '$KEYS' balance ${want%% *} | grep -q '${want#* }'"
done
check "audit: minted 450, burnt 100, 350 live in 13 coins" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' audit | grep -q 'ok=true minted=450 burnt=100 live_sum=350 live_coins=13 '"
kc trail 7 >"$WORK/trail" 2>&1
check "coin 7's trail: minted as coin 1, transferred, split, merged" sh -c \
	"grep -q ' mint coin=1 ' '$WORK/trail' && grep -q ' transfer coin=1 ' '$WORK/trail' && grep -q ' split coin=5 ' '$WORK/trail' && grep -q ' merge coin=7 ' '$WORK/trail'"
check "coin 3 was burnt" sh -c "'$KCCTL' -s $S -k '$KEYS' -c 1 transfer 1 2 3 2>&1 | grep -q COIN_DEAD"
check "a new PUBLISH goes on at offset 300" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' publish orders after-recovery | grep -q 'offset=300'"
check "a new MINT goes on at coin 18" sh -c \
	"'$KCCTL' -s $S -k '$KEYS' mint 6 1 | grep -q 'first_coin=18 '"

# One appliance per journal (issue 23): a second start on it exits 1 naming
# the first one's PID, before its EAL or port start, and the first goes on.
check "the journal's lock file holds the appliance's PID" \
	grep -qx "$KC_PID" "$JOURNAL/kingcobra.lock"
timeout 60 "$KINGCOBRA" --config "$CFG" --journal-dir "$JOURNAL" \
	>"$WORK/second.log" 2>&1
SECOND_STATUS=$?
check "a second appliance on the same journal exits 1" \
	sh -c "cat '$WORK/second.log'; test $SECOND_STATUS -eq 1"
check "... naming the first one's PID" grep -q \
	"journal $JOURNAL is in use by kingcobra PID $KC_PID" "$WORK/second.log"
check "... and the first one still serves" "$KCCTL" -s $S -k "$KEYS" ping
check "kcq says when a running appliance holds the journal" sh -c \
	"'$KCQ' stats '$JOURNAL' 2>&1 >/dev/null | grep -q 'held by a running kingcobra (PID $KC_PID)'"
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
check "kcq says nothing of a lock once the appliance is gone" sh -c \
	"! '$KCQ' stats '$JOURNAL' 2>&1 >/dev/null | grep -q 'held by'"
check "kcq verify: the journal with today's records appended is sound" \
	"$KCQ" verify "$JOURNAL"

# The same journal read with the ledger off and no ledger.snapshot naming
# where the ledger starts: a clear refusal (exit 1), never a crash (recovery
# once dereferenced the absent ledger at the first LEDGER record).
cp -a "$SRC/tests/fixtures/journal-v1" "$WORK/journal-noledger"
rm "$WORK/journal-noledger/ledger.snapshot"
sed -e "s#keys_file: .*#keys_file: $SRC/tests/integration/configs/ledger.keys#" \
	-e 's/^ledger:$/ledger:\n  enabled: false/' "$CFG" >"$WORK/noledger.yaml"
EAL_PREFIXES+=(kc-itest-fixture-$SLOT)
timeout 60 "$KINGCOBRA" --config "$WORK/noledger.yaml" \
	--journal-dir "$WORK/journal-noledger" >"$WORK/noledger.log" 2>&1
NOLEDGER_STATUS=$?
check "a ledger journal with the ledger off: exit 1, not a crash" \
	sh -c "cat '$WORK/noledger.log'; test $NOLEDGER_STATUS -eq 1"
check "... saying why" grep -q "holds ledger records and the ledger is off" \
	"$WORK/noledger.log"
finish
