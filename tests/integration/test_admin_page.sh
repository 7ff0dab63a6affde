#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The status page `/` in a real browser (headless Chromium) against the
# appliance on a TAP port: the page loads, its figures are the API's (not
# placeholders), they move while traffic runs without reloading the page,
# and it says "disconnected" when the appliance goes away. A screenshot at
# a laptop's 1366x768 is kept in the build dir for people to look at.
#
# One browser session for the whole test, driven over the DevTools
# protocol on a pipe (--remote-debugging-pipe: no port, no websocket
# library): the page polls in real time, which --dump-dom's virtual time
# does not give, and a figure is read with one expression instead of
# scraping HTML.
. "$(dirname "$0")/lib.sh"
require_root
if ! command -v chromium >/dev/null; then
	echo "chromium is not installed" >&2
	exit 77 # meson: skipped
fi
S=$NET.2
ADMIN=127.0.0.1:$((ADMIN_PORT + 2)) # tap-admin.yaml's admin.port
SHOT=$BUILD/tests/integration/status-page.png

# page.py URL PROFILE_DIR: open URL in headless Chromium, then answer one
# line per command line: "eval JS" prints the value (strings bare, the rest
# as JSON), "shot FILE" saves a PNG of the viewport.
cat >"$WORK/page.py" <<'EOF'
import base64, json, os, signal, subprocess, sys

url, profile = sys.argv[1:3]
cmd_r, cmd_w = os.pipe()	# us -> chromium's fd 3
ev_r, ev_w = os.pipe()		# chromium's fd 4 -> us


def fds():
	os.dup2(cmd_r, 3)
	os.dup2(ev_w, 4)


browser = subprocess.Popen(
	['chromium', '--headless', '--no-sandbox', '--disable-gpu',
	 '--remote-debugging-pipe', '--window-size=1366,768',
	 '--user-data-dir=' + profile, '--no-first-run', 'about:blank'],
	pass_fds=(3, 4), preexec_fn=fds, start_new_session=True,
	stdin=subprocess.DEVNULL,
	stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(cmd_r)
os.close(ev_w)


def bye(*_):
	# Chromium and its helpers (renderer, zygote) are a process group.
	try:
		os.write(cmd_w, b'{"id":0,"method":"Browser.close"}\0')
		browser.wait(timeout=5)
	except (OSError, subprocess.TimeoutExpired):
		pass
	try:
		os.killpg(browser.pid, signal.SIGKILL)
	except ProcessLookupError:
		pass
	browser.wait()
	sys.exit(0)


signal.signal(signal.SIGTERM, bye)
pending = b''
last_id = 0


def call(method, params=None, session=None):
	global pending, last_id
	last_id += 1
	msg = {'id': last_id, 'method': method, 'params': params or {}}
	if session:
		msg['sessionId'] = session
	os.write(cmd_w, json.dumps(msg).encode() + b'\0')
	while True:		# events and other answers: skip them
		while b'\0' not in pending:
			chunk = os.read(ev_r, 1 << 20)
			if not chunk:
				sys.exit('chromium closed its pipe')
			pending += chunk
		line, pending = pending.split(b'\0', 1)
		m = json.loads(line)
		if m.get('id') == last_id:
			if 'error' in m:
				return {'error': m['error']}
			return m['result']


target = call('Target.createTarget', {'url': url})['targetId']
session = call('Target.attachToTarget',
	       {'targetId': target, 'flatten': True})['sessionId']
print('ready', flush=True)
for line in sys.stdin:
	verb, _, arg = line.rstrip('\n').partition(' ')
	if verb == 'eval':
		r = call('Runtime.evaluate', {'expression': arg,
					      'returnByValue': True}, session)
		v = r.get('result', {}).get('value', r)
		print(v if isinstance(v, str) else json.dumps(v), flush=True)
	elif verb == 'shot':
		r = call('Page.captureScreenshot', {'format': 'png'}, session)
		with open(arg, 'wb') as f:
			f.write(base64.b64decode(r['data']))
		print('saved', flush=True)
	else:
		print('unknown command', verb, flush=True)
bye()
EOF

# page COMMAND: one command to the browser; its answer in $R. (Not in a
# command substitution: a coprocess's pipes do not reach subshells.)
page() {
	local line=$*
	printf '%s\n' "${line//$'\n'/ }" >&"${PAGE[1]}"
	R=""
	IFS= read -r -t 30 R <&"${PAGE[0]}"
}
# fig ID: the raw value (data-value) of the page's figure ID, in $R.
fig() { page eval "document.getElementById('$1').dataset.value"; }
# page_true JS: the expression is true on the page (for check).
page_true() {
	page eval "!!($1)"
	[ "$R" = true ] || { echo "false on the page: $1"; return 1; }
}
# wait_page JS SECONDS: until the expression is true on the page.
wait_page() {
	local i
	for i in $(seq 1 $(($2 * 4))); do
		page eval "!!($1)"
		[ "$R" = true ] && return 0
		sleep 0.25
	done
	echo "still false after $2 s: $1"
	return 1
}
# api DOC EXPR: a Python expression over d, the document /api/v1/DOC.
api() {
	curl -sf -m 5 "http://$ADMIN/api/v1/$1" | python3 -c \
		"import json, sys; d = json.load(sys.stdin); print($2)"
}
# same_as_api ID DOC EXPR: the page's figure ID equals the API's.
same_as_api() {
	local want
	want=$(api "$2" "$3") || { echo "/api/v1/$2 did not answer"; return 1; }
	fig "$1"
	echo "page $1 = '$R', api $2: $3 = '$want'"
	python3 -c "import sys; sys.exit(float('$R') != float('$want'))"
}
# count_is SELECTOR N: the page has N elements matching SELECTOR.
count_is() {
	page eval "document.querySelectorAll('$1').length"
	echo "$1: $R on the page, want $2"
	[ "$R" = "$2" ]
}

start_appliance "$CFG/tap-admin.yaml"
for i in $(seq 1 50); do
	curl -sf -m 1 "http://$ADMIN/api/v1/status" >/dev/null && break
	sleep 0.1
done
check "the admin API answers on $ADMIN" curl -sf -m 3 "http://$ADMIN/api/v1/status"
check "/ serves the embedded page" sh -c \
	"curl -sf -m 3 http://$ADMIN/ | grep -q '<title>KingCobra status</title>'"

# Something for every panel: coins, a queue with a consumer behind.
"$KCCTL" -s $S mint 1 100 3 >/dev/null
for i in 1 2 3 4 5; do
	"$KCCTL" -s $S publish orders "order $i" >/dev/null
done
"$KCCTL" -s $S commit orders billing 2 >/dev/null
# Money moving for the money-flow picture: the bank to 1 (300), 1 to 2
# (coins 1 and 2: 200), 2 back to 1 (coin 1: 100).
"$KCCTL" -s $S -c 1 transfer 1 2 1 2 >/dev/null
"$KCCTL" -s $S -c 2 transfer 2 1 1 >/dev/null
sleep 1.2 # the sampler's next round

coproc PAGE { exec python3 "$WORK/page.py" "http://$ADMIN/" "$WORK/chromium"; }
PAGE_CHILD=$PAGE_PID
stop_page() {
	kill -TERM "$PAGE_CHILD" 2>/dev/null
	wait "$PAGE_CHILD" 2>/dev/null
}
on_exit stop_page
IFS= read -r -t 30 R <&"${PAGE[0]}"
check "headless Chromium opened the page" test "$R" = ready
[ "$R" = ready ] || { finish; exit 1; }

check "the page connects and shows figures" wait_page \
	"document.body.dataset.conn === 'connected' &&
	 document.getElementById('kcp-replies').dataset.value !== ''" 10
check "no panel is stale (every endpoint answered in a known shape)" \
	wait_page "document.querySelectorAll('.stale').length === 0" 5
page eval "[...document.querySelectorAll('.stale')].map((s) => s.id + ': ' + s.title).join('; ')"
[ -z "$R" ] || log "stale: $R"
page eval "[...document.querySelectorAll('[id][data-value]')].filter((e) => e.dataset.value === '').map((e) => e.id).join(' ')"
check "no figure left as a placeholder" test -z "$R"
[ -z "$R" ] || log "placeholders: $R"
fig health
check "health badge: healthy" test "$R" = healthy
want=$(api status "d['version']")
page eval "document.getElementById('version').textContent"
check "version is the API's ($want)" test "$R" = "$want"
want=$(api status "d['durability']")
page eval "document.getElementById('durability').textContent"
check "durability is the API's ($want)" test "$R" = "$want"
fig uptime
check "uptime shown ($R s)" sh -c "echo '$R' | grep -Eq '^[0-9]+$'"
check "one row per port, kct0's link as the API says" page_true \
	"document.querySelector('#ports tr[data-port=kct0] td[data-link=$(api ports \
	"'up' if d['ports'][0]['link_up'] else 'down'")]')"
check "a busy bar per lcore" count_is '#lcores [data-lcore]' \
	"$(api lcores "len(d['lcores'])")"
check "a fill bar per worker ring" count_is '#rings [data-ring]' \
	"$(api rings "len(d['rings'])")"
check "a row per journal shard" count_is '#journal tr[data-shard]' \
	"$(api journal "len(d['shards'])")"
check "live coins as the API says (3 minted)" same_as_api live-coins ledger "d['live_coins']"
fig live-coins
check "live coins: 3" test "$R" = 3
# Committed messages may already be gone (retention): depth as the API says.
want=$(api queues "[q['depth'] for q in d['queues'] if q['name'] == 'orders'][0]")
check "queue orders: depth as the API says ($want)" page_true \
	"document.querySelector('#queues tr[data-queue=orders] td:nth-child(3)').dataset.value === '$want'"
check "queue orders: consumer billing 3 behind" page_true \
	"document.querySelector('#queues tr[data-queue=orders] td:nth-child(6)').dataset.value === '3'"
# The money-flow picture: as many accounts and pairs as the API's top
# accounts (the bank, 1 and 2; three pairs), the widest line the mint.
check "the money-flow picture draws the API's accounts" wait_page \
	"document.querySelectorAll('#flow-graph circle[data-account]').length === $(api \
	'analytics/flows?top=24' "len(d['vertices'])")" 5
check "... three accounts: the bank, 1 and 2" count_is '#flow-graph circle[data-account]' 3
check "... a line per pair of accounts (3)" count_is '#flow-graph path[data-edge]' \
	"$(api 'analytics/flows?top=24' "len({(e['from'], e['to']) for e in d['edges']})")"
check "... the widest line is the bank's 300 to account 1" page_true \
	"[...document.querySelectorAll('#flow-graph path')].sort((a, b) =>
	 b.getAttribute('stroke-width') - a.getAttribute('stroke-width'))[0].dataset.edge === '0>1'"
check "... account 2's net flow as the API says (100)" page_true \
	"document.querySelector('#flow-graph circle[data-account=\"2\"]').dataset.net === '100'"
fig lat-p99
check "latency p99 is a number ($R us)" sh -c "echo '$R' | grep -Eq '^[0-9.]+$'"

# Traffic for 6 s; the same page, not reloaded, must follow it.
fig kcp-replies
before=$R
(
	n=0
	end=$((SECONDS + 6))
	while [ $SECONDS -lt $end ]; do
		"$KCCTL" -s $S ping >/dev/null && n=$((n + 1))
	done
	echo $n >"$WORK/pings"
) &
TRAFFIC=$!
on_exit "kill $TRAFFIC"
check "requests/s rises above 0 during traffic" wait_page \
	"parseFloat(document.getElementById('requests-per-s').dataset.value) > 0" 4
sleep 2 # a few samples of the traffic on the charts
page shot "$SHOT"
check "screenshot saved" test -s "$SHOT"
log "screenshot of the status page: $SHOT"
wait $TRAFFIC
pings=$(cat "$WORK/pings")
log "replies before: $before; $pings pings sent"
check "total replies grew by at least the $pings pings, same page" wait_page \
	"parseInt(document.getElementById('kcp-replies').dataset.value) >= $before + $pings" 4
sleep 1.2
check "total replies match the API" same_as_api kcp-replies stats "d['counters']['kcp_replies']"
check "the status page is still connected" page_true "document.body.dataset.conn === 'connected'"

# The appliance goes away: the page says so instead of freezing.
stop_appliance
check "clean shutdown (exit 0)" test "$STOP_STATUS" -eq 0
check "the page shows 'disconnected'" wait_page \
	"document.body.dataset.conn === 'disconnected' &&
	 document.getElementById('conn').textContent === 'disconnected'" 6
fig health
check "health says unknown, not the last 'healthy'" test "$R" = unknown
fig kcp-replies
check "the last figures stay readable ($R replies)" test -n "$R"
finish
