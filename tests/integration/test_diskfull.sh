#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Disk full: the journal on a 3 MiB tmpfs this test mounts. Publishing
# until the disk is full must end in STORAGE_FULL replies (not silence),
# with every acknowledged message intact; when space returns (the tmpfs
# grows) the appliance accepts again without a restart; and a restart
# recovers everything that was acknowledged.
. "$(dirname "$0")/lib.sh"
require_root
S=$NET.2
MNT=$WORK/small
mkdir -p "$MNT"
mount -t tmpfs -o size=3m kc-itest-small "$MNT" || exit 1
on_exit "umount -l '$MNT'"
JOURNAL=$MNT/journal

start_appliance "$CFG/tap-small-journal.yaml" "$JOURNAL"
"$ITEST" fill $S full "$WORK/acked-1.log" >"$WORK/fill1.out" 2>&1
log "$(cat "$WORK/fill1.out")"
check "a full disk is answered with STORAGE_FULL" \
	grep -q "stopped by STORAGE_FULL" "$WORK/fill1.out"
M90=$(printf 'more-%085d' 0)
check "a PUBLISH of the same size after that is refused the same way" sh -c \
	"'$KCCTL' -s $S publish full $M90 2>&1 | grep -q STORAGE_FULL"
check "a COMMIT still fits the reserve" "$KCCTL" -s $S commit full reader 1
check "reads still work: every acknowledged message at its offset" \
	"$ITEST" crash-verify $S full "$WORK/acked-1.log"

# Space returns: the I/O thread makes its spare segment again.
mount -o remount,size=6m "$MNT"
sleep 0.5
"$ITEST" fill $S full2 "$WORK/acked-2.log" >"$WORK/fill2.out" 2>&1
log "$(cat "$WORK/fill2.out")"
check "accepting again once space returned, no restart" sh -c \
	"grep -Eq 'fill: [1-9][0-9]* acknowledged, stopped by STORAGE_FULL' '$WORK/fill2.out'"
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
check "refusals counted" counter_at_least refused_storage_full 2
check "kcq verify: the journal is sound" "$KCQ" verify "$JOURNAL"

start_appliance "$CFG/tap-small-journal.yaml" "$JOURNAL"
check "after a restart, every acknowledged message at its offset" sh -c \
	"'$ITEST' crash-verify $S full '$WORK/acked-1.log' &&
	 '$ITEST' crash-verify $S full2 '$WORK/acked-2.log'"
stop_appliance
finish
