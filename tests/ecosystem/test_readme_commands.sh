#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The README's two set-up commands work as written for root and for a user
# with sudo (issue 20): they are ./deploy/kc-quickstart and ./tests/run,
# with no sudo in front (root often has none); as a user, each runs itself
# again through sudo with the same arguments, and says what to do when
# there is no sudo. (As root, CI runs tests/run through .ci/run.) The
# user is nobody; sudo is a stand-in that records how it was called.
set -eu
SRC=${KC_SOURCE_DIR:?KC_SOURCE_DIR must point at the source tree}
[ "$(id -u)" = 0 ] || { echo "needs root (to become nobody)"; exit 77; }
D=$(mktemp -d /tmp/kc-readme.XXXXXX)
trap 'rm -rf "$D"' EXIT
chmod 755 "$D"
fails=0
ok() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; fails=$((fails + 1)); }

# The two commands, as the README's set-up section shows them.
cmds=$(sed -n '/^## Set-up on a fresh Debian 12 machine/,/^## /p' "$SRC/README.md" |
	sed -n 's/^    \(.*\)$/\1/p')
[ "$cmds" = "./deploy/kc-quickstart
./tests/run" ] && ok "README: ./deploy/kc-quickstart and ./tests/run, no sudo in front" ||
	fail "README's set-up commands are: $cmds"

mkdir "$D/bin" "$D/rec" "$D/nosudo"
chmod 777 "$D/rec"
cat >"$D/bin/sudo" <<EOS
#!/bin/sh
echo "\$*" >"$D/rec/sudo.args"
exit 0
EOS
chmod 755 "$D/bin/sudo"
# A PATH with what the prologue runs and no sudo.
ln -s "$(command -v id)" "$D/nosudo/id"
# The scripts, where nobody may read them (the checkout may not be).
mkdir -p "$D/tree/deploy" "$D/tree/tests"
cp "$SRC/deploy/kc-quickstart" "$D/tree/deploy/"
cp "$SRC/tests/run" "$D/tree/tests/"
chmod -R a+rX "$D/tree"
for script in deploy/kc-quickstart tests/run; do
	rm -f "$D/rec/sudo.args"
	if su -s /bin/sh nobody -c "cd '$D/tree' && PATH='$D/bin:/usr/bin:/bin' ./$script arg1 'arg 2'" \
		>"$D/out" 2>&1 && [ "$(cat "$D/rec/sudo.args" 2>/dev/null)" = "-- ./$script arg1 arg 2" ]; then
		ok "$script as a user: runs itself again through sudo, arguments kept"
	else
		fail "$script as a user: sudo called with '$(cat "$D/rec/sudo.args" 2>/dev/null)'"
		cat "$D/out"
	fi
	if su -s /bin/sh nobody -c "cd '$D/tree' && PATH='$D/nosudo' ./$script" \
		>"$D/out" 2>&1; then
		fail "$script as a user without sudo: it did not refuse"
	elif grep -q "needs root: run it as root, or install sudo" "$D/out"; then
		ok "$script as a user without sudo: says to run it as root"
	else
		fail "$script as a user without sudo: $(cat "$D/out")"
	fi
done
[ $fails = 0 ]
