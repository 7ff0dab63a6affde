#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The pktgen profiles (perf/pktgen/kc-profiles, kc-pcap-gen) are requests
# the appliance accepts: each profile is replayed into a real appliance by
# DPDK's pcap PMD, once and then looped (infinite_rx, as pktgen loops a
# pcap), and the appliance's counters must show every frame accepted and
# executed once on the first pass, and what docs/performance.md says a
# repeat does: a PING is executed again, a PUBLISH answered from the
# idempotency index (kcp_duplicates) and not stored twice.
source "$(dirname "$0")/lib.sh"
require_root

N=500
MAC=02:70:63:61:70:00          # what the pcap PMD gives port 0
KC_COUNT=$N "$SRC/perf/pktgen/kc-profiles" "$WORK/prof" $MAC $NET.2 \
	>"$WORK/profiles.log" || { cat "$WORK/profiles.log"; exit 1; }

# config NAME PCAP [DEVARGS]: the pcap port replays PCAP; REPLYs go to a
# pcap file so they can be counted too.
config() {
	cat >"$WORK/$1.yaml" <<YAML
production: false
log_level: warning
eal:
  lcores: "0-1"
  main_lcore: 0
  memory_mb: 256
  hugepages: false
  in_memory: true
  file_prefix: kc-itest-pcap-$SLOT
ports:
  - name: pcap0
    driver: pcap
    rx_pcap: $2
    tx_pcap: $WORK/$1.out.pcap
    ip: $NET.2/24
${3:+    devargs: $3}
pipeline:
  rx_lcores: [1]
  worker_lcores: [1]
kcp:
  keys_file: $SRC/config/dev.keys
admin:
  port: $ADMIN_PORT
YAML
}

# run NAME SECONDS: start, let the replay run, stop (final counters).
run() {
	start_appliance "$WORK/$1.yaml"
	sleep "$2"
	stop_appliance
}

is() { # is COUNTER VALUE
	local v
	v=$(counter "$1")
	echo "$1 = $v (want $2)"
	[ "$v" = "$2" ]
}


for p in ping publish; do
	check "$p.pcap: $N frames of signed, checksummed requests" \
		sh -c "[ \$(tcpdump -r '$WORK/prof/$p.pcap' -vv -n 2>/dev/null | grep -c 'udp sum ok') = $N ]"
	config "$p-once" "$WORK/prof/$p.pcap"
	run "$p-once" 2
	check "$p once: $N requests accepted" is kcp_requests $N
	check "$p once: $N executed" is "op_$p" $N
	check "$p once: no error REPLY, nothing dropped" sh -c \
		"[ \$(awk '\$1 == \"kcp_error_replies\" || \$1 == \"drops\" { s += \$2 } END { print s + 0 }' '$APPLOG') = 0 ]"
	check "$p once: $N REPLYs sent" sh -c "[ \$(tcpdump -r '$WORK/$p-once.out.pcap' -n 2>/dev/null | wc -l) = $N ]"
done

# Looped, as pktgen replays a pcap: repeats within idempotency.window_s.
config publish-loop "$WORK/prof/publish.pcap" infinite_rx=1
run publish-loop 2
check "publish looped: more than one pass went in" counter_at_least kcp_requests $((2 * N))
check "publish looped: each message stored once" is op_publish $N
check "publish looped: the repeats answered from the index" \
	counter_at_least kcp_duplicates $N
config ping-loop "$WORK/prof/ping.pcap" infinite_rx=1
run ping-loop 2
check "ping looped: every pass executed" counter_at_least op_ping $((2 * N))
finish
