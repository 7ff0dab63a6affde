#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runs inside the test VM (busybox sh, as /test.sh; kmod/tests/vm-test.sh
# builds the VM). The real appliance runs on a TAP port (kc0, 10.77.0.2);
# kingcobra.ko forwards to it; busybox nc drives the gateway. Every check
# prints "ok:" or "FAIL:"; the last line is "KMOD-TEST: PASS ..." only if
# all passed.

KEY1=6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303031
GW_PORT=60000
CHECKS=0
FAILS=0
KC_PID=""

log() { echo "kmod-test: $*"; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok: $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL: $*"; }

# check DESCRIPTION COMMAND...: the command's status decides.
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}

# Each argument is one line to the gateway; prints the gateway's lines. The
# gateway answers in order and closes after the client's EOF.
send() {
	printf '%s\n' "$@" | timeout 30 nc 127.0.0.1 $GW_PORT
}

# expect DESCRIPTION OUTPUT_FILE LINE_NO EXTENDED_REGEX
expect() {
	got=$(sed -n "${3}p" "$2")
	if echo "$got" | grep -Eq "$4"; then
		ok "$1"
	else
		fail "$1: line $3 is '$got', wanted /$4/"
	fi
}

stat() { awk -v k="$1" '$1 == k { print $2 }' /proc/kingcobra/stats; }
stat_is() { [ "$(stat "$1")" = "$2" ]; }
stat_ge() { v=$(stat "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
# gone PID...: none of them is running any more.
gone() {
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}
# A socket of the gateway on TCP port 60000 listening or established.
gw_tcp_sockets() {
	awk '$2 ~ /:EA60$/ && ($4 == "0A" || $4 == "01")' /proc/net/tcp
}

# expect_stat DESCRIPTION COUNTER OP VALUE (OP: -eq -ge ...)
expect_stat() {
	v=$(stat "$2")
	if [ -n "$v" ] && [ "$v" "$3" "$4" ]; then
		ok "$1 ($2=$v)"
	else
		fail "$1: $2=$v, wanted $3 $4"
	fi
}

# wait_for SECONDS COMMAND...: poll every 0.2 s until the command succeeds.
wait_for() {
	n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

ID='[0-9a-f]{12}00000001[0-9a-f]{12}'	# message id of client 1

# --- the appliance ----------------------------------------------------------
mkdir -p /tmp/journal
/opt/kc/kingcobra --config /etc/kc/kingcobra.yaml --journal-dir /tmp/journal \
	>/tmp/kingcobra.log 2>&1 &
KC_PID=$!
appliance_up() {
	grep -q '^kingcobra ready' /tmp/kingcobra.log && return 0
	# Gave up: stop waiting at once.
	kill -0 "$KC_PID" 2>/dev/null || return 0
	return 1
}
wait_for 120 appliance_up
if ! grep -q '^kingcobra ready' /tmp/kingcobra.log; then
	cat /tmp/kingcobra.log
	fail "the appliance started"
	echo "KMOD-TEST: FAIL (no appliance)"
	exit 1
fi
ok "the appliance started on kc0"
check "kcctl reaches the appliance" \
	/opt/kc/kcctl -s 10.77.0.2 ping hi

# --- load -------------------------------------------------------------------
UDP_BEFORE=$(wc -l </proc/net/udp)
check "insmod rejects a missing key" \
	sh -c '! insmod /root/kingcobra.ko 2>/dev/null'
check "insmod rejects a bad appliance address" \
	sh -c "! insmod /root/kingcobra.ko key=$KEY1 appliance_addr=10.77.0 2>/dev/null"
check "insmod kingcobra.ko" \
	insmod /root/kingcobra.ko appliance_addr=10.77.0.2 key=$KEY1 \
	max_conns=8 max_line=512 max_inflight=4 timeout_ms=500 retries=3 \
	idle_timeout_s=3 send_timeout_ms=1000
check "/proc/kingcobra/config shows the parameters" \
	sh -c 'grep -qx "appliance 10.77.0.2:60000" /proc/kingcobra/config &&
	       grep -qx "max_line 512" /proc/kingcobra/config &&
	       grep -qx "listen 127.0.0.1:60000" /proc/kingcobra/config'
check "/proc/kingcobra/config does not show the key" \
	sh -c "! grep -q $KEY1 /proc/kingcobra/config && ! grep -q 6b696e /sys/module/kingcobra/parameters/* 2>/dev/null"

# --- the ops ----------------------------------------------------------------
send 'PING hello' 'TIME' 'TIME now' >/tmp/o1
expect "PING" /tmp/o1 1 "^REPLY:$ID OK echo=hello\$"
expect "TIME" /tmp/o1 2 "^REPLY:$ID OK unix_ns=1[0-9]{18}\$"
expect "TIME takes no arguments" /tmp/o1 3 "^REPLY:- ERR BAD_COMMAND too many arguments; usage: TIME\$"

send 'PUBLISH orders hello kingcobra' 'publish orders second' \
	'FETCH orders 0 10' 'COMMIT orders billing 2' 'OFFSET orders billing' \
	'REQUEST PING original-syntax' >/tmp/o2
expect "PUBLISH" /tmp/o2 1 "^REPLY:$ID OK offset=0\$"
expect "PUBLISH, lower case" /tmp/o2 2 "^REPLY:$ID OK offset=1\$"
expect "FETCH" /tmp/o2 3 "^REPLY:$ID OK count=2 first_offset=0 next_offset=2 end_offset=2 0:hello\\\\x20kingcobra 1:second\$"
expect "COMMIT" /tmp/o2 4 "^REPLY:$ID OK committed\$"
expect "OFFSET" /tmp/o2 5 "^REPLY:$ID OK offset=2\$"
expect "REQUEST prefix of the original design" /tmp/o2 6 "OK echo=original-syntax\$"
check "replies come back in the order of the lines, one each" \
	test "$(wc -l </tmp/o2)" -eq 6
# Blanks at the end of a line are not an argument (two or more of them
# once asked for a missing optional one: "missing max").
# (The queue holds nothing below billing's committed offset 2 any more.)
send 'FETCH orders 2  ' 'FETCH orders 2 1   ' >/tmp/o2b
expect "trailing blanks after the last argument" /tmp/o2b 1 "^REPLY:$ID OK count=0 first_offset=2 next_offset=2 end_offset=2\$"
expect "trailing blanks after an optional argument" /tmp/o2b 2 "^REPLY:$ID OK count=0 first_offset=2 next_offset=2 end_offset=2\$"
sed 's/^/kmod-test: /' /tmp/o2
# The reference client and the gateway see the same queues.
send 'PUBLISH shared from-gateway' >/tmp/k0
expect "PUBLISH to a queue kcctl reads" /tmp/k0 1 "OK offset=0\$"
/opt/kc/kcctl -s 10.77.0.2 fetch shared 0 >/tmp/k1 2>&1
expect "kcctl fetches what the gateway published" /tmp/k1 1 "^0 from-gateway\$"
/opt/kc/kcctl -s 10.77.0.2 publish shared from-kcctl >/dev/null
send 'FETCH shared 1 1' >/tmp/o3
expect "the gateway fetches what kcctl published" /tmp/o3 1 " 1:from-kcctl\$"

send 'FETCH nosuch 0' 'OFFSET orders nobody' 'COMMIT orders billing 99' >/tmp/o4
expect "appliance error NOT_FOUND" /tmp/o4 1 "^REPLY:$ID ERR NOT_FOUND "
expect "appliance error NOT_FOUND (consumer)" /tmp/o4 2 "^REPLY:$ID ERR NOT_FOUND "
expect "appliance error OUT_OF_RANGE" /tmp/o4 3 "^REPLY:$ID ERR OUT_OF_RANGE "

send 'MINT 1 100 3' 'TRANSFER 1 2 1 2' 'BALANCE 2' 'BALANCE 1' 'COIN 3' \
	'SPLIT 3 40 60' 'MERGE 4 5' 'BURN 6' 'TRAIL 1' 'AUDIT' \
	'TRANSFER 2 1 1' >/tmp/o5
expect "MINT" /tmp/o5 1 "^REPLY:$ID OK first_coin=1 count=3\$"
expect "TRANSFER" /tmp/o5 2 "^REPLY:$ID OK seq=[0-9]+\$"
expect "BALANCE of the payee" /tmp/o5 3 "OK balance=200 coins=2\$"
expect "BALANCE of the payer" /tmp/o5 4 "OK balance=100 coins=1\$"
expect "COIN" /tmp/o5 5 "OK coin=3 denomination=100 owner=1 state=LIVE "
expect "SPLIT" /tmp/o5 6 "OK first_coin=4 count=2\$"
expect "MERGE" /tmp/o5 7 "OK coin=6\$"
expect "BURN" /tmp/o5 8 "OK seq=[0-9]+\$"
expect "TRAIL" /tmp/o5 9 "OK total=2 first=0 count=2 [0-9]+:mint:1:100:0:1:[0-9]+ [0-9]+:transfer:1:100:1:2:"
expect "AUDIT" /tmp/o5 10 "OK ok=true minted=300 burnt=100 live_sum=200 live_coins=2 "
expect "TRANSFER from another account is FORBIDDEN" /tmp/o5 11 "ERR FORBIDDEN "

# --- bad input --------------------------------------------------------------
send 'FROB x' 'FETCH orders x' 'PUBLISH bad/name x' 'BALANCE 0' 'PING ok' \
	>/tmp/o6
expect "unknown command" /tmp/o6 1 "^REPLY:- ERR BAD_COMMAND unknown command\$"
expect "bad number" /tmp/o6 2 "^REPLY:- ERR BAD_COMMAND bad offset\$"
expect "bad queue name" /tmp/o6 3 "^REPLY:- ERR BAD_COMMAND bad queue name"
expect "account 0" /tmp/o6 4 "^REPLY:- ERR BAD_COMMAND bad account\$"
expect "the connection goes on after bad commands" /tmp/o6 5 "OK echo=ok\$"

LONG=$(head -c 1500 /dev/zero | tr '\0' A)
send "PING $LONG" 'PING after-long' >/tmp/o7
expect "an overlong line is refused" /tmp/o7 1 "^REPLY:- ERR TOO_LONG "
expect "the line after an overlong one is served" /tmp/o7 2 "OK echo=after-long\$"
check "an overlong line gets one reply" test "$(wc -l </tmp/o7)" -eq 2
expect_stat "overlong lines counted" lines_too_long -eq 1

{ head -c 8192 /dev/urandom; printf '\nPING after-garbage\n'; } |
	timeout 30 nc 127.0.0.1 $GW_PORT >/tmp/o8
check "binary garbage only draws ERR lines" \
	sh -c '[ "$(grep -cv "^REPLY:- ERR " /tmp/o8)" = 1 ]'
check "the line after binary garbage is served" \
	sh -c 'tail -n 1 /tmp/o8 | grep -Eq "OK echo=after-garbage\$"'
printf 'PING no-newline-at-eof' | timeout 30 nc 127.0.0.1 $GW_PORT >/tmp/o9
expect "a last line without newline is served" /tmp/o9 1 "OK echo=no-newline-at-eof\$"

# Half-open: a connection that sends nothing, one that stops mid-line.
sleep 30 | nc 127.0.0.1 $GW_PORT >/tmp/idle1 &
IDLE1=$!
{ printf 'PING never-finished'; sleep 30; } | nc 127.0.0.1 $GW_PORT >/tmp/idle2 &
IDLE2=$!
sleep 1
expect_stat "idle connections are open" connections_open -ge 2
check "idle connections are closed after idle_timeout_s" \
	wait_for 10 gone $IDLE1 $IDLE2
expect_stat "idle closes counted" connections_idle_closed -ge 2
check "a line that never ended got no reply" test ! -s /tmp/idle2

# max_conns: 8 connections held open, the 9th is refused.
HOLD=""
i=0
while [ $i -lt 8 ]; do
	sleep 20 | nc 127.0.0.1 $GW_PORT >/dev/null &
	HOLD="$HOLD $!"
	i=$((i + 1))
done
wait_for 10 stat_is connections_open 8
send 'PING ninth' >/tmp/o10
expect "connection over max_conns refused" /tmp/o10 1 "^REPLY:- ERR BUSY max_conns"
expect_stat "refused connections counted" connections_rejected -ge 1
for p in $HOLD; do kill "$p" 2>/dev/null; done
# Killing "sleep | nc" kills nc: its socket closes; the gateway sees EOF.
killall -q sleep
wait_for 10 stat_is connections_open 0
expect_stat "held connections closed" connections_open -eq 0

# A client that never reads: it keeps sending FETCHes (16 bytes each, whose
# replies are 500) and never takes a reply; nc blocks writing its stdout to a
# FIFO nobody reads. The gateway's send waits send_timeout_ms, then it
# closes the connection; other clients are served meanwhile.
send "PUBLISH bigq $(head -c 450 /dev/zero | tr '\0' B)" >/tmp/o11
expect "a big message for the slow reader" /tmp/o11 1 "OK offset=0\$"
echo "4096 16384 65536" >/proc/sys/net/ipv4/tcp_rmem
echo "4096 16384 65536" >/proc/sys/net/ipv4/tcp_wmem
mkfifo /tmp/noread
exec 3<>/tmp/noread
yes 'FETCH bigq 0 1' | nc 127.0.0.1 $GW_PORT >/tmp/noread &
NOREAD=$!
send 'PING while-slow' >/tmp/o11
expect "another client is served meanwhile" /tmp/o11 1 "OK echo=while-slow\$"
check "a client that never reads is disconnected" \
	wait_for 90 stat_ge connections_slow_closed 1
kill $NOREAD 2>/dev/null
killall -q yes
exec 3>&-

# Retry: the link to the appliance is down for the first attempts; a
# resend of the same datagram gets through; the message is there once.
R0=$(stat retries)
ip link set kc0 down
send 'PUBLISH retryq once' >/tmp/o12 &
SENDER=$!
sleep 0.7
ip link set kc0 up
wait $SENDER
expect "a request retried after a lost attempt succeeds" /tmp/o12 1 "^REPLY:$ID OK offset=0\$"
check "it was resent (retries counter)" test "$(stat retries)" -gt "$R0"
send 'FETCH retryq 0 10' >/tmp/o13
expect "the retried PUBLISH was executed once" /tmp/o13 1 "OK count=1 first_offset=0 next_offset=1 end_offset=1 0:once\$"

# Counters add up.
cat /proc/kingcobra/stats
expect_stat "lines counted" lines -ge 40
expect_stat "requests forwarded" requests_forwarded -ge 40
expect_stat "bad commands counted" commands_bad -ge 5
check "replies = replies_ok + replies_error + replies_bad" \
	test "$(stat replies)" -eq $(($(stat replies_ok) + $(stat replies_error) + $(stat replies_bad)))
expect_stat "no reply failed authentication" auth_failures -eq 0
expect_stat "no timeouts while the appliance was up" timeouts -eq 0

# The appliance unreachable: ERR TIMEOUT after every attempt.
kill "$KC_PID"
wait "$KC_PID"
T0=$(stat retries)
send 'PING gone' >/tmp/o14
expect "appliance down: TIMEOUT" /tmp/o14 1 "^REPLY:$ID ERR TIMEOUT no REPLY from 10.77.0.2:60000 after 4 attempts of 500 ms\$"
expect_stat "timeouts counted" timeouts -eq 1
check "3 resends" test "$(stat retries)" -eq $((T0 + 3))

# --- unload while clients are connected and a request is in flight ---------
sleep 30 | nc 127.0.0.1 $GW_PORT >/dev/null &
C1=$!
{ echo 'PING in-flight'; sleep 30; } | nc 127.0.0.1 $GW_PORT >/tmp/o15 &
C2=$!
sleep 0.3
expect_stat "a request is in flight" requests_inflight -eq 1
START=$(date +%s)
check "rmmod with clients connected" rmmod kingcobra
END=$(date +%s)
check "rmmod took at most 2 s" test $((END - START)) -le 2
check "clients see their connection closed" \
	wait_for 5 gone $C1 $C2
check "the in-flight request was abandoned" \
	sh -c 'dmesg | grep -q "kingcobra: unloaded: 1 requests abandoned"'
check "no listening or open TCP socket left on port 60000" \
	test -z "$(gw_tcp_sockets)"
check "no UDP socket left" test "$(wc -l </proc/net/udp)" -eq "$UDP_BEFORE"
check "the module is gone" sh -c '! grep -q "^kingcobra " /proc/modules'
check "it loads again (nothing held)" \
	insmod /root/kingcobra.ko key=$KEY1
check "and unloads again" rmmod kingcobra
killall -q sleep

if dmesg | grep -Eq 'BUG:|WARNING:|Oops|general protection|refcount_t|list_(add|del) corruption'; then
	dmesg | tail -n 60
	fail "the kernel log is clean"
else
	ok "the kernel log is clean"
fi

if [ "$FAILS" -eq 0 ]; then
	echo "KMOD-TEST: PASS ($CHECKS checks)"
	exit 0
fi
echo "KMOD-TEST: FAIL ($FAILS of $CHECKS checks failed)"
exit 1
