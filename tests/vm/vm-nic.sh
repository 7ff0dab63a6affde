#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vm suite: the hardware path on emulated NICs. Boots Debian's kernel under
# QEMU (TCG) with two NICs on one QEMU hub, a virtio-net-pci and an e1000,
# and a busybox initramfs holding the appliance, kcctl, the DPDK PMDs of
# those NICs, deploy/kc-bind and kc-setup-host; the guest script binds one
# NIC to DPDK, runs the appliance on it and drives it from the kernel on the
# other NIC (docs/operations.md, "Testing the hardware path in a VM").
#
#   vm-nic.sh iommu     q35 with an emulated Intel IOMMU: vfio-pci
#                       (guest-iommu.sh)
#   vm-nic.sh noiommu   pc, no IOMMU: the preflight refuses vfio-pci, and
#                       uio_pci_generic runs (guest-noiommu.sh)
#   vm-nic.sh flow      pc, no NIC: the exception path with and without
#                       rte_flow steering on a TAP port, in a kernel with
#                       the traffic-control modules net_tap's rte_flow
#                       needs (guest-flow.sh)
#
# Passes if the guest's serial log has "VM-TEST: PASS". Writes only under
# $KC_BUILD_DIR/tests/vm/MODE.
set -u
MODE=${1:-}
case $MODE in
iommu | noiommu | flow) ;;
*) echo "usage: vm-nic.sh iommu|noiommu|flow" >&2; exit 2 ;;
esac
BUILD=${KC_BUILD_DIR:?KC_BUILD_DIR must point at the meson build dir}
SRC=${KC_SOURCE_DIR:?KC_SOURCE_DIR must point at the source tree}
# shellcheck source=lib.sh
. "$SRC/tests/vm/lib.sh"
vm_require_tools "vm-$MODE"

KINGCOBRA=$BUILD/app/kingcobra/kingcobra
KCCTL=$BUILD/app/kcctl/kcctl
PMDS=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
OUT=$BUILD/tests/vm/$MODE
ROOT=$OUT/root
INITRD=$OUT/initrd.gz
LOG=$OUT/serial.log
mkdir -p "$OUT"

vm_root_begin "$ROOT"
vm_add_appliance "$ROOT" "$KINGCOBRA" "$KCCTL"
# The EAL loads every driver in its plugin directory: the PCI bus, the two
# NICs' PMDs and the ring mempool, nothing else (flow: the vdev bus and
# net_tap instead).
if [ "$MODE" = flow ]; then
	PLUGINS="librte_bus_vdev librte_net_tap librte_mempool_ring"
else
	PLUGINS="librte_bus_pci librte_net_virtio librte_net_e1000
		librte_mempool_ring"
fi
for p in $PLUGINS; do
	vm_add_bin "$ROOT" "$PMDS/$p.so"
done
for t in kc-bind kc-unbind kc-setup-host; do
	vm_add_file "$ROOT" "$SRC/deploy/$t" "/opt/kc/$t"
done
vm_add_file "$ROOT" "$SRC/tests/vm/appliance.yaml" /etc/kc/appliance.yaml
vm_add_file "$ROOT" "$SRC/tests/vm/flow.yaml" /etc/kc/flow.yaml
vm_add_file "$ROOT" "$SRC/config/dev.keys" /etc/kc/dev.keys
vm_add_file "$ROOT" "$SRC/tests/vm/guest-lib.sh" /guest-lib.sh
vm_add_file "$ROOT" "$SRC/tests/vm/guest-$MODE.sh" /test.sh
# Loaded at boot in this order. virtio_pci and e1000 give the kernel both
# NICs. vfio_iommu_type1, vfio's IOMMU backend, is named although
# modprobe --show-depends lists it with vfio: it is only vfio's soft
# dependency, which modprobe follows and insmod does not.
if [ "$MODE" = flow ]; then
	# TAP, and what net_tap's rte_flow builds on: a multiq root qdisc, an
	# ingress qdisc, flower filters with skbedit (queue), gact and mirred.
	vm_add_kmod "$ROOT" tun sch_multiq sch_ingress cls_flower act_skbedit \
		act_gact act_mirred
else
	vm_add_kmod "$ROOT" virtio_pci virtio_net e1000 vfio vfio_iommu_type1 \
		vfio-pci
fi
[ "$MODE" = noiommu ] && vm_add_kmod "$ROOT" uio_pci_generic
vm_pack "$ROOT" "$INITRD"
echo "vm-$MODE: initramfs $(du -h "$INITRD" | cut -f1), kernel $VM_KREL"

# Both NICs on hub 0: what one sends, the other receives. virtio-net needs
# disable-legacy=on,iommu_platform=on behind the IOMMU (else the virtio PMD
# hangs configuring the port); the same device is used without one.
# shellcheck disable=SC2054 # the commas are QEMU's
NICS=(-netdev hubport,id=n0,hubid=0 -netdev hubport,id=n1,hubid=0
	-device virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on
	-device e1000,netdev=n1)
if [ "$MODE" = flow ]; then
	NICS=()
	MACHINE=(-machine pc)
elif [ "$MODE" = iommu ]; then
	# shellcheck disable=SC2054
	MACHINE=(-machine q35,kernel-irqchip=split
		-device intel-iommu,intremap=on,caching-mode=on)
else
	MACHINE=(-machine pc)
fi
# 1.5 GB: 512 MB of it become 256 hugepages. An Intel CPU, as the IOMMU is
# Intel's (the preflight names VT-d or AMD-Vi by the CPU's vendor). The
# same kernel command line in both modes: only the machine differs.
export VM_MEM_MB=1536 VM_CPU=max,vendor=GenuineIntel \
	VM_APPEND="intel_iommu=on iommu=pt"

START=$(date +%s)
vm_run "$INITRD" "$LOG" 420 "${MACHINE[@]}" "${NICS[@]}"
RC=$?
END=$(date +%s)
# The guest's own lines (checks, appliance output), not the boot noise.
grep -E '^(ok:|FAIL:|    |vm-test:|VM-TEST:|KC-VM:|kc-|kingcobra)' "$LOG" || true
echo "vm-$MODE: VM ran $((END - START)) s; serial log: $LOG"
if [ "$RC" != 0 ] || ! grep -q '^VM-TEST: PASS' "$LOG"; then
	echo "vm-$MODE: the VM test failed; the whole serial log:" >&2
	cat "$LOG" >&2
	exit 1
fi
echo "vm-$MODE: PASS"
