#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vm-noiommu, inside the guest (/test.sh; tests/vm/vm-nic.sh builds the VM):
# a pc machine without an IOMMU, one virtio-net-pci and one e1000 on one
# QEMU hub. vfio-pci cannot work here: the preflight and kc-bind say so and
# point at uio_pci_generic, the documented fallback, on which the appliance
# runs on the e1000 with the guest kernel as its client on virtio-net.
. /guest-lib.sh

find_nics
check "no IOMMU (/sys/class/iommu is empty)" \
	test -z "$(ls /sys/class/iommu 2>/dev/null)"
prepare_host 256

# The preflight of a config that wants vfio-pci: the kernel command line
# asks for the IOMMU (intel_iommu=on), the machine has none.
CFG=$(config_for "$E1000" uio)
"$KC" --check --config "$CFG" >/tmp/vfio.check 2>&1
rc=$?
sed 's/^/    /' /tmp/vfio.check
check "kingcobra --check fails (exit 1)" test "$rc" = 1
check "with its IOMMU line and fix" grep -qxF "kingcobra: preflight: failure: iommu: none (/sys/class/iommu is empty) although the kernel command line does not turn it off; fix: enable VT-d in the firmware setup (in a VM: give it a virtual IOMMU)" /tmp/vfio.check
check "and says which driver holds the NIC" grep -qxF "kingcobra: preflight: failure: pci $E1000 (port nic): bound to e1000, not vfio-pci; fix: deploy/kc-bind $E1000" /tmp/vfio.check
check "a start refuses too (exit 1) before the EAL" \
	sh -c "'$KC' --config '$CFG' --journal-dir /tmp/journal >/tmp/refused.log 2>&1; test \$? = 1 && grep -q 'preflight: 2 failure(s): not starting' /tmp/refused.log"
check "kc-bind refuses vfio-pci without an IOMMU" \
	sh -c "! '$KC_BIND' '$E1000' 2>/tmp/refused"
check "and names the fallback" grep -qF "kc-bind --driver uio_pci_generic $E1000" /tmp/refused
check "the NIC stays with e1000" test "$(pci_driver "$E1000")" = e1000

check "kc-bind --driver uio_pci_generic $E1000" \
	"$KC_BIND" --driver uio_pci_generic "$E1000"
check "$E1000 is bound to uio_pci_generic" \
	test "$(pci_driver "$E1000")" = uio_pci_generic
"$KC" --check --config "$CFG" >/tmp/uio.check 2>&1
rc=$?
sed 's/^/    /' /tmp/uio.check
check "kingcobra --check passes with uio (exit 0)" test "$rc" = 0
check "with the IOMMU line a warning now" grep -qxF "kingcobra: preflight: warning: iommu: none (/sys/class/iommu is empty) although the kernel command line does not turn it off (the pci ports are bound to uio, which runs without one, unprotected); fix: enable VT-d in the firmware setup (in a VM: give it a virtual IOMMU)" /tmp/uio.check
check "and a warning on uio's DMA" grep -qxF "kingcobra: preflight: warning: pci $E1000 (port nic): bound to uio_pci_generic, which gives the NIC's DMA the whole memory; fix: deploy/kc-bind $E1000 (vfio-pci, with an IOMMU)" /tmp/uio.check
check "and no failure" grep -Eqx "kingcobra: preflight: [0-9]+ ok, 2 warning\(s\), 0 failure\(s\)" /tmp/uio.check

client_up "$(pci_iface "$VIRTIO")"
start_appliance "$CFG" uio || vm_abort "uio: the appliance started on $E1000"
ok "uio: the appliance started on $E1000"
check "uio: the port runs on net_e1000_em with its link up" \
	grep -Eq "^  port nic: $E1000 \(net_e1000_em, port 0, .* ip $APP_IP/24 link up" "$KC_LOG"
serve_checks uio
stop_appliance
counter_checks uio 3
client_down "$(pci_iface "$VIRTIO")"
give_back uio "$E1000" e1000
vm_finish
