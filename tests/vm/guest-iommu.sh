#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vm-iommu, inside the guest (/test.sh; tests/vm/vm-nic.sh builds the VM):
# q35 with an emulated Intel IOMMU, one virtio-net-pci and one e1000 on one
# QEMU hub. The appliance runs on each NIC in turn through vfio-pci, the
# guest kernel being its client on the other one; then a restart on the NIC
# that is still bound.
. /guest-lib.sh

find_nics
check "an IOMMU is present (/sys/class/iommu)" \
	test -n "$(ls /sys/class/iommu)"
check "the NICs are in IOMMU groups" \
	test -e "/sys/bus/pci/devices/$VIRTIO/iommu_group" -a \
	     -e "/sys/bus/pci/devices/$E1000/iommu_group"
# vfio-pci does not depend on vfio_iommu_type1 (vfio names it only as a
# soft dependency, which insmod ignores). Without it the EAL says "No
# supported IOMMU extensions found!" and cannot use the device.
check "vfio_iommu_type1 is loaded" test -d /sys/module/vfio_iommu_type1
prepare_host 256

# kc-bind refuses the interface that carries the default route, a virtio
# NIC's too (its interface hangs off virtio0, not the PCI function).
VIF=$(pci_iface "$VIRTIO")
client_up "$VIF"
ip route add default via 10.88.0.254 dev "$VIF"
check "kc-bind refuses the NIC that carries the default route" \
	sh -c "! '$KC_BIND' '$VIRTIO' 2>/tmp/refused"
check "and says why" grep -q "is interface $VIF, which carries the host's default route" /tmp/refused
check "and leaves it to its kernel driver" test "$(pci_driver "$VIRTIO")" = virtio-pci
client_down "$VIF"

# run_on NIC PEER PMD NAME: the appliance on NIC (bound to vfio-pci by
# kc-bind, checked by kingcobra --check), the kernel on PEER.
run_on() {
	nic=$1 peer=$2 pmd=$3 name=$4
	kdrv=$(pci_driver "$nic")
	check "$name: kc-bind $nic" "$KC_BIND" "$nic"
	check "$name: $nic is bound to vfio-pci (was $kdrv)" \
		test "$(pci_driver "$nic")" = vfio-pci
	check "$name: kc-bind again changes nothing" \
		sh -c "'$KC_BIND' '$nic' | grep -q 'already bound to vfio-pci: nothing to do'"
	cfg=$(config_for "$nic" "$name")
	"$KC" --check --config "$cfg" >"/tmp/$name.check" 2>&1
	rc=$?
	sed 's/^/    /' "/tmp/$name.check"
	check "$name: kingcobra --check passes (exit 0)" test "$rc" = 0
	for line in \
		"ok: iommu: present (/sys/class/iommu)" \
		"ok: vfio: vfio_iommu_type1 loaded (vfio's IOMMU backend)" \
		"ok: pci $nic (port nic): bound to vfio-pci" \
		"ok: hugetlbfs: mounted on /dev/hugepages"; do
		check "$name: preflight says '$line'" \
			grep -qxF "kingcobra: preflight: $line" "/tmp/$name.check"
	done
	check "$name: preflight says the IOMMU group is viable" \
		grep -Eqx "kingcobra: preflight: ok: pci $nic \(port nic\): IOMMU group [0-9]+ is viable" "/tmp/$name.check"
	check "$name: preflight finds 512 MB of hugepages free" \
		grep -Eqx "kingcobra: preflight: ok: hugepages: 512 MB free .* for eal.memory_mb 256" "/tmp/$name.check"
	check "$name: preflight: no warning, no failure" \
		grep -Eqx "kingcobra: preflight: [0-9]+ ok, 0 warning\(s\), 0 failure\(s\)" "/tmp/$name.check"

	client_up "$(pci_iface "$peer")"
	start_appliance "$cfg" "$name" || vm_abort "$name: the appliance started on $nic"
	ok "$name: the appliance started on $nic"
	check "$name: the port runs on $pmd with its link up" \
		grep -Eq "^  port nic: $nic \($pmd, port 0, .* ip $APP_IP/24 link up" "$KC_LOG"
	serve_checks "$name"
}

# 1. The appliance on virtio-net, the kernel client on e1000. QEMU offers
# virtio no checksum offload behind a hub (its peer takes no virtio-net
# header): the appliance sums in software here.
run_on "$VIRTIO" "$E1000" net_virtio virtio
stop_appliance
counter_checks virtio 3
client_down "$(pci_iface "$E1000")"
give_back virtio "$VIRTIO" virtio-pci

# 2. The appliance on e1000, the kernel client on virtio-net. The e1000
# does IPv4/UDP checksums: the kernel, which checks every sum it gets from
# virtio-net, accepted what the NIC filled in (the replies above).
run_on "$E1000" "$VIRTIO" net_e1000_em e1000
check "e1000: checksums are the NIC's, rx and tx" \
	grep -q 'checksums: rx NIC, tx NIC' "$KC_LOG"
stop_appliance
counter_checks e1000 3
check "e1000: every hugepage is free again" \
	test "$(hugepages_free)" = "$(hugepages_total)"

# 3. A restart at once, on the NIC still bound, on the same journal.
check "restart: $E1000 is still bound to vfio-pci" \
	test "$(pci_driver "$E1000")" = vfio-pci
start_appliance "$(config_for "$E1000" restart)" restart ||
	vm_abort "restart: the appliance started again on $E1000"
ok "restart: the appliance started again on $E1000"
check "restart: the journal was recovered" \
	grep -q 'journal shard 0 recovered' "$KC_LOG"
check "restart: what was published before is there" \
	sh -c "'$KCCTL' -s $APP_IP --timeout 3000 fetch e1000 0 | grep -q '^0 via-e1000\$'"
serve_checks restart
stop_appliance
counter_checks restart 4

client_down "$(pci_iface "$VIRTIO")"
give_back end "$E1000" e1000
vm_finish
