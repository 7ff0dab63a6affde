#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The appliance on AF_PACKET over a veth pair whose other end lives in a
# network namespace this test creates: clients in the namespace use real
# kernel UDP sockets and real ARP. Then bad input of every class, and a burst
# of garbage at full speed: each is dropped and counted (or answered with an
# error status when authenticated), good clients keep being served, and
# nothing accepted before is lost.
. "$(dirname "$0")/lib.sh"
require_root
NS=kc-itest-ns-$SLOT
S=$NET78.2
IN_NS="ip netns exec $NS"

veth_to_ns $NS kcv$SLOT kcw$SLOT $NET78.1/24

start_appliance "$CFG/afpacket.yaml"
check "ICMP ping from the namespace" $IN_NS ping -c 3 -i 0.2 -W 2 $S
check "kcctl ping from the namespace" $IN_NS "$KCCTL" -s $S ping
check "kcctl publish before the garbage" sh -c \
	"$IN_NS '$KCCTL' -s $S publish keep 'accepted before' | grep -q 'offset=0'"
check "10,000 messages from 4 concurrent clients, fetched back in order" \
	$IN_NS "$ITEST" publish-concurrent $S load 10000 4
# kc-loadgen over AF_PACKET on the namespace's end (it answers ARP for its
# .1 itself): closed and open loop, PING and PUBLISH, nothing lost.
MAC=$(cat /sys/class/net/kcv$SLOT/address)
loadgen() {
	$IN_NS "$BUILD/perf/kc-loadgen" --lcores=0@1 --no-huge -m 128 \
		--no-pci --file-prefix kc-itest-lg-$SLOT \
		--vdev net_af_packet0,iface=kcw$SLOT --log-level=lib.eal:error \
		-- --mac "$MAC" --ip $S --warmup 0.5 --duration 2 --quiet "$@" \
		>"$WORK/lg.json" 2>"$WORK/lg.err" || { cat "$WORK/lg.err"; return 1; }; python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["lost"] == 0 and r["ok"] > 0, r' "$WORK/lg.json"
}
EAL_PREFIXES+=(kc-itest-lg-$SLOT)
check "kc-loadgen over AF_PACKET: PING, 32 in flight" loadgen --window 32
check "kc-loadgen over AF_PACKET: PUBLISH at 2,000/s open loop" \
	loadgen --op publish --rate 2000
check "bad input of every class and 20,000 garbage datagrams" \
	$IN_NS "$ITEST" garbage $S kcw$SLOT 20000
check "still serving: ping" $IN_NS "$KCCTL" -s $S ping
check "nothing accepted before was lost" sh -c "$IN_NS '$KCCTL' -s $S --json fetch keep 0 | grep -q 'accepted before'"
check "the 10,000 are all still there" $IN_NS sh -c \
	"'$KCCTL' -s $S --json fetch load 9999 | grep -q '\"next_offset\": *10000'"
stop_appliance
check "clean shutdown (exit 0)" test "$STOP_STATUS" -eq 0
for c in drop_kcp_short drop_kcp_magic drop_kcp_version drop_kcp_length \
	drop_bad_auth drop_bad_client drop_bad_ip \
	drop_ip_checksum drop_ip_options op_unknown op_bad_request \
	kcp_error_replies; do
	check "counted: $c" counter_at_least $c 1
done
# What the kernel's AF_PACKET ring overflowed is counted by the port.
check "garbage counted as drops (by the appliance or the port)" sh -c \
	"echo drops $(counter drops) missed $(counter port_rx_missed); \
	 test \$(( $(counter drops) + $(counter port_rx_missed) )) -ge 20000"
finish
