#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The exception path: the appliance on AF_PACKET over a veth pair (client
# end in namespace kc-itest-xcli-N, N the test's slot: lib.sh) hands what it
# does not serve itself to the kernel through its TAP kcxeN, moved into
# namespace kc-itest-xhost-N, which holds the appliance's own address (the
# "SSH on the same port" set-up) and one more. TCP and ICMP to that kernel
# work through the port while KCP clients are served, and both directions
# are counted.
. "$(dirname "$0")/lib.sh"
require_root
CLI=kc-itest-xcli-$SLOT
HOST=kc-itest-xhost-$SLOT
S=$NET.2      # the appliance, and the host's sshd-like listener
H=$NET.3      # an address only the host has
IN_CLI="ip netns exec $CLI"
IN_HOST="ip netns exec $HOST"

veth_to_ns $CLI kcx$SLOT kcy$SLOT $NET.1/24
ip netns del $HOST 2>/dev/null
ip netns add $HOST
on_exit "ip netns del $HOST"

start_appliance "$CFG/exception.yaml"
check "banner: exception path on kcxe$SLOT, steering off for af_packet" \
	grep -q "exception path to the kernel on kcxe$SLOT, flow steering off" \
	"$APPLOG"
# The TAP keeps working in another namespace: DPDK holds its queue's fd.
check "kcxe$SLOT moved into the host namespace" ip link set kcxe$SLOT netns $HOST
$IN_HOST ip link set lo up
$IN_HOST ip addr add $S/24 dev kcxe$SLOT
$IN_HOST ip addr add $H/24 dev kcxe$SLOT
$IN_HOST ip link set kcxe$SLOT up

# The host's TCP service: echoes what it reads back, reversed.
cat >"$WORK/echo.py" <<'PY'
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 2222))
srv.listen(4)
while True:
    c, _ = srv.accept()
    data = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
    c.sendall(data[::-1])
    c.close()
PY
cat >"$WORK/client.py" <<'PY'
import hashlib, os, socket, sys
data = os.urandom(int(sys.argv[2]))
c = socket.create_connection((sys.argv[1], 2222), timeout=10)
c.sendall(data)
c.shutdown(socket.SHUT_WR)
back = b""
while True:
    b = c.recv(65536)
    if not b:
        break
    back += b
sys.exit(0 if back == data[::-1] else 1)
PY
$IN_HOST python3 "$WORK/echo.py" 0.0.0.0 &
ECHO_PID=$!
on_exit "kill $ECHO_PID"
sleep 0.5

check "ICMP ping of the appliance (answered on the fast path)" \
	$IN_CLI ping -c 3 -i 0.2 -W 2 $S
check "ICMP ping of the host's own address (through the kernel)" \
	$IN_CLI ping -c 3 -i 0.2 -W 2 $H
check "kcctl ping" $IN_CLI "$KCCTL" -s $S ping
check "TCP to the host on the appliance's address: 64 KiB echoed" \
	$IN_CLI python3 "$WORK/client.py" $S 65536
# KCP load and a TCP transfer at the same time.
$IN_CLI "$ITEST" publish-concurrent $S load 5000 4 &
LOAD_PID=$!
check "TCP during KCP load: 1 MiB echoed" \
	$IN_CLI python3 "$WORK/client.py" $S 1048576
check "TCP to the host's other address: 256 KiB echoed" \
	$IN_CLI python3 "$WORK/client.py" $H 262144
check "KCP load during TCP: 5,000 messages from 4 clients, in order" \
	wait $LOAD_PID
check "still serving KCP" $IN_CLI "$KCCTL" -s $S ping
stop_appliance
check "clean shutdown (exit 0)" test "$STOP_STATUS" -eq 0
check "frames handed to the kernel" counter_at_least exception_to_kernel 100
check "frames from the kernel sent out" counter_at_least exception_from_kernel 100
# Each place a frame can be lost has its own counter, so a failure says
# which: the ring toward the exception thread, the TAP, the ring back.
for c in drop_exception_in_ring drop_exception_tap drop_exception_out_ring; do
	check "none dropped on the exception path ($c)" test "$(counter $c)" -eq 0
done
check "sorted in software (af_packet takes no flow rules)" \
	test "$(counter exception_steered)" -eq 0
check "TCP was not dropped as an unserved protocol" \
	test "$(counter drop_ip_proto)" -eq 0
check "ICMP echoes answered by the appliance" counter_at_least icmp_echo_replies 3
finish
