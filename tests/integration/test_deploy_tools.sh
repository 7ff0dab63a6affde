#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# deploy/kc-bind, kc-unbind and kc-setup-host against a fake sysfs/procfs/etc
# tree this test builds: never against the host's devices (binding the
# wrong NIC would cut the machine off). The scripts write the files the
# kernel would read (driver_override, bind, unbind, drivers_probe,
# nr_hugepages, /etc files); the test checks what they wrote, plays the
# kernel's part (moves the driver link, mounts), and checks that a second
# run writes nothing.
#
# It starts no appliance and needs no root.
source "$(dirname "$0")/lib.sh"
BIND=$SRC/deploy/kc-bind
UNBIND=$SRC/deploy/kc-unbind
SETUP=$SRC/deploy/kc-setup-host
T=$WORK

# content FILE EXPECTED: the file holds exactly EXPECTED (one line).
content() { [ "$(cat "$1")" = "$2" ] || { echo "$1 holds '$(cat "$1")', expected '$2'"; return 1; }; }
# The kernel's files the scripts write to, emptied between steps.
reset_files() { find "$T/sys" -type f \( -name bind -o -name unbind -o -name drivers_probe \) -exec truncate -s 0 {} +; }
# What the kernel does on bind: the driver link moves.
kernel_binds() { ln -sfn "$S/bus/pci/drivers/$2" "$S/bus/pci/devices/$1/driver"; }

S=$T/sys
P=$T/proc
NIC=0000:3b:00.0
LOM=0000:00:1f.6
mkdir -p "$S/bus/pci/drivers/ixgbe" "$S/bus/pci/drivers/e1000e" \
	"$S/bus/pci/drivers/vfio-pci" "$S/class/iommu/dmar0" "$P/net" \
	"$T/run" "$T/etc"
for d in ixgbe e1000e vfio-pci; do
	touch "$S/bus/pci/drivers/$d/bind" "$S/bus/pci/drivers/$d/unbind"
done
touch "$S/bus/pci/drivers_probe"
for dev in $NIC $LOM; do
	mkdir -p "$S/bus/pci/devices/$dev/net"
	: >"$S/bus/pci/devices/$dev/driver_override"
done
mkdir "$S/bus/pci/devices/$NIC/net/enp59s0f0" "$S/bus/pci/devices/$LOM/net/eno1"
kernel_binds $NIC ixgbe
kernel_binds $LOM e1000e
# eno1 (the LOM) carries the default route, as on most servers.
cat >"$P/net/route" <<'EOF'
Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eno1	00000000	0101A8C0	0003	0	0	100	00000000	0	0	0
eno1	0001A8C0	00000000	0001	0	0	100	00FFFFFF	0	0	0
EOF
export SYSFS_ROOT=$S PROC_ROOT=$P KC_RUN_DIR=$T/run ETC_ROOT=$T/etc

# --- kc-bind ---
"$BIND" $NIC >"$T/out" 2>&1
check "kc-bind exits 0" test $? -eq 0
check "kc-bind sets driver_override to vfio-pci" content "$S/bus/pci/devices/$NIC/driver_override" vfio-pci
check "kc-bind unbinds it from ixgbe" content "$S/bus/pci/drivers/ixgbe/unbind" $NIC
check "kc-bind binds it to vfio-pci" content "$S/bus/pci/drivers/vfio-pci/bind" $NIC
check "kc-bind remembers ixgbe in /run/kingcobra/bound" content "$T/run/bound/$NIC" ixgbe
check "kc-bind says what it did" grep -qx "kc-bind: $NIC: ixgbe -> vfio-pci (was interface enp59s0f0); kc-unbind $NIC gives it back" "$T/out"

kernel_binds $NIC vfio-pci
reset_files
"$BIND" 3b:00.0 >"$T/out" 2>&1
check "kc-bind again (short address): exit 0" test $? -eq 0
check "kc-bind again: says nothing to do" grep -qx "kc-bind: $NIC is already bound to vfio-pci: nothing to do" "$T/out"
check "kc-bind again: writes nothing" sh -c "empty() { [ ! -s \"\$1\" ]; }; empty '$S/bus/pci/drivers/vfio-pci/bind' && empty '$S/bus/pci/drivers/ixgbe/unbind' && [ \"\$(cat '$S/bus/pci/devices/$NIC/driver_override')\" = vfio-pci ] && [ \"\$(cat '$T/run/bound/$NIC')\" = ixgbe ]"

# A Mellanox NIC stays on mlx5_core (DPDK's mlx5 driver works through it).
MLX=0000:5e:00.0
mkdir -p "$S/bus/pci/drivers/mlx5_core" "$S/bus/pci/devices/$MLX/net/ens1f0np0"
touch "$S/bus/pci/drivers/mlx5_core/unbind"
: >"$S/bus/pci/devices/$MLX/driver_override"
kernel_binds $MLX mlx5_core
reset_files
"$BIND" $MLX >"$T/out" 2>&1
check "kc-bind of an mlx5 NIC: exit 0, nothing to do" sh -c "test $? -eq 0 && grep -qx 'kc-bind: $MLX is a Mellanox NIC on mlx5_core, which DPDK.s driver uses as it is: nothing to do (it stays the kernel.s too)' '$T/out'"
check "kc-bind of an mlx5 NIC: writes nothing" sh -c "[ ! -s '$S/bus/pci/drivers/mlx5_core/unbind' ] && [ ! -s '$S/bus/pci/devices/$MLX/driver_override' ] && [ ! -e '$T/run/bound/$MLX' ]"

# --- kc-unbind ---
"$UNBIND" $NIC >"$T/out" 2>&1
check "kc-unbind exits 0" test $? -eq 0
check "kc-unbind unbinds it from vfio-pci" content "$S/bus/pci/drivers/vfio-pci/unbind" $NIC
check "kc-unbind clears driver_override" content "$S/bus/pci/devices/$NIC/driver_override" ""
check "kc-unbind binds it back to ixgbe" content "$S/bus/pci/drivers/ixgbe/bind" $NIC
check "kc-unbind forgets the record" test ! -e "$T/run/bound/$NIC"
check "kc-unbind says what it did" grep -qx "kc-unbind: $NIC: vfio-pci -> ixgbe" "$T/out"

kernel_binds $NIC ixgbe
reset_files
"$UNBIND" $NIC >"$T/out" 2>&1
check "kc-unbind again: exit 0" test $? -eq 0
check "kc-unbind again: says nothing to do" grep -qx "kc-unbind: $NIC is bound to ixgbe, not to a DPDK driver: nothing to do" "$T/out"
check "kc-unbind again: writes nothing" sh -c "[ ! -s '$S/bus/pci/drivers/vfio-pci/unbind' ] && [ ! -s '$S/bus/pci/drivers/ixgbe/bind' ] && [ ! -s '$S/bus/pci/drivers_probe' ]"

# Without a record (bound by hand, or /run cleared by a reboot): the kernel
# chooses through drivers_probe.
kernel_binds $NIC vfio-pci
"$UNBIND" $NIC >"$T/out" 2>&1
check "kc-unbind without a record: drivers_probe" sh -c "test $? -eq 0 && [ \"\$(cat '$S/bus/pci/drivers_probe')\" = $NIC ]"
kernel_binds $NIC ixgbe
reset_files

# --- refusals ---
"$BIND" $LOM >"$T/out" 2>&1
rc=$?
check "kc-bind refuses the default route's NIC: exit 1" test $rc -eq 1
check "kc-bind says why and how to force" grep -qx "kc-bind: $LOM is interface eno1, which carries the host's default route: taking it would cut the host off the network (use --force to take it anyway, from a console)" "$T/out"
check "the refused NIC was not touched" sh -c "[ ! -s '$S/bus/pci/devices/$LOM/driver_override' ] && [ ! -s '$S/bus/pci/drivers/e1000e/unbind' ] && [ ! -e '$T/run/bound/$LOM' ]"
"$BIND" --force $LOM >"$T/out" 2>&1
check "kc-bind --force takes it" sh -c "test $? -eq 0 && [ \"\$(cat '$S/bus/pci/drivers/e1000e/unbind')\" = $LOM ] && [ \"\$(cat '$S/bus/pci/devices/$LOM/driver_override')\" = vfio-pci ]"
# A virtio NIC (a VM's) has its interface under its virtio device, not in
# net/ of the PCI function; it is refused all the same.
VNIC=0000:00:03.0
mkdir -p "$S/bus/pci/devices/$VNIC/virtio0/net/ens3" \
	"$S/bus/pci/drivers/virtio-pci"
: >"$S/bus/pci/devices/$VNIC/driver_override"
kernel_binds $VNIC virtio-pci
printf 'ens3\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n' >>"$P/net/route"
"$BIND" $VNIC >"$T/out" 2>&1
rc=$?
check "kc-bind refuses a virtio NIC that carries the default route" sh -c "test $rc -eq 1 && grep -q '$VNIC is interface ens3, which carries' '$T/out' && [ ! -s '$S/bus/pci/devices/$VNIC/driver_override' ]"
"$BIND" 0000:af:00.0 >"$T/out" 2>&1
check "kc-bind: a missing device, exit 1 naming it" sh -c "test $? -eq 1 && grep -q 'no PCI device 0000:af:00.0' '$T/out'"
"$BIND" 3b:00 >"$T/out" 2>&1
check "kc-bind: a malformed address, exit 2" sh -c "test $? -eq 2 && grep -q \"not a PCI address: '3b:00'\" '$T/out'"
rmdir "$S/class/iommu/dmar0"
reset_files
"$BIND" $NIC >"$T/out" 2>&1
check "kc-bind: no IOMMU, vfio-pci refused with the fallback named" sh -c "test $? -eq 1 && grep -q 'kc-bind --driver uio_pci_generic $NIC' '$T/out' && [ ! -s '$S/bus/pci/drivers/vfio-pci/bind' ]"
mkdir "$S/class/iommu/dmar0"

# --- kc-setup-host ---
H=$S/kernel/mm/hugepages/hugepages-2048kB
mkdir -p "$H"
echo 0 >"$H/nr_hugepages"
rmdir "$S/bus/pci/drivers/vfio-pci" 2>/dev/null ||
	rm -rf "$S/bus/pci/drivers/vfio-pci"
printf 'sysfs /sys sysfs rw 0 0\n' >"$P/mounts"
printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on iommu=pt\n' >"$P/cmdline"
printf 'UUID=1234 / ext4 defaults 0 1\n' >"$T/etc/fstab"
cp -a "$T/etc" "$T/etc.before"
"$SETUP" --dry-run --pages 512 >"$T/out" 2>&1
check "kc-setup-host --dry-run: exit 0" test $? -eq 0
check "--dry-run lists every change" diff -u - "$T/out" <<'EOF'
would: echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
would: write 'vm.nr_hugepages = 512' to /etc/sysctl.d/80-kingcobra.conf
would: mkdir -p /dev/hugepages && mount -t hugetlbfs -o defaults nodev /dev/hugepages (not run: SYSFS_ROOT is not /sys)
would: append 'nodev /dev/hugepages hugetlbfs defaults 0 0' to /etc/fstab
would: modprobe vfio-pci (not run: SYSFS_ROOT is not /sys)
would: write 'vfio-pci' to /etc/modules-load.d/kingcobra.conf
ok: IOMMU present
advice: keep the kernel off the data-path CPUs: add 'isolcpus=LIST nohz_full=LIST rcu_nocbs=LIST' to the kernel command line (LIST: the CPUs of the rx and worker lcores; --cpus LIST fills it in)
kc-setup-host: would make 6 change(s) (--dry-run)
EOF
check "--dry-run changes nothing" sh -c "content() { [ \"\$(cat \"\$1\")\" = \"\$2\" ]; }; content '$H/nr_hugepages' 0 && diff -r '$T/etc.before' '$T/etc'"

"$SETUP" --pages 512 --cpus 2-3 >"$T/out" 2>&1
check "kc-setup-host: exit 0" test $? -eq 0
check "kc-setup-host reserves the pages now" content "$H/nr_hugepages" 512
check "kc-setup-host keeps them at boot (sysctl.d)" grep -qx 'vm.nr_hugepages = 512' "$T/etc/sysctl.d/80-kingcobra.conf"
check "kc-setup-host adds hugetlbfs to fstab, keeping the rest" diff -u - "$T/etc/fstab" <<'EOF'
UUID=1234 / ext4 defaults 0 1
nodev /dev/hugepages hugetlbfs defaults 0 0
EOF
check "kc-setup-host loads vfio-pci at boot" grep -qx vfio-pci "$T/etc/modules-load.d/kingcobra.conf"
check "kc-setup-host fills in the isolcpus advice" grep -qx "advice: keep the kernel off the data-path CPUs: add 'isolcpus=2-3 nohz_full=2-3 rcu_nocbs=2-3' to the kernel command line" "$T/out"

# The kernel's part: the mount and the module.
printf 'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n' >>"$P/mounts"
mkdir -p "$S/bus/pci/drivers/vfio-pci"
rm -rf "$T/etc.before"
cp -a "$T/etc" "$T/etc.before"
"$SETUP" --pages 512 >"$T/out" 2>&1
check "kc-setup-host again: exit 0, nothing to do" sh -c "test $? -eq 0 && grep -qx 'kc-setup-host: nothing to do' '$T/out' && ! grep -q '^doing:' '$T/out'"
check "kc-setup-host again: /etc unchanged" diff -r "$T/etc.before" "$T/etc"
check "kc-setup-host again: pages unchanged" content "$H/nr_hugepages" 512
rm -rf "$T/etc.before"

# The systemd unit: well-formed, pointing at the binary (here the build's).
if command -v systemd-analyze >/dev/null; then
	sed "s#/usr/local/bin/kingcobra#$KINGCOBRA#" \
		"$SRC/deploy/kingcobra.service" >"$T/kingcobra.service"
	check "kingcobra.service passes systemd-analyze verify" \
		systemd-analyze verify "$T/kingcobra.service"
else
	log "systemd-analyze not installed: kingcobra.service not verified"
fi


# kc-keygen: a keys-file line for a client id the appliance accepts, and
# a usage error (2) for one it refuses (0, escrow's 4294967295, words).
check "kc-keygen 7 alice: CLIENT_ID, 64 hex digits, NAME" sh -c \
	"'$SRC/deploy/kc-keygen' 7 alice | grep -Eqx '7 [0-9a-f]{64} alice'"
for bad in 0 4294967295 4294967296 seven; do
	check "kc-keygen $bad: usage error" sh -c \
		"'$SRC/deploy/kc-keygen' $bad >/dev/null 2>&1; [ \$? = 2 ]"
done

finish
