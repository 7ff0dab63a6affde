#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The appliance on a TAP port (as in the default config, on kct0 so that it
# does not clash with a running default appliance on kc0), driven from the
# host: ICMP ping, kcctl, 10,000 messages from 4 concurrent clients fetched
# back in order, and the same request sequence on run-to-completion and on a
# two-worker pipeline giving the same REPLYs.
. "$(dirname "$0")/lib.sh"
require_root
S=$NET.2

start_appliance "$CFG/tap.yaml"
check "host side of the TAP got its address" \
	sh -c "ip -4 addr show dev $TAP | grep -q $NET.1/24"
check "ICMP ping answered on the fast path" ping -c 3 -i 0.2 -W 2 $S
check "kcctl ping" "$KCCTL" -s $S ping hello
check "kcctl time: the appliance's clock, within 5 s of the host's" sh -c \
	"t=\$('$KCCTL' -s $S --json time | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"unix_ns\"])') &&
	 python3 -c 'import sys,time; sys.exit(abs(int(sys.argv[1]) / 1e9 - time.time()) > 5)' \$t"
check "kcctl publish" sh -c "'$KCCTL' -s $S publish greetings 'hello world' | grep -q 'offset=0'"
check "kcctl publish (second)" sh -c "'$KCCTL' -s $S publish greetings 'second' | grep -q 'offset=1'"
check "kcctl fetch returns both in order" sh -c \
	"'$KCCTL' -s $S --json fetch greetings 0 | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert [m[\"data\"] for m in r[\"messages\"]] == [\"hello world\", \"second\"], r
assert r[\"next_offset\"] == 2, r'"
check "kcctl commit" "$KCCTL" -s $S commit greetings reader 2
check "kcctl offset reads the commit back" sh -c "'$KCCTL' -s $S --json offset greetings reader | grep -q '\"offset\": *2'"
check "kcctl exits 1 on an error status" sh -c "'$KCCTL' -s $S fetch no-such-queue 0; test \$? -eq 1"
check "kcctl exits 3 on timeout (wrong port)" sh -c "'$KCCTL' -s $S:60009 --timeout 100 --retries 1 ping; test \$? -eq 3"
check "10,000 messages from 4 concurrent clients, fetched back in order" \
	"$ITEST" publish-concurrent $S load 10000 4
"$ITEST" sequence $S seq >"$WORK/seq.rtc" 2>&1
# A datagram larger than the MTU leaves the host as IP fragments, which
# the appliance drops and counts (KCP is one datagram per frame).
python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'K' * 1800, ('$S', 60000))"
check "still serving after the fragments" "$KCCTL" -s $S ping
check "the same PUBLISH sent 100 times: one execution, 100 identical REPLYs" \
	"$ITEST" idempotent $S idem 100 "$WORK/idem.req"
# One appliance per TAP port (issue 23): a second one, on a journal of its
# own, once joined the first one's TAP as one more queue and took half of
# its frames. Now it exits 1 before its EAL starts, naming the interface.
timeout 60 "$KINGCOBRA" --config "$CFG/tap.yaml" --journal-dir "$WORK/second" \
	>"$WORK/second.log" 2>&1
SECOND_STATUS=$?
check "a second appliance on the same TAP interface exits 1" \
	sh -c "cat '$WORK/second.log'; test $SECOND_STATUS -eq 1"
check "... naming the interface" grep -q "TAP interface $TAP exists already" \
	"$WORK/second.log"
check "... and the first one still serves" "$KCCTL" -s $S ping
stop_appliance
check "clean shutdown (exit 0)" test "$STOP_STATUS" -eq 0
check "ARP answered" counter_at_least arp_replies 1
check "ICMP echo answered" counter_at_least icmp_echo_replies 3
check "IP fragments dropped and counted" counter_at_least drop_ip_fragment 2
check "every request answered" sh -c "test $(counter kcp_requests) -eq $(counter kcp_replies)"
check "no request lost to a full ring or TX queue" sh -c \
	"test $(counter drop_ring_full) -eq 0 && test $(counter drop_tx_full) -eq 0"
check "TAP interface removed on shutdown" sh -c "! ip link show $TAP"
check "kcq verify: the journal is sound" "$KCQ" verify "$JOURNAL"
check "the journal holds that PUBLISH once" sh -c "test \$('$KCQ' dump \
	--json '$JOURNAL' | grep '\"type\":\"REQUEST\",\"op\":\"publish\"' | \
	grep -c '\"queue\":\"idem\"') -eq 1"

# A restart on the same journal: queues, offsets and the message-id index
# come back from it.
start_appliance "$CFG/tap.yaml" "$JOURNAL"
check "recovery reported" grep -q "journal shard 0 recovered" "$APPLOG"
check "queues recovered" sh -c "'$KCCTL' -s $S --json fetch greetings 0 | \
	grep -q '\"next_offset\": *2'"
check "consumer offsets recovered" sh -c "'$KCCTL' -s $S --json offset \
	greetings reader | grep -q '\"offset\": *2'"
check "the 10,000 recovered" sh -c "'$KCCTL' -s $S --json fetch load 9999 | \
	grep -q '\"next_offset\": *10000'"
check "after the restart, the same datagram still gets its first REPLY" \
	"$ITEST" idempotent $S idem 3 "$WORK/idem.req"
stop_appliance
check "clean shutdown after recovery" test "$STOP_STATUS" -eq 0

start_appliance "$CFG/tap-pipeline.yaml"
"$ITEST" sequence $S seq >"$WORK/seq.pipe" 2>&1
check "10,000 messages from 4 clients through the pipeline" \
	"$ITEST" publish-concurrent $S load 10000 4
stop_appliance
check "the pipeline went through its worker rings" counter_at_least ring_dequeued 10000
check "run-to-completion and pipeline give the same REPLYs" \
	diff "$WORK/seq.rtc" "$WORK/seq.pipe"
check "the sequence was answered" sh -c "test \$(grep -c ': OK' '$WORK/seq.rtc') -ge 100"
finish
