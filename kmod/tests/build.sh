#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# kmod suite: build kingcobra.ko from scratch against Debian's
# linux-headers-amd64 with W=1, sparse (C=1) and every warning an error.
# Kbuild writes its objects next to the sources, so it builds a copy of
# kmod/ in build/kmod/obj and leaves the source tree clean.
. "$(dirname "$0")/common.sh"
vm_find_kernel || kmod_missing "no Debian kernel headers"
command -v sparse >/dev/null || kmod_missing "sparse is not installed"

OBJ=$KMOD_OUT/obj
rm -rf "$OBJ"
mkdir -p "$OBJ"
cp -r "$SRC"/kmod/Kbuild "$SRC"/kmod/Makefile "$SRC"/kmod/kc_*.c \
	"$SRC"/kmod/kc_*.h "$SRC"/kmod/compat "$OBJ"/
echo "kmod: building against $VM_KDIR"
if ! make -C "$VM_KDIR" M="$OBJ" KC_PROTO_DIR="$SRC/lib/proto" \
	W=1 C=1 CF=-Wsparse-error KCFLAGS=-Werror modules \
	>"$OBJ/build.log" 2>&1; then
	cat "$OBJ/build.log"
	echo "kmod: build failed" >&2
	exit 1
fi
cat "$OBJ/build.log"
# -Werror and -Wsparse-error stop the build on a compiler or sparse
# warning; modpost's warnings do not, so look for any warning at all.
if grep -Ei 'warning|error' "$OBJ/build.log"; then
	echo "kmod: the build printed warnings" >&2
	exit 1
fi
modinfo "$OBJ/kingcobra.ko" | grep -E '^(vermagic|license|parm):'
echo "kmod: kingcobra.ko built clean (W=1, sparse, -Werror)"
