# SPDX-License-Identifier: BSD-3-Clause
# Shared by the vm suite's guest scripts (busybox sh; tests/vm/vm-nic.sh puts
# it at /guest-lib.sh). The appliance runs on one emulated NIC, given to DPDK
# with deploy/kc-bind; the guest kernel is its client on the other NIC, and
# QEMU's hub joins the two. Every check prints "ok:" or "FAIL:"; vm_finish
# prints the final "VM-TEST: PASS" or "VM-TEST: FAIL" line the host looks for.

KC=/opt/kc/kingcobra
KCCTL=/opt/kc/kcctl
KC_BIND=/opt/kc/kc-bind
KC_UNBIND=/opt/kc/kc-unbind
KC_SETUP_HOST=/opt/kc/kc-setup-host
TEMPLATE=/etc/kc/appliance.yaml
APP_IP=10.88.0.2	# the appliance, on the NIC DPDK drives
CLIENT_IP=10.88.0.1	# the guest kernel, on the other NIC
# Emulated NICs by PCI vendor:device (as lspci -n shows them): QEMU's
# virtio-net-pci with disable-legacy=on (a modern-only virtio device) and
# its e1000 (an 82540EM).
VIRTIO_ID=1af4:1041
E1000_ID=8086:100e
CHECKS=0
FAILS=0
KC_PID=""
KC_LOG=""

log() { echo "vm-test: $*"; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok: $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL: $*"; }

# check DESCRIPTION COMMAND...: the command's status decides; its output is
# shown only when it failed.
check() {
	d=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		ok "$d"
	else
		fail "$d"
		sed 's/^/    /' /tmp/check.out
	fi
}

# wait_for SECONDS COMMAND...: poll every 0.2 s until the command succeeds.
wait_for() {
	n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# The last line: the host greps it. Exits the script.
vm_finish() {
	if [ "$FAILS" -eq 0 ]; then
		echo "VM-TEST: PASS ($CHECKS checks)"
		exit 0
	fi
	echo "VM-TEST: FAIL ($FAILS of $CHECKS checks failed)"
	exit 1
}

# A check the rest depends on failed: say so and stop here.
vm_abort() {
	fail "$*"
	echo "VM-TEST: FAIL (stopped: $*)"
	exit 1
}

# ---- PCI devices ----------------------------------------------------------

# pci_addr VENDOR:DEVICE: the first PCI function with these ids (from
# sysfs, so the test does not depend on the slots QEMU picked).
pci_addr() {
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = "0x${1%:*}" ] &&
		   [ "$(cat "$d/device")" = "0x${1#*:}" ]; then
			basename "$d"
			return 0
		fi
	done
	return 1
}

# pci_driver ADDR: the driver bound to it, "" for none.
pci_driver() {
	l=/sys/bus/pci/devices/$1/driver
	if [ -L "$l" ]; then basename "$(readlink "$l")"; fi
}

# pci_iface ADDR: its kernel interface. A virtio NIC's interface hangs off
# the virtio device under the PCI function (ADDR/virtio0/net/eth0).
pci_iface() {
	for n in /sys/bus/pci/devices/"$1"/net/* \
		 /sys/bus/pci/devices/"$1"/virtio*/net/*; do
		if [ -e "$n" ]; then
			basename "$n"
			return 0
		fi
	done
	return 1
}

# find_nics: VIRTIO and E1000, the two NICs' PCI addresses (the test stops
# if either is missing), logged with their drivers and interfaces.
find_nics() {
	log "kernel $(uname -r); $(cat /proc/cmdline)"
	VIRTIO=$(pci_addr "$VIRTIO_ID") ||
		vm_abort "a virtio-net-pci function ($VIRTIO_ID) in sysfs"
	E1000=$(pci_addr "$E1000_ID") ||
		vm_abort "an e1000 function ($E1000_ID) in sysfs"
	log "virtio-net $VIRTIO ($(pci_driver "$VIRTIO"), $(pci_iface "$VIRTIO")), e1000 $E1000 ($(pci_driver "$E1000"), $(pci_iface "$E1000"))"
}

# give_back NAME ADDR DRIVER: kc-unbind returns the NIC to its kernel
# driver, and its interface comes back.
give_back() {
	check "$1: kc-unbind $2" "$KC_UNBIND" "$2"
	check "$1: $2 is bound to $3 again" test "$(pci_driver "$2")" = "$3"
	check "$1: its interface is back" wait_for 10 pci_iface "$2"
}

# ---- host preparation -----------------------------------------------------

# Hugepages and hugetlbfs, the way an operator does it.
prepare_host() {
	check "kc-setup-host reserves $1 hugepages and mounts hugetlbfs" \
		"$KC_SETUP_HOST" --pages "$1"
	check "hugetlbfs is mounted" \
		sh -c 'awk "\$3 == \"hugetlbfs\"" /proc/mounts | grep -q .'
}

hugepages_free() {
	cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages
}
hugepages_total() {
	cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
}

# client_up IFACE: the guest kernel's side, with its address and nothing
# else on that subnet.
client_up() {
	ip -4 addr flush dev "$1"
	ip addr add "$CLIENT_IP/24" dev "$1"
	ip link set "$1" up
}
client_down() {
	ip -4 addr flush dev "$1"
	ip link set "$1" down
}

# ---- the appliance --------------------------------------------------------

# config_for ADDR NAME: the appliance's config on that NIC, beside dev.keys.
config_for() {
	sed "s/@PCI@/$1/" "$TEMPLATE" >"/etc/kc/$2.yaml"
	echo "/etc/kc/$2.yaml"
}

# start_appliance CONFIG NAME: in the background, on journal /tmp/journal
# (kept across runs, so a restart recovers it); waits for "kingcobra ready".
# EAL init of a PCI device under TCG takes seconds: allow 180 s.
appliance_up() {
	grep -q '^kingcobra ready' "$KC_LOG" && return 0
	kill -0 "$KC_PID" 2>/dev/null || return 0 # gave up: stop waiting
	return 1
}
start_appliance() {
	KC_LOG=/tmp/$2.log
	mkdir -p /tmp/journal
	T0=$(date +%s)
	: >"$KC_LOG" # not the last run's "ready" (the child truncates late)
	"$KC" --config "$1" --journal-dir /tmp/journal >"$KC_LOG" 2>&1 &
	KC_PID=$!
	wait_for 180 appliance_up
	sed 's/^/    /' "$KC_LOG"
	grep -q '^kingcobra ready' "$KC_LOG" || return 1
	log "$2: appliance ready in $(($(date +%s) - T0)) s"
}

# stop_appliance: SIGTERM, wait up to 60 s (then SIGKILL); STOP_STATUS is
# its exit status. The final counters stay in $KC_LOG.
stop_appliance() {
	STOP_STATUS=""
	[ -n "$KC_PID" ] || return 0
	kill -TERM "$KC_PID" 2>/dev/null
	if ! wait_for 60 sh -c "! kill -0 $KC_PID 2>/dev/null"; then
		log "the appliance did not stop on SIGTERM: killing it"
		kill -KILL "$KC_PID"
	fi
	wait "$KC_PID"
	STOP_STATUS=$?
	KC_PID=""
	sed -n '/^kingcobra stopped/,$p' "$KC_LOG" | sed 's/^/    /'
}

# counter NAME: from the final summary of the last stopped run; 0 if the
# summary leaves it out (it lists only counters that are not zero).
counter() {
	awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' "$KC_LOG"
}

# expect_counter DESCRIPTION NAME OP VALUE (OP: -eq -ge ...)
expect_counter() {
	v=$(counter "$2")
	if [ "$v" "$3" "$4" ]; then
		ok "$1 ($2=$v)"
	else
		fail "$1: $2=$v, wanted $3 $4"
	fi
}

# ---- what every run of the appliance must do ------------------------------

# serve_checks NAME: a kernel client on the other NIC gets answers: ARP (the
# kernel resolves the appliance's MAC), ICMP echo, and signed KCP requests
# through kcctl over the kernel's UDP socket.
serve_checks() {
	# Forget the appliance's MAC from a run before (a restart keeps the
	# NIC's MAC), so that this run must answer ARP itself.
	ip neigh flush all >/dev/null
	check "$1: ICMP echo answered (ping $APP_IP)" \
		ping -c 3 -W 5 "$APP_IP"
	# More frames than the port's 256 RX and TX descriptors, near the MTU,
	# back to back: the PMD refills and reuses its rings.
	check "$1: 600 echo requests of 1400 bytes back to back, none lost" \
		sh -c "ping -A -q -c 600 -s 1400 -w 120 $APP_IP | grep -q ' 600 packets received, 0% packet loss'"
	check "$1: kcctl ping answered" \
		sh -c "'$KCCTL' -s $APP_IP --timeout 3000 ping '$1' | grep -q 'echo=$1'"
	check "$1: kcctl publish answered" \
		sh -c "'$KCCTL' -s $APP_IP --timeout 3000 publish '$1' 'via-$1' | grep -q '^OK offset=0'"
	check "$1: kcctl fetch returns it" \
		sh -c "'$KCCTL' -s $APP_IP --timeout 3000 fetch '$1' 0 | grep -q '^0 via-$1\$'"
}

# counter_checks NAME MIN_REQUESTS: after stop_appliance, the appliance
# counted what serve_checks sent, and dropped nothing for lack of room.
counter_checks() {
	check "$1: clean shutdown (exit 0)" test "$STOP_STATUS" = 0
	check "$1: hugepage files released at exit" \
		grep -q 'kingcobra: [1-9][0-9]* hugepage file(s) released' "$KC_LOG"
	expect_counter "$1: ARP requests answered" arp_replies -ge 1
	expect_counter "$1: ICMP echo requests answered" icmp_echo_replies -ge 603
	expect_counter "$1: KCP requests counted" kcp_requests -ge "$2"
	expect_counter "$1: every KCP request answered" kcp_replies -eq \
		"$(counter kcp_requests)"
	expect_counter "$1: no error replies" kcp_error_replies -eq 0
	expect_counter "$1: no request lost to a full ring" drop_ring_full -eq 0
	expect_counter "$1: no frame lost to a full TX queue" drop_tx_full -eq 0
	expect_counter "$1: frames sent by the PMD" tx_packets -ge "$2"
}
