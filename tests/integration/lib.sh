# SPDX-License-Identifier: BSD-3-Clause
# Shared helpers of the integration tests (sourced, bash).
#
# Each test starts the real kingcobra binary, drives it with real kernel
# clients, and cleans up what it created (processes by PID, namespaces,
# interfaces) on every exit path through the EXIT trap.

set -u
BUILD=${KC_BUILD_DIR:?KC_BUILD_DIR must point at the meson build dir}
SRC=${KC_SOURCE_DIR:?KC_SOURCE_DIR must point at the source tree}
KINGCOBRA=$BUILD/app/kingcobra/kingcobra
KCCTL=$BUILD/app/kcctl/kcctl
ITEST=$BUILD/tests/integration/kc-itest
KCQ=$BUILD/app/kcq/kcq
WORK=$(mktemp -d /tmp/kc-itest.XXXXXX)
KC_PID=""
CHECKS=0
FAILED=0
CLEANUPS=()
EAL_PREFIXES=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# ---- this run's names --------------------------------------------------
# Two test runs on one host must not meet: each test takes a slot N (1..200,
# a directory made atomically under /run, freed on exit or when its owner
# is gone) and names everything it makes on the host after it: TAP kctN on
# 10.79.N.0/24, veths kcvN/kcwN (kcxN/kcyN, TAP kcxeN) on 10.78.N.0/24 and
# 10.79.N.0/24 in namespaces kc-itest-*-N, EAL prefixes kc-itest-*-N,
# admin ports 20000 + 10 N (+0..+9). configs/ is rewritten with them into
# $WORK/configs ($CFG), keys files made absolute paths.
SLOTS=/run/kc-itest-slots
[ -w /run ] || SLOTS=${TMPDIR:-/tmp}/kc-itest-slots-$(id -u)
take_slot() {
	local n pid
	mkdir -p "$SLOTS"
	for n in $(seq 1 200); do
		if ! mkdir "$SLOTS/$n" 2>/dev/null; then
			pid=$(cat "$SLOTS/$n/pid" 2>/dev/null) || continue
			kill -0 "$pid" 2>/dev/null && continue
			rm -rf "$SLOTS/$n"
			mkdir "$SLOTS/$n" 2>/dev/null || continue
		fi
		echo $$ >"$SLOTS/$n/pid"
		SLOT=$n
		return 0
	done
	echo "no free test slot in $SLOTS" >&2
	exit 1
}
take_slot
# And the CPUs: an appliance spins on both, so the tests of two runs take
# turns, one test at a time on the host (perf/bench takes the same lock
# for each of its suites). Held until this test exits.
CPU_LOCK=/run/kc-tests-cpu.lock
[ -w /run ] || CPU_LOCK=${TMPDIR:-/tmp}/kc-tests-cpu-$(id -u).lock
exec 8>>"$CPU_LOCK"
flock 8
TAP=kct$SLOT
NET=10.79.$SLOT		# the TAP's subnet: .1 the host, .2 the appliance
NET78=10.78.$SLOT	# an AF_PACKET test's veth subnet
ADMIN_PORT=$((20000 + 10 * SLOT))

# slot_config FILE: FILE as this run's names make it, on stdout.
slot_config() {
	sed -e "s/iface: kct0\$/iface: $TAP/" \
		-e "s/iface: kcv0\$/iface: kcv$SLOT/" \
		-e "s/iface: kcx0\$/iface: kcx$SLOT/" \
		-e "s/exception_iface: kcxe0\$/exception_iface: kcxe$SLOT/" \
		-e "s/10\.79\.0\./$NET./g" -e "s/10\.78\.0\./$NET78./g" \
		-e "s/\(file_prefix: kc-itest-[a-z-]*\)\$/\1-$SLOT/" \
		-e "s/^  port: 18470\b/  port: $ADMIN_PORT/" \
		-e "s/^  port: 18471\b/  port: $((ADMIN_PORT + 1))/" \
		-e "s/^  port: 18480\b/  port: $((ADMIN_PORT + 2))/" \
		-e "s#^  keys_file: \([^/].*\)#  keys_file: $(dirname "$1")/\1#" \
		"$1"
}

check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	CHECKS=$((CHECKS + 1))
	if "$@" >"$WORK/check.out" 2>&1; then
		log "ok: $what"
	else
		FAILED=$((FAILED + 1))
		log "FAIL: $what"
		sed 's/^/    /' "$WORK/check.out"
	fi
}

on_exit() { CLEANUPS+=("$*"); }

cleanup() {
	local i
	stop_appliance >/dev/null 2>&1
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[$i]}" >/dev/null 2>&1
	done
	rm -rf "$WORK"
	# The EAL's runtime directories of the appliances this test started
	# (start_appliance notes their file_prefix), which even --no-shconf
	# leaves behind; not other tests' (a kc-itest-* glob took a running
	# test's directory from under its restarting appliance).
	for i in "${EAL_PREFIXES[@]}"; do
		rm -rf "/var/run/dpdk/$i"
	done
	rm -rf "$SLOTS/$SLOT"
}
trap cleanup EXIT
mkdir "$WORK/configs"
for f in "$SRC"/tests/integration/configs/*; do
	case $f in
	*.yaml) slot_config "$f" >"$WORK/configs/$(basename "$f")" ;;
	*) cp -p "$f" "$WORK/configs/" ;;
	esac
done
CFG=$WORK/configs

require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "this test needs root (TAP devices, namespaces)" >&2
		exit 77 # meson: skipped
	fi
}

# start_appliance CONFIG [JOURNAL_DIR]: start kingcobra in the background,
# wait for ready. The journal lives in $WORK (journal-CONFIGNAME) unless
# given; a restart with the same directory recovers it.
start_appliance() {
	local cfg=$1 i
	JOURNAL=${2:-$WORK/journal-$(basename "$cfg" .yaml)}
	APPLOG=$WORK/kingcobra.$(basename "$cfg").log
	EAL_PREFIXES+=("$(awk '$1 == "file_prefix:" { print $2 }' "$cfg")")
	# Empty before the start: the shell's child truncates it only once it
	# runs, and until then a restart would find the last run's "ready".
	: >"$APPLOG"
	"$KINGCOBRA" --config "$cfg" --journal-dir "$JOURNAL" >"$APPLOG" 2>&1 &
	KC_PID=$!
	# 60 s: a recovery of many cycles' requests on a busy machine.
	for i in $(seq 1 600); do
		if grep -q '^kingcobra ready' "$APPLOG"; then
			log "kingcobra $KC_PID ready on $(basename "$cfg")"
			return 0
		fi
		if ! kill -0 "$KC_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	log "kingcobra did not start:"
	cat "$APPLOG"
	KC_PID=""
	exit 1
}

# stop_pid PID SIGNAL NAME: send SIGNAL to a child this test started, wait
# up to 10 s (then SIGKILL), and keep its exit status in STOP_STATUS.
stop_pid() {
	local i
	kill -"$2" "$1" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		log "$3 $1 did not stop on SIG$2: killing it"
		kill -KILL "$1"
	fi
	wait "$1"
	STOP_STATUS=$?
}

# stop_appliance [SIGNAL]: SIGTERM (or SIGNAL), wait, keep the final
# counters in $APPLOG and the exit status in STOP_STATUS.
stop_appliance() {
	[ -n "$KC_PID" ] || return 0
	stop_pid "$KC_PID" "${1:-TERM}" kingcobra
	KC_PID=""
	return 0
}

# counter NAME: a counter from the final summary of the last stopped run.
counter() {
	awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }' \
		"$APPLOG"
}

# counter_at_least NAME MIN
counter_at_least() {
	local v
	v=$(counter "$1")
	echo "$1 = $v (want >= $2)"
	[ "$v" -ge "$2" ]
}

# veth_to_ns NS IF PEER CIDR: a fresh namespace NS holding PEER (with CIDR,
# up, lo up) whose other end IF stays here, up, without IPv6 chatter and
# without routing what it receives (an AF_PACKET port of the appliance
# reads it). Both go away on exit.
veth_to_ns() {
	local ns=$1 if=$2 peer=$3
	ip netns del "$ns" 2>/dev/null
	ip link del "$if" 2>/dev/null
	ip netns add "$ns"
	on_exit "ip netns del $ns"
	ip link add "$if" type veth peer name "$peer"
	on_exit "ip link del $if"
	ip link set "$peer" netns "$ns"
	ip link set "$if" up
	sysctl -qw "net.ipv6.conf.$if.disable_ipv6=1"
	sysctl -qw "net.ipv4.conf.$if.forwarding=0"
	# No IPv6 on the peer either: its solicitations and reports would
	# come through the port at moments the test does not choose (the
	# exception path's TAP refuses them while it moves namespaces).
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$peer.disable_ipv6=1"
	ip netns exec "$ns" ip addr add "$4" dev "$peer"
	ip netns exec "$ns" ip link set "$peer" up
	ip netns exec "$ns" ip link set lo up
	# veth leaves UDP checksums to "hardware"; AF_PACKET then sees them
	# unfinished. Real NICs and TAP deliver finished checksums.
	ip netns exec "$ns" ethtool -K "$peer" tx off >/dev/null
}

finish() {
	log "$CHECKS checks, $FAILED failed"
	echo "$((CHECKS - FAILED)) passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
