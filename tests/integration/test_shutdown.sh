#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Clean shutdown on hugepages: SIGTERM and SIGINT stop the appliance with
# exit 0, its hugepage files are released, and a restart right after works
# and recovers what was accepted. The test reserves 2 MB hugepages and
# mounts its own hugetlbfs, and puts both back as they were.
source "$(dirname "$0")/lib.sh"
require_root
HP=/sys/kernel/mm/hugepages/hugepages-2048kB
if [ ! -w "$HP/nr_hugepages" ]; then
	echo "no 2 MB hugepages on this kernel" >&2
	exit 77
fi
S=$NET.2

OLD=$(cat "$HP/nr_hugepages")
on_exit "echo $OLD > $HP/nr_hugepages"
echo $((OLD + 256)) >"$HP/nr_hugepages"
if [ "$(cat "$HP/free_hugepages")" -lt 200 ]; then
	echo "could not reserve 200 free 2 MB hugepages" >&2
	exit 77
fi
mkdir -p "$WORK/huge"
mount -t hugetlbfs -o pagesize=2M nodev "$WORK/huge"
on_exit "umount $WORK/huge"

# tap.yaml on hugepages, with the EAL's files kept (in_memory: false) so
# there is something to release, in this test's own hugetlbfs.
sed -e 's/hugepages: false/hugepages: true/' -e 's/in_memory: true/in_memory: false/' \
	-e "s/file_prefix: kc-itest-tap-$SLOT/file_prefix: kc-itest-shut-$SLOT/" \
	-e "s#keys_file: .*#keys_file: $SRC/config/dev.keys#" \
	"$CFG/tap.yaml" >"$WORK/huge.yaml"
sed -i "/^  file_prefix: kc-itest-shut/a\\  extra_args: [\"--huge-dir=$WORK/huge\"]" "$WORK/huge.yaml"


J=$WORK/journal
for sig in TERM INT; do
	start_appliance "$WORK/huge.yaml" "$J"
	check "SIG$sig run: the EAL's hugepage files are in our hugetlbfs" \
		sh -c "[ \$(find '$WORK/huge' -type f | wc -l) -gt 0 ]"
	check "SIG$sig run: kcctl ping" "$KCCTL" -s $S ping
	check "SIG$sig run: publish" "$KCCTL" -s $S publish shut "before SIG$sig"
	stop_appliance "$sig"
	check "SIG$sig: exit 0 (the last words: 'kingcobra stopped')" sh -c \
		"[ $STOP_STATUS = 0 ] && grep -q '^kingcobra stopped' '$APPLOG'"
	check "SIG$sig: the hugepage files are released" sh -c \
		"[ \$(find '$WORK/huge' -type f | wc -l) = 0 ]"
	check "SIG$sig: the hugepages are free again" sh -c \
		"[ \$(cat $HP/free_hugepages) -ge 200 ]"
done
# A restart right after the second stop, on the same journal.
start_appliance "$WORK/huge.yaml" "$J"
check "restart: the messages of both runs recovered" sh -c \
	"'$KCCTL' -s $S --json fetch shut 0 >'$WORK/fetch.json' && grep -q 'before SIGTERM' '$WORK/fetch.json' && grep -q 'before SIGINT' '$WORK/fetch.json'"
stop_appliance
check "restart: stopped with exit 0" [ "$STOP_STATUS" = 0 ]
finish
