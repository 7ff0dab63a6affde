#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# kmod suite: boot Debian's kernel under QEMU (TCG) with a busybox initramfs
# holding the appliance, kcctl, kingcobra.ko and guest-test.sh; the guest
# runs the real appliance on a TAP port and drives the gateway with nc.
# Passes if the serial log ends the test with "KMOD-TEST: PASS".
. "$(dirname "$0")/common.sh"
vm_require_tools kmod

# The module: built by kmod-build; built here if this test runs alone;
# or KC_KMOD_KO, one built elsewhere (by DKMS: tests/ecosystem's packages).
KO=${KC_KMOD_KO:-$KMOD_OUT/obj/kingcobra.ko}
if [ -z "${KC_KMOD_KO:-}" ] && { [ ! -f "$KO" ] ||
	[ -n "$(find "$SRC/kmod" "$SRC/lib/proto" -newer "$KO" \
	\( -name '*.[ch]' -o -name Kbuild \) -print -quit)" ]; }; then
	"$SRC/kmod/tests/build.sh" >/dev/null || exit 1
fi
KINGCOBRA=$BUILD/app/kingcobra/kingcobra
KCCTL=$BUILD/app/kcctl/kcctl
PMDS=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0

ROOT=$KMOD_OUT/vmroot
INITRD=$KMOD_OUT/initrd.gz
LOG=$KMOD_OUT/serial.log
vm_root_begin "$ROOT"
vm_add_appliance "$ROOT" "$KINGCOBRA" "$KCCTL"
# EAL loads every driver in its plugin directory: only the ones the TAP port
# needs (the vdev bus, the tap PMD, the ring mempool) go into the guest,
# under a name it takes: *.so or *.so.23.0, not *.so.23.
for p in librte_bus_vdev librte_net_tap librte_mempool_ring; do
	vm_add_bin "$ROOT" "$PMDS/$p.so"
done
vm_add_file "$ROOT" "$SRC/kmod/tests/vm-appliance.yaml" /etc/kc/kingcobra.yaml
vm_add_file "$ROOT" "$SRC/config/dev.keys" /etc/kc/dev.keys
vm_add_file "$ROOT" "$KO" /root/kingcobra.ko
vm_add_file "$ROOT" "$SRC/kmod/tests/guest-test.sh" /test.sh
vm_add_kmod "$ROOT" tun
vm_pack "$ROOT" "$INITRD"
echo "kmod: initramfs $(du -h "$INITRD" | cut -f1), kernel $VM_KREL"

START=$(date +%s)
vm_run "$INITRD" "$LOG" 420
RC=$?
END=$(date +%s)
# The guest's own lines (checks and appliance output), not the boot noise.
grep -E '^(ok:|FAIL:|kmod-test:|KMOD-TEST:|KC-VM:)|kingcobra' "$LOG" || true
echo "kmod: VM ran $((END - START)) s; serial log: $LOG"
if [ "$RC" != 0 ] || ! grep -q '^KMOD-TEST: PASS' "$LOG"; then
	echo "kmod: the VM test failed; the whole serial log:" >&2
	cat "$LOG" >&2
	exit 1
fi
echo "kmod: PASS"
