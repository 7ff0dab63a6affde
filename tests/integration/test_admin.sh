#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The admin server (docs/admin.md) on the TAP appliance: every JSON
# document of /api/v1/ has its documented shape and moves with traffic;
# actions need the token (none and a wrong one change nothing), are
# logged without it, and drain/resume refuse and admit requests;
# /metrics passes promtool; over HTTPS with a self-signed certificate the
# server verifies (openssl, curl, kcctl) and plain HTTP is refused; kcctl
# status and action, text and --json, with their exit codes.
. "$(dirname "$0")/lib.sh"
require_root
S=$NET.2
# Not the default 8080, which a developer's own appliance may hold, nor
# test_admin_page's 18480.
PORT=$((ADMIN_PORT + 3))
URL=http://127.0.0.1:$PORT
TOKEN=$(openssl rand -hex 24)
umask 077
printf '%s\n' "$TOKEN" >"$WORK/admin.token"
# The token is the first line: what follows it is not part of it.
printf '%s\n# made for test_admin.sh\n' "$TOKEN" >"$WORK/admin-lines.token"
openssl rand -hex 24 >"$WORK/wrong.token"

# admin_config NAME TOKEN_FILE [TLS_PEM]: tap.yaml with this admin:
# section instead of its own (the last section of the file), in $WORK (the
# token file is in $WORK, so the config cannot be a static one; its keys
# file becomes an absolute path).
admin_config() {
	sed -e "s#^  keys_file: .*#  keys_file: $SRC/config/dev.keys#" \
		-e '/^admin:/,$d' "$CFG/tap.yaml" >"$WORK/$1.yaml"
	cat >>"$WORK/$1.yaml" <<-EOF
	admin:
	  enabled: true
	  listen: 127.0.0.1
	  port: $PORT
	  token_file: $2
	  threads: 2
	EOF
	if [ -n "${3:-}" ]; then
		echo "  tls_certificate: $3" >>"$WORK/$1.yaml"
	fi
	grep -q "keys_file: $SRC/config/dev.keys" "$WORK/$1.yaml"
}

kc() { "$KCCTL" -s $S "$@"; }

# http METHOD URL_PATH [CURL ARGS...]: the body in $WORK/body, the status
# on stdout ("000": no HTTP answer).
http() {
	local method=$1 path=$2
	shift 2
	curl -sS --max-time 15 -X "$method" -o "$WORK/body" -w '%{http_code}' \
		"$@" "$URL$path" 2>"$WORK/curl.err"
}

# status_is WANT METHOD URL_PATH [CURL ARGS...]
status_is() {
	local want=$1 got
	shift
	got=$(http "$@")
	[ "$got" = "$want" ] && return 0
	echo "$1 $2: HTTP $got (want $want)"
	cat "$WORK/body" "$WORK/curl.err"
	return 1
}

# answer WANT METHOD PATH PYTHON [CURL ARGS...]: the request gets HTTP
# WANT, then PYTHON runs with d the parsed JSON answer (an assert that
# fails shows it).
answer() {
	local want=$1 method=$2 path=$3 py=$4
	shift 4
	status_is "$want" "$method" "$path" "$@" || return 1
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
$py
" "$WORK/body"
}

# doc PATH PYTHON: answer 200 GET PATH PYTHON.
doc() {
	answer 200 GET "$1" "$2"
}

# eventually PATH PYTHON: doc, retried for 3 s (the sampler's figures are
# those of its last one-second interval).
eventually() {
	local i
	for i in $(seq 1 15); do
		doc "$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	doc "$@"
}

# under_traffic PATH PYTHON: eventually, with a ping before each try, so
# that the sampler's last interval always has requests in it.
under_traffic() {
	local i
	for i in $(seq 1 15); do
		kc ping >/dev/null 2>&1
		sleep 0.2
		doc "$@" >/dev/null 2>&1 && return 0
	done
	doc "$@"
}

# field PATH PYTHON-EXPRESSION: print a value of a document.
field() {
	doc "$1" "print($2)"
}

# live_check DESCRIPTION COMMAND...: check, while this test's appliance
# runs; once it is gone the check fails without asking anything (what then
# listens on the port is not ours).
live_check() {
	if kill -0 "$KC_PID" 2>/dev/null; then
		check "$@"
		return
	fi
	CHECKS=$((CHECKS + 1))
	FAILED=$((FAILED + 1))
	log "FAIL: $1 (not run: the appliance is gone)"
}

# exits WANT COMMAND...: COMMAND exits with WANT.
exits() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	echo "exit $rc (want $want)"
	[ "$rc" -eq "$want" ]
}

admin_config admin "$WORK/admin.token"
start_appliance "$WORK/admin.yaml"
# keepalive URL [CAFILE]: 20 GETs of /api/v1/status on one connection,
# each 200, in under 0.7 s all together (about 0.1 s here; 0.8 s or more
# when every answer waits for a delayed ACK).
keepalive() {
	python3 - "$@" <<'PY'
import http.client, ssl, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
if u.scheme == "https":
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    ctx.check_hostname = False
    c = http.client.HTTPSConnection(u.hostname, u.port, timeout=5, context=ctx)
else:
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
t0 = time.monotonic()
for i in range(20):
    c.request("GET", "/api/v1/status")
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    if i == 0:
        sock = c.sock
    assert c.sock is sock, "the connection was not kept alive"
el = time.monotonic() - t0
assert el < 0.7, "20 answers took %.2f s" % el
PY
}

check "the admin server says where it listens" \
	grep -q "admin server on $URL/" "$APPLOG"

# ---- every document, with its documented shape --------------------------
check "GET /api/v1/status" doc /api/v1/status '
assert {"version", "uptime_s", "config", "durability", "production",
        "draining", "healthy", "time_ms", "in_flight"} <= set(d), d
assert d["healthy"] is True and d["draining"] is False, d
assert d["durability"] == "batch" and d["production"] is False, d
assert isinstance(d["uptime_s"], int) and d["uptime_s"] >= 0, d
m = d["memory"]
# tap.yaml: memory_mb 256, no hugepages: one heap of that size.
assert m["heap_bytes"] == 256 << 20, m
assert 0 < m["heap_allocated_bytes"] < m["heap_bytes"], m
assert m["heap_allocations"] > 0 and m["rss_bytes"] > 1 << 20, m'
check "GET /api/v1/ports" doc /api/v1/ports '
p = d["ports"]
assert len(p) == 1 and p[0]["name"] == "kct0" and p[0]["link_up"] is True, d
assert {"port_id", "driver", "speed_mbps", "rx_packets", "tx_packets",
        "rx_bytes", "tx_bytes", "rx_errors", "tx_errors", "rx_missed",
        "rx_nombuf", "rx_pps", "tx_pps", "rx_bps", "tx_bps",
        "queues", "numa_socket", "checksum_offload",
        "exception"} <= set(p[0]), d
assert p[0]["checksum_offload"] == {"rx": True, "tx": True}, d
assert p[0]["exception"] is None and p[0]["numa_socket"] >= 0, d
m = p[0]["mbufs"]
assert 0 < m["in_use"] < m["size"], m
assert {"queue", "rx_packets", "rx_bytes", "tx_packets",
        "tx_bytes"} <= set(p[0]["queues"][0]), d'
check "GET /api/v1/lcores" doc /api/v1/lcores '
l = d["lcores"]
assert len(l) == 1 and l[0]["lcore"] == 1, d
assert l[0]["role"] == "rx+worker" and l[0]["worker"] == 0, d
assert {"busy_pct", "rx_pps", "requests_per_s", "busy_cycles",
        "total_cycles"} <= set(l[0]), d'
check "GET /api/v1/rings (run-to-completion: none)" doc /api/v1/rings '
assert d["rings"] == [] and d["enqueue_failures"] == 0, d'
check "GET /api/v1/stats" doc /api/v1/stats '
assert {"kcp_requests", "kcp_replies", "refused_draining",
        "drop_ring_full"} <= set(d["counters"]), d
assert all(isinstance(v, int) for v in d["counters"].values()), d
assert "ring_full" in d["drops_by_reason"], d
assert {"drops", "requests_per_s", "replies_per_s", "drops_per_s"} <= set(d), d'
check "GET /api/v1/latency" doc /api/v1/latency '
for w in ("since_start", "last_interval"):
    assert {"count", "percentiles", "histogram"} <= set(d[w]), d
    assert set(d[w]["percentiles"]) == {"p50_us", "p90_us", "p99_us",
                                        "p999_us"}, d'
check "GET /api/v1/journal" doc /api/v1/journal '
s = d["shards"]
assert len(s) == 1 and s[0]["shard"] == 0 and s[0]["state"] == "ok", d
assert {"last_seq", "durable_seq", "held_replies", "groups", "fsyncs",
        "last_fsync_us", "max_fsync_us", "bytes_written",
        "write_errors"} <= set(s[0]), d'
check "GET /api/v1/ledger" doc /api/v1/ledger '
assert d["enabled"] is True, d
assert {"accounts", "live_coins", "dead_coins", "supply", "next_coin",
        "mutations", "reaped", "last_audit"} <= set(d), d
assert d["last_audit"] is None, d'
check "GET /api/v1/queues (none yet)" doc /api/v1/queues 'assert d == {"queues": []}, d'
check "GET /api/v1/events" doc /api/v1/events '
assert isinstance(d["events"], list), d
assert all({"time_ms", "text"} <= set(e) for e in d["events"]), d'
check "GET / is the status page" sh -c "curl -sS --max-time 5 -D - '$URL/' | \
	grep -qi '^content-type: text/html'"
check "an unknown document: 404 with an error" answer 404 GET /api/v1/nothing \
	'assert "error" in d, d'
# civetweb writes an answer's headers and body apart: without TCP_NODELAY
# each answer on a kept-alive connection waited for the client's delayed
# ACK (about 40 ms), so a poller got 20 answers a second, not 50. Twenty
# answers on one connection take well under 0.8 s unless that is back.
check "20 answers on one kept-alive connection, none held ~40 ms by Nagle" \
	keepalive "$URL"

# ---- the figures move with traffic ---------------------------------------
REPLIES0=$(field /api/v1/stats 'd["counters"]["kcp_replies"]')
LAT0=$(field /api/v1/latency 'd["since_start"]["count"]')
SEQ0=$(field /api/v1/journal 'd["shards"][0]["last_seq"]')
COINS0=$(field /api/v1/ledger 'd["live_coins"]')
check "kcctl ping" kc ping admin
for i in 1 2 3; do kc publish adm "message $i" >/dev/null; done
check "kcctl publish (3 messages)" sh -c "'$KCCTL' -s $S --json fetch adm 0 | \
	grep -q '\"next_offset\": *3'"
check "kcctl commit (reader at 1)" kc commit adm reader 1
check "kcctl mint 2 coins" kc mint 1 100 2
sleep 1.2 # a sample after the traffic
check "stats: kcp_replies grew" eventually /api/v1/stats \
	"assert d['counters']['kcp_replies'] >= $REPLIES0 + 6, d['counters']"
check "lcores: busy and serving requests" under_traffic /api/v1/lcores '
l = d["lcores"][0]
assert l["busy_pct"] > 0 and l["requests_per_s"] > 0, d'
check "stats: requests_per_s over the last second" under_traffic /api/v1/stats \
	'assert d["requests_per_s"] > 0, d'
check "latency: since_start count grew" eventually /api/v1/latency "
assert d['since_start']['count'] >= $LAT0 + 6, d['since_start']
assert d['since_start']['percentiles']['p99_us'] > 0, d['since_start']"
check "journal: last_seq grew" eventually /api/v1/journal \
	"assert d['shards'][0]['last_seq'] > $SEQ0, d"
check "ledger: two more live coins after the mint" eventually /api/v1/ledger \
	"assert d['live_coins'] == $COINS0 + 2 and d['supply'] >= 200, d"
check "queues: adm with reader's lag" doc /api/v1/queues '
q = [q for q in d["queues"] if q["name"] == "adm"]
assert len(q) == 1, d
q = q[0]
assert q["end"] == 3 and q["depth"] == 2, q
assert q["consumers"] == [{"name": "reader", "offset": 1, "lag": 2}], q'
check "ports: frames counted" eventually /api/v1/ports '
p = d["ports"][0]
assert p["rx_packets"] > 0 and p["tx_packets"] > 0, p'

# ---- /metrics ------------------------------------------------------------
check "GET /metrics" status_is 200 GET /metrics
cp "$WORK/body" "$WORK/metrics"
check "promtool check metrics passes" sh -c "promtool check metrics <'$WORK/metrics'"
check "metrics: mbufs in use" grep -q '^kingcobra_port_mbufs_in_use{port="kct0"} [1-9]' "$WORK/metrics"
check "metrics: memory" sh -c "grep -q '^kingcobra_resident_memory_bytes [1-9]' '$WORK/metrics' &&
	grep -q '^kingcobra_heap_allocated_bytes [1-9]' '$WORK/metrics'"
check "kingcobra_kcp_replies_total is there and > 0" awk \
	'$1 == "kingcobra_kcp_replies_total" { found = 1; ok = $2 > 0 }
	 END { exit !(found && ok) }' "$WORK/metrics"
# What deploy/prometheus's alerts read.
check "metrics: the journal's file system, its shard neither full nor failed" awk '
	$1 == "kingcobra_journal_filesystem_free_bytes" { free = $2 }
	$1 == "kingcobra_journal_filesystem_size_bytes" { size = $2 }
	$1 == "kingcobra_journal_full{shard=\"0\"}" { full = $2 "" }
	$1 == "kingcobra_journal_failed{shard=\"0\"}" { failed = $2 "" }
	END { exit !(free > 0 && size >= free && full == "0" && failed == "0") }' \
	"$WORK/metrics"
check "metrics: the admin server's answers counted, no audit yet" awk '
	$1 == "kingcobra_admin_responses_total{code=\"2xx\"}" { ok = $2 > 0 }
	$1 == "kingcobra_admin_responses_total{code=\"5xx\"}" { five = $2 "" }
	/^kingcobra_ledger_audit/ { audit = 1 }
	END { exit !(ok && five == "0" && !audit) }' "$WORK/metrics"

# ---- kcctl status --------------------------------------------------------
check "kcctl status" sh -c "'$KCCTL' --admin $URL status >'$WORK/status.txt'"
cat "$WORK/status.txt"
check "kcctl status: health, port, lcore, requests, journal, ledger, queue" \
	sh -c "grep -q '^kingcobra .*: healthy, up ' '$WORK/status.txt' &&
	grep -q '^port kct0 (net_tap): link up' '$WORK/status.txt' &&
	grep -q '^lcore 1 (rx+worker 0): busy ' '$WORK/status.txt' &&
	grep -q '^requests: .* latency p50 .* p99 ' '$WORK/status.txt' &&
	grep -q '^journal shard 0: ok, durable seq ' '$WORK/status.txt' &&
	grep -q '^memory: resident [0-9.]* MiB (hugepages not counted), EAL heap [0-9.]* of 256.0 MiB allocated in [1-9][0-9]* allocations\$' '$WORK/status.txt' &&
	grep -q '^ledger: [0-9]* live coins, supply ' '$WORK/status.txt' &&
	grep -q '^queue adm (worker 0): depth 2, .* max lag 2' '$WORK/status.txt'"
check "kcctl --json status: one object with every document" sh -c "
	'$KCCTL' --admin $URL/ --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = [\"status\", \"ports\", \"lcores\", \"rings\", \"stats\", \"latency\",
         \"journal\", \"ledger\", \"queues\", \"events\"]
assert list(d) == [\"admin\"] + names, list(d)
assert d[\"admin\"] == \"$URL\", d[\"admin\"]
assert d[\"status\"][\"healthy\"] is True, d[\"status\"]
assert d[\"stats\"][\"counters\"][\"kcp_replies\"] > 0, d[\"stats\"]
assert d[\"queues\"][\"queues\"][0][\"name\"] == \"adm\", d[\"queues\"]'"
check "kcctl status: nothing listening exits 3" \
	exits 3 "$KCCTL" --admin http://127.0.0.1:1 status
check "kcctl: an admin URL that is not http(s) is a usage error (2)" \
	exits 2 "$KCCTL" --admin ftp://127.0.0.1 status

# ---- actions: the token --------------------------------------------------
check "POST drain without a token: 401" answer 401 POST \
	/api/v1/actions/drain 'assert "error" in d, d'
check "POST drain with a wrong token: 401" answer 401 POST \
	/api/v1/actions/drain 'assert "error" in d, d' \
	-H "Authorization: Bearer $(cat "$WORK/wrong.token")"
check "POST drain with the token as Basic: 401" answer 401 POST \
	/api/v1/actions/drain 'assert "error" in d, d' \
	-H "Authorization: Basic $TOKEN"
check "GET on an action: 405" answer 405 GET /api/v1/actions/drain \
	'assert "error" in d, d'
# A URL that decodes to more than one line must not write lines of its own
# into the audit log.
FORGED='kingcobra: admin: POST /api/v1/actions/drain from 10.9.9.9: 200'
check "POST to an action whose name holds a line break: 401" answer 401 POST \
	"/api/v1/actions/x%0A$(printf '%s' "$FORGED" | sed 's/ /%20/g')%0Ax" \
	'assert "error" in d, d'
check "kcctl action drain with a wrong token exits 4" exits 4 \
	"$KCCTL" --admin $URL --token-file "$WORK/wrong.token" action drain
check "kcctl action without --token-file is a usage error (2)" exits 2 \
	"$KCCTL" --admin $URL action drain
check "kcctl action with an unknown name is a usage error (2)" exits 2 \
	"$KCCTL" --admin $URL --token-file "$WORK/admin.token" action reboot
sleep 1.2 # a sample after the refused drains
check "nothing drained: status.draining false" doc /api/v1/status \
	'assert d["draining"] is False, d'
check "nothing drained: requests still served" kc ping
check "POST audit with the token: 200, ok true" answer 200 POST \
	/api/v1/actions/audit 'assert d["ok"] is True and d["violations"] == 0, d' \
	-H "Authorization: Bearer $TOKEN"
check "ledger: last_audit after the audit" doc /api/v1/ledger '
a = d["last_audit"]
assert a is not None and a["ok"] is True and "time_ms" in a, d'
check "GET /metrics after the audit" status_is 200 GET /metrics
cp "$WORK/body" "$WORK/metrics2"
check "metrics: the audit held; the refused actions counted as 4xx" awk '
	$1 == "kingcobra_ledger_audit_ok" { ok = $2 "" }
	$1 == "kingcobra_ledger_audit_violations" { v = $2 "" }
	$1 == "kingcobra_ledger_audit_timestamp_seconds" { t = $2 > 1.7e9 }
	$1 == "kingcobra_admin_responses_total{code=\"4xx\"}" { four = $2 >= 5 }
	END { exit !(ok == "1" && v == "0" && t && four) }' "$WORK/metrics2"
check "kcctl action audit" sh -c "'$KCCTL' --admin $URL --token-file \
	'$WORK/admin.token' --json action audit | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d[\"ok\"] is True and d[\"live_coins\"] >= 2, d'"
check "kcctl action snapshot" "$KCCTL" --admin $URL --token-file \
	"$WORK/admin.token" action snapshot
check "kcctl action drain" sh -c "'$KCCTL' --admin $URL --token-file \
	'$WORK/admin.token' --json action drain | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d[\"draining\"] is True and d[\"in_flight\"] == 0, d'"
check "draining: kcctl ping gets UNAVAILABLE (exit 1)" sh -c \
	"'$KCCTL' -s $S ping 2>&1 | grep -q '^ERR UNAVAILABLE'; \
	'$KCCTL' -s $S ping; test \$? -eq 1"
check "draining: status.draining true" eventually /api/v1/status \
	'assert d["draining"] is True, d'
check "draining: refused_draining counted" eventually /api/v1/stats \
	'assert d["counters"]["refused_draining"] >= 2, d["counters"]'
check "draining: the event is listed" doc /api/v1/events '
assert any(e["text"].startswith("action drain by 127.0.0.1: 200")
           for e in d["events"]), d'
check "kcctl action resume" sh -c "'$KCCTL' --admin $URL --token-file \
	'$WORK/admin.token' action resume | grep -q '\"draining\": false'"
check "resumed: requests are OK again" kc ping again
check "resumed: status.draining false" eventually /api/v1/status \
	'assert d["draining"] is False, d'
check "the log has each action with its answer" sh -c "
	grep -q '^kingcobra: admin: POST /api/v1/actions/drain from 127.0.0.1: 401$' '$APPLOG' &&
	test \$(grep -c '^kingcobra: admin: POST /api/v1/actions/drain from 127.0.0.1: 401$' '$APPLOG') -eq 4 &&
	grep -q '^kingcobra: admin: GET /api/v1/actions/drain from 127.0.0.1: 405$' '$APPLOG' &&
	grep -q '^kingcobra: admin: POST /api/v1/actions/audit from 127.0.0.1: 200$' '$APPLOG' &&
	grep -q '^kingcobra: admin: POST /api/v1/actions/snapshot from 127.0.0.1: 200$' '$APPLOG' &&
	grep -q '^kingcobra: admin: POST /api/v1/actions/drain from 127.0.0.1: 200$' '$APPLOG' &&
	grep -q '^kingcobra: admin: POST /api/v1/actions/resume from 127.0.0.1: 200$' '$APPLOG'"
check "a request cannot forge an audit line" sh -c \
	"! grep -F '$FORGED' '$APPLOG'"
check "the log never has the token (nor the wrong one)" sh -c \
	"! grep -qF -e '$TOKEN' -e '$(cat "$WORK/wrong.token")' '$APPLOG'"
stop_appliance
check "clean shutdown" test "$STOP_STATUS" -eq 0
check "the token is not in the final log either" sh -c "! grep -qF '$TOKEN' '$APPLOG'"

# ---- HTTPS ---------------------------------------------------------------
# inner_port_refuses: with TLS, civetweb's plain-HTTP port on 127.0.0.1
# (the kernel's pick) answers 403 to anyone but the TLS front end.
inner_port_refuses() {
	local inner code path
	inner=$(ss -Htlnp | awk -v p="pid=$KC_PID," -v a="127.0.0.1:$PORT" \
		'index($0, p) && $4 ~ /^127\.0\.0\.1:/ && $4 != a { print $4; exit }')
	[ -n "$inner" ] || { echo "no internal port found"; return 1; }
	for path in /api/v1/status /metrics / /api/v1/actions/audit; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			-X "$([ $path = /api/v1/actions/audit ] && echo POST || echo GET)" \
			-H "Authorization: Bearer $TOKEN" "http://$inner$path")
		echo "$inner$path: $code"
		[ "$code" = 403 ] || return 1
	done
}

# slow_handshakes: 24 connections that never send a handshake (the
# server has 16 relays) lock no one out, and are closed within the
# handshake deadline (5 s).
slow_handshakes() {
	python3 - "$PORT" "$WORK/admin.crt" <<'PY'
import socket, ssl, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(24)]
time.sleep(0.3)
ctx = ssl.create_default_context(cafile=sys.argv[2])
t0 = time.monotonic()
with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
    with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
        t.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            b = t.recv(65536)
            if not b:
                break
            data += b
took = time.monotonic() - t0
assert data.startswith(b"HTTP/1.1 200"), data[:100]
time.sleep(5.5)
closed = 0
for s in idle:
    s.settimeout(0.5)
    try:
        closed += s.recv(1) == b""
    except ConnectionResetError:
        closed += 1
    except socket.timeout:
        pass
print("served in %.2f s beside 24 silent connections; %d of them closed "
      "by the server" % (took, closed))
assert took < 2 and closed == 24
PY
}

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/admin.key" \
	-out "$WORK/admin.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/other.key" \
	-out "$WORK/other.crt" 2>/dev/null
cat "$WORK/admin.crt" "$WORK/admin.key" >"$WORK/admin.pem"
# This run's token file has a second line after the token.
admin_config admin-tls "$WORK/admin-lines.token" "$WORK/admin.pem"
start_appliance "$WORK/admin-tls.yaml"
TLS=https://127.0.0.1:$PORT
live_check "the admin server says it is HTTPS" grep -q "admin server on $TLS/" "$APPLOG"
live_check "plain HTTP to the HTTPS port fails" sh -c \
	"! curl -sSf --max-time 5 -o /dev/null http://127.0.0.1:$PORT/api/v1/status"
live_check "kcctl over plain HTTP to the HTTPS port fails (exit 5)" exits 5 \
	"$KCCTL" --admin $URL status
live_check "the appliance is still running after plain HTTP on its HTTPS port" \
	kill -0 "$KC_PID"
live_check "openssl s_client verifies the certificate (Verify return code: 0)" sh -c \
	"timeout 10 openssl s_client -connect 127.0.0.1:$PORT -CAfile '$WORK/admin.crt' \
	-verify_ip 127.0.0.1 </dev/null 2>&1 | grep -q 'Verify return code: 0 (ok)'"
# TLS 1.2 only with forward secrecy and an AEAD (issue 23): RSA key
# exchange and CBC-SHA1 suites are refused.
live_check "TLS 1.2 with ECDHE and AES-GCM is taken" sh -c \
	"timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_2 \
	-cipher ECDHE-RSA-AES128-GCM-SHA256 </dev/null 2>&1 | \
	grep -q 'Cipher is ECDHE-RSA-AES128-GCM-SHA256'"
live_check "TLS 1.2 without forward secrecy (AES128-GCM-SHA256) is refused" sh -c \
	"! timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_2 \
	-cipher AES128-GCM-SHA256 </dev/null 2>&1 | grep -q 'Cipher is AES'"
live_check "TLS 1.2 with CBC-SHA1 (ECDHE-RSA-AES128-SHA) is refused" sh -c \
	"! timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_2 \
	-cipher ECDHE-RSA-AES128-SHA </dev/null 2>&1 | grep -q 'Cipher is ECDHE'"
sleep 0.5
check "the appliance is still running after a TLS handshake" kill -0 "$KC_PID"
live_check "curl --cacert: GET /api/v1/status over HTTPS" sh -c \
	"curl -sS --max-time 5 --cacert '$WORK/admin.crt' $TLS/api/v1/status | \
	python3 -c 'import json, sys; assert json.load(sys.stdin)[\"healthy\"] is True'"
live_check "curl without the CA refuses the server" sh -c \
	"! curl -sS --max-time 5 -o /dev/null $TLS/api/v1/status"
live_check "HTTPS: 20 answers on one kept-alive connection, none held by Nagle" \
	keepalive "$TLS" "$WORK/admin.crt"
live_check "kcctl status over HTTPS with --cacert" sh -c "'$KCCTL' --admin $TLS \
	--cacert '$WORK/admin.crt' status | grep -q '^kingcobra .*: healthy'"
live_check "kcctl --json status over HTTPS" sh -c "'$KCCTL' --admin $TLS \
	--cacert '$WORK/admin.crt' --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d[\"status\"][\"healthy\"] is True and d[\"admin\"] == \"$TLS\", d'"
live_check "kcctl without --cacert refuses the server (exit 4)" exits 4 \
	"$KCCTL" --admin $TLS status
live_check "kcctl with another CA refuses the server (exit 4)" exits 4 \
	"$KCCTL" --admin $TLS --cacert "$WORK/other.crt" status
live_check "kcctl checks the name: localhost is not in the certificate (exit 4)" \
	exits 4 "$KCCTL" --admin https://localhost:$PORT --cacert "$WORK/admin.crt" status
check "kcctl --cacert with an http URL is a usage error (2)" exits 2 \
	"$KCCTL" --admin $URL --cacert "$WORK/admin.crt" status
live_check "HTTPS: POST audit without a token: 401" sh -c "curl -sS --max-time 5 \
	--cacert '$WORK/admin.crt' -o /dev/null -w '%{http_code}' -X POST \
	$TLS/api/v1/actions/audit | grep -qx 401"
live_check "HTTPS: kcctl action audit (only the token file's first line is the token)" sh -c "'$KCCTL' --admin $TLS --cacert \
	'$WORK/admin.crt' --token-file '$WORK/admin.token' action audit | \
	grep -q '\"ok\": true'"
live_check "HTTPS: the audit is logged, the token is not" sh -c \
	"grep -q '^kingcobra: admin: POST /api/v1/actions/audit from 127.0.0.1: 200$' '$APPLOG' &&
	! grep -qF '$TOKEN' '$APPLOG'"
# Issue 23: the internal plain-HTTP port served every local user.
live_check "HTTPS: the internal plain-HTTP port answers 403 to all but the TLS front end" \
	inner_port_refuses
# Issue 23: a few dozen trickled handshakes locked the HTTPS admin out.
live_check "HTTPS: silent handshakes lock no one out and are closed within 5 s" \
	slow_handshakes
live_check "HTTPS: still served after them" sh -c \
	"curl -sS --max-time 5 --cacert '$WORK/admin.crt' -o /dev/null -w '%{http_code}' \
	$TLS/api/v1/status | grep -qx 200"
stop_appliance
check "HTTPS: clean shutdown" test "$STOP_STATUS" -eq 0
finish
