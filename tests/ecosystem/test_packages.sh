#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The Debian packages (issue 20, debian/): dpkg-buildpackage builds
# kingcobra and kingcobra-dkms from a copy of the tree; lintian finds no
# error; dpkg installs both on this host; the installed files are where
# docs/operations.md says, the config a conffile that passes
# --check-config, the unit verified (started with systemctl where systemd
# runs), the installed appliance and kcctl answer each other; DKMS builds
# kingcobra.ko for Debian's kernel, which boots in the kmod VM test with
# that module; dpkg --purge leaves nothing of theirs but the journal.
# Skipped (77) when either package is already installed: the test would
# remove it.
. "$KC_SOURCE_DIR/tests/integration/lib.sh"
require_root
for p in kingcobra kingcobra-dkms; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		log "$p is installed on this host; not touching it"
		exit 77
	fi
done
B=$WORK/pkg
mkdir -p "$B/src" "$B/tmp"
# The tools' own temporary files (lintian's mldbm-elf-*, which it leaves
# behind) go with this run's directory, not /tmp.
export TMPDIR=$B/tmp
# The tree as it is (not a git archive: a test run sees what it tests).
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude='./obj-*' \
	--exclude='./debian/.debhelper' -cf - . | tar -C "$B/src" -xf -
check "dpkg-buildpackage builds kingcobra and kingcobra-dkms" sh -c \
	"cd '$B/src' && dpkg-buildpackage -us -uc -b >'$B/build.log' 2>&1 ||
	{ tail -40 '$B/build.log'; exit 1; }"
DEB=$(ls "$B"/kingcobra_*_amd64.deb)
DKMS_DEB=$(ls "$B"/kingcobra-dkms_*_all.deb)
VERSION=$(dpkg-deb -f "$DEB" Version)
UP=${VERSION%-*}
check "lintian: no errors" sh -c "lintian --fail-on error '$B'/kingcobra_*.changes \
	>'$B/lintian.log' 2>&1 || { cat '$B/lintian.log'; exit 1; }"
sed 's/^/    /' "$B/lintian.log"

on_exit "dpkg --purge kingcobra kingcobra-dkms >/dev/null 2>&1; rm -rf /var/lib/kingcobra"
check "dpkg -i installs both" sh -c "dpkg -i '$DEB' '$DKMS_DEB' >'$B/install.log' 2>&1 ||
	{ cat '$B/install.log'; exit 1; }"
check "installed: the binaries, the deploy tools, man pages" sh -c '
	for f in /usr/bin/kingcobra /usr/bin/kcctl /usr/bin/kcq /usr/bin/kc-loadgen \
		/usr/bin/kc-keygen /usr/sbin/kc-bind /usr/sbin/kc-unbind /usr/sbin/kc-setup-host; do
		[ -x $f ] || { echo "missing $f"; exit 1; }
	done
	for m in kingcobra kcctl kcq kc-loadgen kc-keygen kc-bind kc-unbind kc-setup-host; do
		man -w $m >/dev/null || { echo "no man page for $m"; exit 1; }
	done'
check "the config is a conffile, the journal's directory is there" sh -c "
	dpkg-query -W -f='\${Conffiles}' kingcobra | grep -q ' /etc/kingcobra/kingcobra.yaml ' &&
	dpkg-query -W -f='\${Conffiles}' kingcobra | grep -q ' /etc/kingcobra/dev.keys ' &&
	[ -d /var/lib/kingcobra ] && [ \$(stat -c %a /etc/kingcobra/dev.keys) = 600 ]"
check "the installed config and keys pass --check-config" \
	/usr/bin/kingcobra --check-config --config /etc/kingcobra/kingcobra.yaml
check "the Prometheus rules and the Wireshark dissector are installed" sh -c \
	"promtool check rules /usr/share/kingcobra/prometheus/kingcobra-rules.yml >/dev/null &&
	[ -f /usr/lib/x86_64-linux-gnu/wireshark/plugins/kcp.lua ] &&
	tshark -G protocols 2>/dev/null | grep -q '^KingCobra Protocol	KCP	kcp$'"
if [ "$(ps -p 1 -o comm=)" = systemd ]; then
	check "systemctl starts the appliance through its unit" sh -c \
		"systemctl daemon-reload && systemctl start kingcobra && sleep 3 &&
		systemctl is-active kingcobra && /usr/bin/kcctl -s 10.77.0.2 ping"
	systemctl stop kingcobra
else
	log "systemd is not PID 1 here: the unit is verified, not started"
	check "systemd-analyze verify kingcobra.service" \
		systemd-analyze verify /lib/systemd/system/kingcobra.service
fi
# The installed binaries against each other, on this run's TAP.
KINGCOBRA=/usr/bin/kingcobra
start_appliance "$CFG/tap.yaml" "$WORK/journal"
check "the installed kcctl and appliance: PING, PUBLISH, FETCH" sh -c \
	"/usr/bin/kcctl -s $NET.2 ping && /usr/bin/kcctl -s $NET.2 publish pkg hello &&
	/usr/bin/kcctl -s $NET.2 fetch pkg 0 | grep -q hello"
stop_appliance

# DKMS: the module for Debian's kernel (the one the VM boots), then that
# module in the kmod VM test.
# The kernel the VM test boots: the newest with modules and headers.
KV=""
for r in $(cd /boot 2>/dev/null && ls vmlinuz-* 2>/dev/null | sed 's/^vmlinuz-//' | sort -V); do
	[ -d "/lib/modules/$r/kernel" ] && [ -f "/usr/src/linux-headers-$r/Makefile" ] && KV=$r
done
check "dkms knows kingcobra/$UP" sh -c "dkms status kingcobra | grep -q 'kingcobra/$UP'"
check "dkms builds and installs kingcobra.ko for $KV" sh -c \
	"{ dkms build -m kingcobra -v $UP -k $KV && dkms install -m kingcobra -v $UP -k $KV; } \
	>'$B/dkms.log' 2>&1 || { tail -30 '$B/dkms.log'; exit 1; }"
KO=$(ls /lib/modules/"$KV"/updates/dkms/kingcobra.ko* 2>/dev/null | head -1)
case $KO in
*.xz) xz -dc "$KO" >"$B/kingcobra.ko" ;;
*) cp "$KO" "$B/kingcobra.ko" ;;
esac
check "the DKMS module is for $KV" sh -c \
	"modinfo -F vermagic '$B/kingcobra.ko' | grep -q '^$KV '"
# The VM test takes the CPU lock itself.
flock -u 8
check "Debian's kernel in the VM loads the DKMS module and the gateway works" sh -c \
	"KC_VM_KREL='$KV' KC_KMOD_KO='$B/kingcobra.ko' '$SRC/kmod/tests/vm-test.sh' >'$B/vm.log' 2>&1 ||
	{ tail -30 '$B/vm.log'; exit 1; }"
flock 8

# Purge: nothing of the packages stays but the journal.
mkdir -p /var/lib/kingcobra/journal/shard-00
echo kept >/var/lib/kingcobra/journal/shard-00/marker
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\.||' | grep -v '/$' >"$B/files"
dpkg-deb -c "$DKMS_DEB" | awk '{print $6}' | sed 's|^\.||' | grep -v '/$' >>"$B/files"
check "dpkg --purge removes both" sh -c "dpkg --purge kingcobra-dkms kingcobra \
	>'$B/purge.log' 2>&1 || { cat '$B/purge.log'; exit 1; }"
check "purged: no file of the packages left, no /etc/kingcobra, no module" sh -c "
	left=\$(while read -r f; do [ -e \"\$f\" ] && echo \"\$f\"; done <'$B/files');
	[ -z \"\$left\" ] || { echo \"left: \$left\"; exit 1; };
	[ ! -e /etc/kingcobra ] && [ ! -e /usr/src/kingcobra-$UP ] &&
	! ls /lib/modules/$KV/updates/dkms/kingcobra.ko* >/dev/null 2>&1 &&
	! dkms status kingcobra 2>/dev/null | grep -q kingcobra"
check "purged: the journal is kept" grep -qx kept /var/lib/kingcobra/journal/shard-00/marker
rm -rf /var/lib/kingcobra
finish
