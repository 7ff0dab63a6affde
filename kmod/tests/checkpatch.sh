#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# kmod suite: scripts/checkpatch.pl --strict over the module's sources.
# checkpatch is not in linux-headers-amd64; it comes from Debian's
# linux-source-6.1 tarball (with spelling.txt and const_structs.checkpatch,
# which it reads from its own directory), extracted once into build/kmod.
. "$(dirname "$0")/common.sh"
CP=$KMOD_OUT/checkpatch
if [ ! -x "$CP/checkpatch.pl" ]; then
	TARBALL=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
	[ -n "$TARBALL" ] || kmod_missing "no /usr/src/linux-source-*.tar.xz (linux-source-6.1)"
	TOP=$(basename "$TARBALL" .tar.xz)
	rm -rf "$CP.tmp"
	mkdir -p "$CP.tmp"
	tar -xJf "$TARBALL" -C "$CP.tmp" "$TOP/scripts/checkpatch.pl" \
		"$TOP/scripts/spelling.txt" "$TOP/scripts/const_structs.checkpatch"
	rm -rf "$CP"
	mv "$CP.tmp/$TOP/scripts" "$CP"
	rm -rf "$CP.tmp"
fi
cd "$SRC/kmod"
FILES=$(ls kc_*.c kc_*.h compat/*.h Kbuild Makefile)
echo "kmod: checkpatch --strict:" $FILES
# shellcheck disable=SC2086
OUT=$(perl "$CP/checkpatch.pl" --strict --no-tree --terse --show-types \
	--no-summary -f $FILES 2>&1)
if [ -n "$OUT" ]; then
	echo "$OUT"
	echo "kmod: checkpatch found problems" >&2
	exit 1
fi
echo "kmod: checkpatch --strict clean"
