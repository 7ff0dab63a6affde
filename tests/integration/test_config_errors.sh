#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A broken config makes kingcobra exit non-zero, naming file, line and
# column, before it touches any device.
. "$(dirname "$0")/lib.sh"

"$KINGCOBRA" --config "$CFG/broken.yaml" >"$WORK/out" 2>&1
rc=$?
check "exit status 2 on a config error" test $rc -eq 2
check "message names file:line:column and the key" \
	grep -q "broken.yaml:8:3: unknown key 'burts'" "$WORK/out"
check "no device was touched (no EAL start)" sh -c "! grep -q 'EAL' '$WORK/out'"
printf 'ports: [\n' >"$WORK/syntax.yaml"
"$KINGCOBRA" --config "$WORK/syntax.yaml" >"$WORK/out2" 2>&1
check "YAML syntax error: exit 2 with line:column" sh -c \
	"test $? -eq 2 && grep -q 'syntax.yaml:[0-9]*:[0-9]*:' '$WORK/out2'"
"$KINGCOBRA" --config "$WORK/missing.yaml" >"$WORK/out3" 2>&1
check "missing file: exit 2 naming it" sh -c \
	"test $? -eq 2 && grep -q 'missing.yaml' '$WORK/out3'"
check "--check-config accepts the default config" \
	"$KINGCOBRA" --check-config --config "$SRC/config/default.yaml"
check "--check-config accepts the embedded default" "$KINGCOBRA" --check-config
# A cluster section is checked, and refused until cluster mode is built
# (docs/cluster.md): a node that ran alone on it would lose what a
# cluster keeps.
{ sed "s#keys_file: .*#keys_file: $SRC/config/dev.keys#" "$SRC/config/default.yaml"
  printf 'cluster:\n  node_id: 1\n  nodes:\n    - id: 1\n      address: 10.1.0.1:7000\n'
} >"$WORK/cluster.yaml"
"$KINGCOBRA" --check-config --config "$WORK/cluster.yaml" >"$WORK/out5" 2>&1
check "a cluster section is refused: cluster mode is not built yet" sh -c \
	"test $? -eq 2 && grep -q 'cluster mode is not built yet' '$WORK/out5'"
sed 's/^  node_id: 1$/  node_id: 9/' "$WORK/cluster.yaml" >"$WORK/cluster-bad.yaml"
"$KINGCOBRA" --check-config --config "$WORK/cluster-bad.yaml" >"$WORK/out6" 2>&1
check "a bad cluster section names file, line and column" sh -c \
	"test $? -eq 2 && grep -q 'cluster-bad.yaml:[0-9]*:[0-9]*: cluster.node_id 9 is not one of' '$WORK/out6'"
sed 's/^production: false/production: true/' "$SRC/config/default.yaml" \
	>"$SRC/config/.kc-itest-prod-$$.yaml"
on_exit "rm -f '$SRC/config/.kc-itest-prod-$$.yaml'"
"$KINGCOBRA" --check-config --config "$SRC/config/.kc-itest-prod-$$.yaml" \
	>"$WORK/out4" 2>&1
check "production: true refuses the development key" sh -c \
	"test $? -eq 2 && grep -q 'development key' '$WORK/out4'"
# Secrets others can read (issue 23): a keys file of real keys (from
# kc-keygen) readable by others is refused with production: true and
# warned about without; kc-keygen warns when it appends to such a file.
"$SRC/deploy/kc-keygen" 7 ops >"$WORK/prod.keys" 2>"$WORK/keygen.err"
chmod 644 "$WORK/prod.keys"
"$SRC/deploy/kc-keygen" 8 ops2 >>"$WORK/prod.keys" 2>"$WORK/keygen.err"
check "kc-keygen warns when the keys file is readable by others" \
	grep -q "mode 644: others can read the key" "$WORK/keygen.err"
sed -e 's/^production: false/production: true/' \
	-e "s#keys_file: .*#keys_file: $WORK/prod.keys#" \
	"$SRC/config/default.yaml" >"$WORK/prod.yaml"
"$KINGCOBRA" --check-config --config "$WORK/prod.yaml" >"$WORK/out8" 2>&1
check "production: true refuses a keys file others can read" sh -c \
	"cat '$WORK/out8'; test $? -eq 2 && grep -q 'keys file $WORK/prod.keys is readable by group or others (mode 0644).*chmod 600 $WORK/prod.keys (refused with production: true)' '$WORK/out8'"
chmod 600 "$WORK/prod.keys"
check "... and takes it once it is 0600" \
	"$KINGCOBRA" --check-config --config "$WORK/prod.yaml"
chmod 640 "$WORK/prod.keys"
sed 's/^production: true/production: false/' "$WORK/prod.yaml" >"$WORK/dev.yaml"
"$KINGCOBRA" --check-config --config "$WORK/dev.yaml" >"$WORK/out9" 2>&1
check "production: false only warns about it" sh -c \
	"cat '$WORK/out9'; test $? -eq 0 && grep -q 'warning: keys file .* (mode 0640)' '$WORK/out9'"
(umask 077; "$SRC/deploy/kc-keygen" 9 >"$WORK/new.keys")
check "kc-keygen under umask 077 makes a 0600 keys file" \
	test "$(stat -c %a "$WORK/new.keys")" = 600

# Host preflight: the TAP config asks nothing of the host but its CPUs.
"$KINGCOBRA" --check --config "$CFG/tap.yaml" >"$WORK/out5" 2>&1
check "--check passes the TAP config: exit 0, no failure" sh -c \
	"test $? -eq 0 && grep -q 'preflight: 3 ok, 0 warning(s), 0 failure(s)' '$WORK/out5'"
# An lcore on a CPU no host has: the start stops before the EAL, exit 1.
sed 's/lcores: "0-1"/lcores: "0,1@1000"/' "$CFG/tap.yaml" \
	>"$CFG/.kc-itest-cpu-$$.yaml"
on_exit "rm -f '$CFG/.kc-itest-cpu-$$.yaml'"
"$KINGCOBRA" --config "$CFG/.kc-itest-cpu-$$.yaml" >"$WORK/out6" 2>&1
check "a preflight failure stops the start: exit 1 with the fix" sh -c \
	"test $? -eq 1 && grep -q 'preflight: failure: lcores: lcore 1 needs CPU 1000, .*; fix: give lcore 1 an online CPU in eal.lcores' '$WORK/out6'"
check "a preflight failure stops it before the EAL" sh -c \
	"! grep -q 'EAL' '$WORK/out6'"
"$KINGCOBRA" --check --config "$CFG/.kc-itest-cpu-$$.yaml" >"$WORK/out7" 2>&1
check "--check lists it and exits 1" sh -c \
	"test $? -eq 1 && grep -q 'preflight: 2 ok, 0 warning(s), 1 failure(s)' '$WORK/out7'"
finish
