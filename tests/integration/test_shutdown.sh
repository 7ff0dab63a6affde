#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Clean shutdown on hugepages: SIGTERM and SIGINT stop the appliance with
# exit 0, its hugepage files are released, and a restart right after works
# and recovers what was accepted. The test reserves 2 MB hugepages and
# mounts its own hugetlbfs, and puts both back as they were. On the way,
# with secondary processes possible, dpdk-dumpcap captures the port's
# traffic and the Wireshark dissector decodes it (docs/operations.md).
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


# The capture, through deploy/wireshark/kcp.lua: 6 KCP messages, PING
# REQUESTs and REPLYs (at least 2 of each: the capture may start between a
# request and its REPLY), each echoing "dump-N".
dump_decoded() {
	tshark -n -X "lua_script:$SRC/deploy/wireshark/kcp.lua" \
		-r "$WORK/dump.pcapng" -Y kcp -T fields -e kcp.type -e kcp.op \
		-e kcp.echo >"$WORK/dump.txt" 2>"$WORK/dump.err" ||
		{ cat "$WORK/dump.err"; return 1; }
	cat "$WORK/dump.txt"
	[ "$(wc -l <"$WORK/dump.txt")" = 6 ] &&
		[ "$(grep -c "^1	1	" "$WORK/dump.txt")" -ge 2 ] &&
		[ "$(grep -c "^2	1	" "$WORK/dump.txt")" -ge 2 ] &&
		[ "$(grep -c "	1	$(printf dump- | od -An -tx1 | tr -d ' \n')3[0-9]*\$" \
			"$WORK/dump.txt")" = 6 ]
}

J=$WORK/journal
for sig in TERM INT; do
	start_appliance "$WORK/huge.yaml" "$J"
	check "SIG$sig run: the EAL's hugepage files are in our hugetlbfs" \
		sh -c "[ \$(find '$WORK/huge' -type f | wc -l) -gt 0 ]"
	if [ $sig = TERM ]; then
		# A secondary process captures 6 KCP frames of port 0 and
		# stops; PINGs until it has.
		dpdk-dumpcap --file-prefix=kc-itest-shut-$SLOT -i 0 -p \
			-f "udp port 60000" -c 6 -a duration:20 \
			-w "$WORK/dump.pcapng" >"$WORK/dumpcap.log" 2>&1 8>&- &
		DUMPCAP=$!
		on_exit "kill $DUMPCAP 2>/dev/null"
		for i in $(seq 1 100); do
			grep -q "^File: " "$WORK/dumpcap.log" && break
			sleep 0.1
		done
		i=0
		while kill -0 $DUMPCAP 2>/dev/null && [ $i -lt 100 ]; do
			i=$((i + 1))
			"$KCCTL" -s $S ping "dump-$i" >/dev/null
			sleep 0.05
		done
		wait $DUMPCAP
		check "dpdk-dumpcap attached to the running appliance and captured" \
			sh -c "grep -q \"^Capturing on 'net_tap0'\" '$WORK/dumpcap.log' &&
			grep -q \"on interface 'net_tap0': [0-9]*/0 \" '$WORK/dumpcap.log' ||
			{ cat '$WORK/dumpcap.log'; exit 1; }"
		check "dpdk-dumpcap's capture decoded by the dissector: PINGs and REPLYs" \
			dump_decoded
	fi
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
