#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vm-flow, inside the guest (/test.sh; tests/vm/vm-nic.sh builds the VM):
# the exception path and its rte_flow steering on a TAP port, in a kernel
# that has what net_tap's flow support needs (the build host's may not).
# With steering, KCP, ARP and ICMP reach the data queue and everything else
# (TCP here) the exception queue, which goes to the kernel unread; without,
# the RX stage sorts the same traffic in software.
. /guest-lib.sh
APP_IP=10.89.0.2

# run STEER: start on flow.yaml with flow_steering STEER, serve KCP, ARP
# and ICMP, send TCP SYNs the kernel must get, stop.
run() {
	sed "s/@STEER@/$1/" /etc/kc/flow.yaml >/etc/kc/flow-$1.yaml
	start_appliance /etc/kc/flow-$1.yaml "steer-$1" ||
		vm_abort "steer-$1: the appliance started"
	ok "steer-$1: the appliance started"
	check "steer-$1: the exception TAP kcxe0 has the port's MAC" sh -c \
		"grep -qi \"mac \$(cat /sys/class/net/kcxe0/address) \" '$KC_LOG'"
	check "steer-$1: ICMP echo answered" ping -c 3 -W 5 "$APP_IP"
	check "steer-$1: kcctl ping answered" \
		sh -c "'$KCCTL' -s $APP_IP --timeout 3000 ping flow | grep -q 'echo=flow'"
	check "steer-$1: kcctl publish answered" \
		sh -c "'$KCCTL' -s $APP_IP --timeout 3000 publish f$1 x | grep -q '^OK offset=0'"
	# TCP to the appliance's address: not its to serve. The guest kernel
	# does not own the address on kcxe0, so it drops them; the appliance
	# counts what it handed over.
	for i in 1 2 3; do
		timeout 3 nc -w 1 "$APP_IP" 22 </dev/null >/dev/null 2>&1
	done
	stop_appliance
	check "steer-$1: clean shutdown (exit 0)" test "$STOP_STATUS" = 0
	expect_counter "steer-$1: ICMP echo requests answered" \
		icmp_echo_replies -ge 3
	expect_counter "steer-$1: KCP requests counted" kcp_requests -ge 2
	expect_counter "steer-$1: every KCP request answered" kcp_replies -eq \
		"$(counter kcp_requests)"
	expect_counter "steer-$1: TCP handed to the kernel" \
		exception_to_kernel -ge 3
	expect_counter "steer-$1: TCP not dropped" drop_ip_proto -eq 0
	expect_counter "steer-$1: nothing dropped" drops -eq 0
}

log "kernel $(uname -r)"
run true
check "steer-true: the NIC took the rules" grep -qF "exception path to the kernel on kcxe0, flow steering on: KCP, ARP, ICMP to 1 data queue(s), the rest to queue 1" "$KC_LOG"
check "steer-true: a spare RX queue for the exception path" \
	grep -q "^    1 rx / 1 tx queue(s) and rx queue 1 for the exception path," "$KC_LOG"
# The TCP attempts at least; ARP other than a request for the appliance
# (steered to queue 0 with the rest of ARP) and frames that came before
# the rules were in are sorted in software, so not all need be steered.
expect_counter "steer-true: the TCP came on the exception queue" \
	exception_steered -ge 3
run false
check "steer-false: steering off, as configured" grep -qF "exception path to the kernel on kcxe0, flow steering off: flow_steering: false" "$KC_LOG"
expect_counter "steer-false: sorted in software" exception_steered -eq 0
vm_finish
