#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# kc-udp-peer, the kernel-socket baseline of perf/bench's `kernel` suite,
# answers kcctl like the appliance does (PING echo, PUBLISH offsets from 0,
# error statuses), drops what is not authenticated, refuses an old message
# id with EXPIRED, and prints its counters and CPU time as JSON on exit.
# Needs no root: it runs on 127.0.0.1 at a free port of 24000-28999
# (never 60000, 8080 or 18470-18490, which other tests use).
. "$(dirname "$0")/lib.sh"

PEER=$BUILD/perf/peers/kc-udp-peer
PEER_PID=""
PORT=""
DEV_HEX=6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303031
KEY7=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

# stop_peer [SIGNAL]: stop the peer this test started, by its PID, and
# keep its exit status in PEER_STATUS.
stop_peer() {
	[ -n "$PEER_PID" ] || return 0
	stop_pid "$PEER_PID" "${1:-TERM}" kc-udp-peer
	PEER_STATUS=$STOP_STATUS
	PEER_PID=""
}
on_exit stop_peer KILL

# start_peer OUT [ARGS...]: start kc-udp-peer on 127.0.0.1 at a free port
# (PORT), JSON into OUT, and wait for its ready file.
start_peer() {
	local out=$1 i
	shift
	for _ in 1 2 3 4 5 6 7 8; do
		PORT=$((24000 + RANDOM % 5000))
		rm -f "$WORK/ready"
		"$PEER" -b 127.0.0.1 -p "$PORT" --ready-file "$WORK/ready" \
			"$@" >"$out" 2>"$out.err" &
		PEER_PID=$!
		for i in $(seq 1 50); do
			[ -e "$WORK/ready" ] && break
			kill -0 "$PEER_PID" 2>/dev/null || break
			sleep 0.1
		done
		if [ -e "$WORK/ready" ]; then
			log "kc-udp-peer $PEER_PID ready: $(cat "$WORK/ready")"
			return 0
		fi
		wait "$PEER_PID"
		PEER_PID=""
		if ! grep -q 'Address already in use' "$out.err"; then
			log "kc-udp-peer did not start:"
			cat "$out.err"
			exit 1
		fi
	done
	log "no free port found for kc-udp-peer"
	exit 1
}

kc() { "$KCCTL" -s "127.0.0.1:$PORT" --timeout 500 --retries 0 "$@"; }

# expect_out DESCRIPTION WANT_STATUS PATTERN -- KCCTL_ARGS...
expect_out() {
	local what=$1 want=$2 pat=$3 rc
	shift 4
	kc "$@" >"$WORK/kc.out" 2>&1
	rc=$?
	check "$what" sh -c "cat '$WORK/kc.out'; test $rc -eq $want &&
		grep -q -- '$pat' '$WORK/kc.out'"
}

# json_check DESCRIPTION PYTHON_EXPR: the expression over j, the peer's
# JSON report, is true.
json_check() {
	check "$1" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
ok = eval("(" + sys.argv[2] + ")")
if not ok:
    print(json.dumps(j, indent=1))
sys.exit(0 if ok else 1)' "$WORK/peer.json" "$2"
}

# Bad command lines: a message and exit status 2, nothing started.
for args in "--port 70000" "--bogus" "--bind 1.2.3" "--seconds 0" \
	"--max-bytes-per-queue 100" "extra" "-k $WORK/missing.keys"; do
	# shellcheck disable=SC2086 # split on purpose
	"$PEER" $args >"$WORK/bad.out" 2>&1
	rc=$?
	check "bad arguments ($args): exit 2 with a message" sh -c \
		"cat '$WORK/bad.out'; test $rc -eq 2 &&
		 grep -q '^kc-udp-peer: ' '$WORK/bad.out'"
done

# The keys file: the development key of client 1 (kcctl's default) and a
# client 7; the wrong file holds another key for 7 and a client 9 the peer
# does not know.
printf '1 %s dev\n7 %s seven\n' "$DEV_HEX" "$KEY7" >"$WORK/peer.keys"
printf '7 %s wrong\n9 %s unknown\n' "${KEY7/00/ff}" "$KEY7" \
	>"$WORK/wrong.keys"

# Small limits, to reach QUEUE_FULL and NO_SPACE.
start_peer "$WORK/peer.json" -k "$WORK/peer.keys" --max-queues 2 \
	--max-messages-per-queue 3

expect_out "PING is echoed" 0 'OK echo=hello-peer' -- ping hello-peer
for i in 0 1 2; do
	expect_out "PUBLISH to orders gets offset $i" 0 "OK offset=$i" -- \
		publish orders "message $i"
done
expect_out "another queue starts at offset 0" 0 'OK offset=0' -- \
	publish billing first
expect_out "a 4th message with --max-messages-per-queue 3: QUEUE_FULL" 1 \
	'ERR QUEUE_FULL' -- publish orders "message 3"
expect_out "a 3rd queue with --max-queues 2: NO_SPACE" 1 'ERR NO_SPACE' -- \
	publish third first
expect_out "client 7 of the keys file is answered" 0 'OK echo=seven' -- \
	-k "$WORK/peer.keys" -c 7 ping seven
expect_out "a wrong key gets no answer (timeout)" 3 'no reply' -- \
	-k "$WORK/wrong.keys" -c 7 ping forged
expect_out "an unknown client gets no answer (timeout)" 3 'no reply' -- \
	-k "$WORK/wrong.keys" -c 9 ping stranger
expect_out "an op the peer does not run gets UNKNOWN_OP" 1 \
	'ERR UNKNOWN_OP' -- fetch orders 0
expect_out "a message of 1344 bytes gets TOO_LARGE" 1 'ERR TOO_LARGE' -- \
	publish orders "$(head -c 1344 /dev/zero | tr '\0' x)"
# Not KCP at all: dropped (kcp_short), never answered.
check "a 4-byte datagram is sent" bash -c \
	"printf junk >/dev/udp/127.0.0.1/$PORT"

# A PING whose message id is two minutes old: EXPIRED, signed with the
# client's key. Built here with Python's hmac, independently of lib/.
check "an old message id gets a signed EXPIRED" python3 -c '
import hmac, hashlib, socket, struct, sys, time
key = bytes.fromhex(sys.argv[2])
ms = int(time.time() * 1000) - 120000
msg_id = ms.to_bytes(6, "big") + struct.pack(">I", 1) + (7).to_bytes(6, "big")
payload = b"stale"
hdr = struct.pack(">HBBBBH", 0x4B43, 1, 1, 1, 0, 0) + msg_id + \
      struct.pack(">II", 1, len(payload))
tag = hmac.new(key, hdr + payload, hashlib.sha256).digest()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(hdr + tag + payload, ("127.0.0.1", int(sys.argv[1])))
r = s.recv(2048)
magic, ver, typ, op, flags, status = struct.unpack(">HBBBBH", r[:8])
plen = struct.unpack(">I", r[28:32])[0]
want = hmac.new(key, r[:32] + r[64:], hashlib.sha256).digest()
print(typ, op, status, r[8:24] == msg_id, plen, r[64:])
ok = (typ == 2 and op == 1 and status == 12 and r[8:24] == msg_id and
      plen == len(r) - 64 and hmac.compare_digest(r[32:64], want) and
      r[64:].startswith(b"message id is older than the replay window"))
sys.exit(0 if ok else 1)' "$PORT" "$DEV_HEX"

stop_peer TERM
check "SIGTERM: exit status 0" test "$PEER_STATUS" -eq 0
json_check "one JSON object with the tool, bind and port" \
	"j['tool'] == 'kc-udp-peer' and j['bind'] == '127.0.0.1' and
	 j['port'] == $PORT and j['journal'] == 'none'"
json_check "received 14 datagrams, 11 authenticated, 11 replies" \
	"j['received'] == 14 and j['requests'] == 11 and j['replies'] == 11 and
	 j['send_failed'] == 0"
json_check "answered by op: 3 PING, 7 PUBLISH, 1 other" \
	"j['answered'] == {'ping': 3, 'publish': 7, 'other': 1}"
json_check "statuses: 6 OK, one each of the 5 errors" \
	"j['status']['ok'] == 6 and j['status']['unknown_op'] == 1 and
	 j['status']['too_large'] == 1 and j['status']['expired_old'] == 1 and
	 j['status']['queue_full'] == 1 and j['status']['no_space'] == 1 and
	 sum(j['status'].values()) == 11"
json_check "dropped: bad_auth, bad_client, kcp_short, one each" \
	"j['dropped']['bad_auth'] == 1 and j['dropped']['bad_client'] == 1 and
	 j['dropped']['kcp_short'] == 1 and j['dropped_total'] == 3 and
	 sum(j['dropped'].values()) == 3"
json_check "two queues were created" "j['queues'] == 2"
json_check "CPU and wall seconds are reported" \
	"all(isinstance(j[k], float) and j[k] >= 0 for k in
	     ('cpu_user_s', 'cpu_system_s', 'cpu_s')) and j['wall_s'] > 0 and
	 j['cpu_s_per_request'] is not None"

# --seconds: it stops by itself and reports; with the development keys.
start_peer "$WORK/peer.json" --seconds 1
expect_out "built-in development key of client 2 is answered" 0 \
	'OK echo=two' -- -c 2 ping two
for i in $(seq 1 40); do
	kill -0 "$PEER_PID" 2>/dev/null || break
	sleep 0.1
done
check "--seconds 1: it exited by itself" sh -c "! kill -0 $PEER_PID"
stop_peer TERM
check "--seconds 1: exit status 0" test "$PEER_STATUS" -eq 0
json_check "--seconds 1: one PING answered in about a second" \
	"j['answered']['ping'] == 1 and j['requests'] == 1 and
	 1.0 <= j['wall_s'] < 3.0"
finish
