# SPDX-License-Identifier: BSD-3-Clause
# VM harness: boot Debian's stock kernel (linux-image-amd64) under
# qemu-system-x86_64 -accel tcg with a busybox initramfs built from host
# files, run one test script inside, and read its verdict from the serial
# log. Sourced (bash) by kmod/tests/vm-test.sh; meant for every test that
# needs a real kernel of its own (docs/kmod.md, "The VM harness").
#
#   vm_find_kernel                  sets VM_KREL, VM_KERNEL, VM_KDIR, VM_MODDIR
#   vm_require_tools NAME           vm_find_kernel, and QEMU, cpio and a
#                                   static busybox are there, or skip (77;
#                                   a failure in CI)
#   vm_root_begin DIR               busybox, /init and the directory skeleton
#   vm_add_bin DIR FILE...          files with every shared library they load
#   vm_add_file DIR SRC DST         one file (DST is a path inside the guest)
#   vm_add_appliance DIR KINGCOBRA KCCTL
#                                   both as /opt/kc/kingcobra and
#                                   /opt/kc/kcctl, with their libraries and
#                                   libgcc_s; the PMDs are the caller's
#   vm_add_kmod DIR MODULE...       modules of the booted kernel, with their
#                                   dependencies, loaded in order at boot
#   vm_pack DIR INITRD              the gzip'd newc cpio archive
#   vm_run INITRD LOG TIMEOUT_S [QEMU_ARG...]
#                                   boot; the guest runs /test.sh and powers
#                                   off; 0 if it printed "KC-VM: exit 0".
#                                   VM_MEM_MB (default 1024) is the guest's
#                                   RAM, VM_CPU its -cpu (default max),
#                                   VM_APPEND more kernel parameters,
#                                   QEMU_ARGs the machine and its devices
#
# The guest's /init mounts proc, sys, devtmpfs and tmpfs (/tmp, /run),
# brings lo up, loads the modules, runs /test.sh, prints "KC-VM: exit N"
# and powers off. Nothing is written outside DIR, INITRD and LOG.

set -u
VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Debian's 6.1 kernel: /boot/vmlinuz-R with /lib/modules/R and the headers
# /usr/src/linux-headers-R (linux-image-amd64, linux-headers-amd64). The
# newest such R, or KC_VM_KREL.
vm_find_kernel() {
	local r cand=""
	for r in $(cd /boot 2>/dev/null && ls vmlinuz-* 2>/dev/null |
		sed 's/^vmlinuz-//' | sort -V); do
		if [ -d "/lib/modules/$r/kernel" ] &&
		   [ -f "/usr/src/linux-headers-$r/Makefile" ]; then
			cand=$r
		fi
	done
	VM_KREL=${KC_VM_KREL:-$cand}
	if [ -z "$VM_KREL" ]; then
		echo "vm: no Debian kernel with modules and headers; install" \
		     "linux-image-amd64 and linux-headers-amd64" \
		     "(deploy/install-deps)" >&2
		return 1
	fi
	VM_KERNEL=/boot/vmlinuz-$VM_KREL
	VM_KDIR=/usr/src/linux-headers-$VM_KREL
	VM_MODDIR=/lib/modules/$VM_KREL
	if [ ! -r "$VM_KERNEL" ]; then
		echo "vm: cannot read $VM_KERNEL" >&2
		return 1
	fi
}

# Missing tools: a failure in CI (which installs them with
# deploy/install-deps), a skip (77) elsewhere.
vm_missing() {
	local name=$1
	shift
	echo "$name: $*" >&2
	if [ "${CI:-}" = true ]; then
		exit 1
	fi
	echo "$name: skipped (run deploy/install-deps as root)" >&2
	exit 77
}

vm_require_tools() {
	local name=$1
	vm_find_kernel || vm_missing "$name" "no Debian kernel (linux-image-amd64)"
	command -v qemu-system-x86_64 >/dev/null ||
		vm_missing "$name" "qemu-system-x86_64 is not installed (qemu-system-x86)"
	command -v cpio >/dev/null || vm_missing "$name" "cpio is not installed"
	[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
		vm_missing "$name" "/bin/busybox is not the static one (busybox-static)"
}

vm_root_begin() {
	local d=$1
	rm -rf "$d"
	mkdir -p "$d"/{bin,sbin,etc,proc,sys,dev,tmp,run,root} \
		"$d"/usr/{bin,sbin,lib} "$d"/var
	# /lib and /lib64 as on the host: links into /usr on Debian 12, so
	# that a library reached by two paths is one file (vm_copy_same).
	for x in lib lib64; do
		if [ -L "/$x" ]; then
			mkdir -p "$d/$(readlink "/$x")"
			ln -s "$(readlink "/$x")" "$d/$x"
		else
			mkdir -p "$d/$x"
		fi
	done
	mkdir -p "$d/lib/modules"
	cp /bin/busybox "$d/bin/busybox"
	ln -s busybox "$d/bin/sh"
	: >"$d/lib/modules/load.list"
	cp "$VM_LIB_DIR/init" "$d/init"
	chmod 755 "$d/init"
}

# Copy a file to the same path in the guest. Symbolic links on the way are
# made links in the guest too, and their targets copied, as on the host:
# the EAL dlopens a PMD by its name in the plugin directory while other
# PMDs need it by its soname in /lib, and the host's links make both one
# file. Two copies would be mapped twice, and DPDK panics when the second
# registers its bus or driver again ("UIO_RESOURCE_LIST tailq is already
# registered").
vm_copy_same() {
	local d=$1 f=$2 t n=0
	while [ -L "$f" ] && [ "$n" -lt 16 ]; do
		t=$(readlink "$f")
		mkdir -p "$d$(dirname "$f")"
		[ -L "$d$f" ] || ln -s "$t" "$d$f"
		case $t in
		/*) f=$t ;;
		*) f=$(dirname "$f")/$t ;;
		esac
		n=$((n + 1))
	done
	mkdir -p "$d$(dirname "$f")"
	cp "$f" "$d$f"
}

vm_add_bin() {
	local d=$1 f lib
	shift
	for f in "$@"; do
		vm_copy_same "$d" "$f"
		# "name => /path (addr)" and "/lib64/ld-linux... (addr)"
		for lib in $(ldd "$f" 2>/dev/null |
			awk '$2 == "=>" && $3 ~ /^\// { print $3 }
			     $1 ~ /^\// { print $1 }'); do
			[ -e "$d$lib" ] || vm_copy_same "$d" "$lib"
		done
	done
}

vm_add_file() {
	local d=$1 src=$2 dst=$3
	mkdir -p "$d$(dirname "$dst")"
	cp -L "$src" "$d$dst"
}

vm_add_appliance() {
	local d=$1 kc=$2 ctl=$3
	vm_add_bin "$d" "$kc" "$ctl"
	mkdir -p "$d/opt/kc"
	mv "$d$kc" "$d/opt/kc/kingcobra"
	mv "$d$ctl" "$d/opt/kc/kcctl"
	# libgcc_s is dlopened by glibc (pthread_cancel at exit), not linked.
	vm_add_bin "$d" /lib/x86_64-linux-gnu/libgcc_s.so.1
}

# modprobe --show-depends lists "insmod PATH" in load order, without loading
# anything. A .ko.xz is decompressed here: busybox insmod takes plain .ko.
vm_add_kmod() {
	local d=$1 m path dst
	shift
	for m in "$@"; do
		for path in $(modprobe -S "$VM_KREL" --show-depends "$m" |
			awk '$1 == "insmod" { print $2 }'); do
			dst=/lib/modules/$(basename "${path%.xz}")
			grep -qx "$dst" "$d/lib/modules/load.list" && continue
			case $path in
			*.xz) xz -dc "$path" >"$d$dst" ;;
			*) cp "$path" "$d$dst" ;;
			esac
			echo "$dst" >>"$d/lib/modules/load.list"
		done
	done
}

vm_pack() {
	local d=$1 out=$2
	(cd "$d" && find . -print0 | cpio --null -o -H newc --quiet) |
		gzip -1 >"$out"
}

# TCG, not KVM: KVM on the CI hosts cannot boot a stock kernel. -cpu max
# gives the guest SSE4.2 and the rest that DPDK's x86 build requires (under
# TCG its vendor is AuthenticAMD unless VM_CPU says vendor=GenuineIntel).
vm_run() {
	local initrd=$1 log=$2 t=$3 rc lock=/run/kc-tests-cpu.lock
	shift 3
	: >"$log"
	# A guest under TCG takes both CPUs: it takes turns with the
	# integration tests and benches of another test run on this host, as
	# they do (tests/integration/lib.sh), the lock held until it is off.
	# Without root: the root runs' lock if there is one (flock needs only
	# a descriptor open for reading), else one of this user's.
	if [ -w /run ] || [ ! -r "$lock" ]; then
		[ -w /run ] || lock=${TMPDIR:-/tmp}/kc-tests-cpu-$(id -u).lock
		exec 9>>"$lock"
	else
		exec 9<"$lock"
	fi
	flock 9
	timeout --kill-after=5 "$t" qemu-system-x86_64 -accel tcg \
		-cpu "${VM_CPU:-max}" -smp 2 -m "${VM_MEM_MB:-1024}" \
		-display none -monitor none -no-reboot -serial "file:$log" -net none "$@" \
		-kernel "$VM_KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 oops=panic panic_on_warn=1 loglevel=4 quiet${VM_APPEND:+ $VM_APPEND}"
	rc=$?
	exec 9>&-
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "vm: the guest did not finish within ${t}s" >&2
		return 1
	fi
	grep -q '^KC-VM: exit 0' "$log"
}
