/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * KCP requests, as the RX lcore and the worker take them, with a journal
 * attached (docs/reliability.md). An input is a sequence of frames; each
 * starts with a selector byte:
 * - bit 7 set: the rest of the input up to a length is a raw Ethernet frame
 *   (anything at all), classified as the RX lcore does;
 * - otherwise a request the harness builds and signs from the input's
 *   choices: op, client, header tweaks, message id time and sequence (few
 *   values, so retries and reuses happen), the clock's advance, payload.
 * Every frame is classified from an exactly sized heap copy (an external
 * mbuf buffer), so the sanitizer sees any read past it. A request taken
 * then goes (1) through kc_ops_apply on an exactly sized copy of its payload
 * against a journal-less store and ledger, as recovery decodes it, and (2)
 * through kc_ops_execute on a worker whose journal (durability batch, few
 * pending REPLYs, small buffer) lives in /dev/shm, so duplicate detection,
 * the replay window, journal-space refusals, snapshots and TRAIL's control
 * thread run too. The worker restarts every few thousand inputs, which
 * replays its journal through recovery; the journal is wiped when large.
 * Inputs of odd length run with journal.reads: all, the others with none.
 *
 * Service calls run too: the worker's poll (kc_calls_poll) makes the
 * SETTLEs of deadlines and holds and delivers again.
 * A call's id is its CALL's message id, which an input cannot know: a
 * RESPOND or REPORT whose payload starts with 15 bytes of 0xcc and a
 * byte k names the k-th CALL sent last instead.
 *
 * Checked: every REPLY sent is a well-formed, signed REPLY frame to the
 * request's sender with the request's message id; every packet the worker
 * sends of its own accord is a signed DELIVER to the service or a CALL's
 * REPLY to its caller; an OK REPLY's payload is one the op's own
 * descriptor reads; the request's fields and the REPLY's
 * render as one printable line; recovery of what the worker journaled
 * succeeds (no divergence).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "kc_opdesc.h"
#include "kc_proto_json.h"
#include "kc_recovery.h"
#include "kc_worker.h"
#include "kc_test_eal.h"
#include "kc_test_frames.h"

#include "kc_fuzz.h"
#include "kc_fuzz_worker.h"

#define FRAMES_MAX 16
#define CALL_MARK "\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc"
#define RESTART_EVERY 4000u
#define WIPE_BYTES (16ull << 20)


static struct rte_mempool *mp;
static struct kc_keyring *keys;
static struct kc_pkt_ctx ctx;
static struct kc_lcore_stats st;
static struct kc_config cfg;
static struct kc_worker_state ws;   /* with the journal */
static struct kc_queue_store *qs2;  /* kc_ops_apply only */
static struct kc_ledger *l2;
static char dir[160];
static uint64_t now_ms;             /* the harness's clock */
static uint64_t inputs;
static int gen;
static struct kc_auth_mb *auth_mb;  /* the worker's REPLYs in bursts */
static uint8_t calls_sent[8][KC_MSG_ID_LEN];	/* the CALLs' ids */
static uint32_t nb_calls_sent;

/* ---- the worker ---------------------------------------------------------- */

static void fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_kcp: %s: %s\n", what, err);
	abort();
}

static void worker_up(void)
{
	struct kc_queue_limits lim = {
		.max_queues = 4, .max_bytes_per_queue = 64u << 10,
		.max_messages_per_queue = 256, .max_consumers_per_queue = 4,
	};
	struct kc_worker_state *w = &ws;
	char name[32], err[512];

	memset(&ws, 0, sizeof(ws));
	ws.pc = &ctx;
	ws.st = &st;
	ws.auth_mb = auth_mb;
	snprintf(name, sizeof(name), "fz_q%d", gen++);
	ws.store = kc_queue_store_create(name, &lim, 0);
	if (ws.store == NULL)
		fail("queue store", "cannot create");
	if (kc_ledger_ws_create(&cfg, &ws, 0, err, sizeof(err)) != 0)
		fail("ledger", err);
	if (kc_recover_workers(&cfg, &w, 1, 0, err, sizeof(err)) != 0)
		fail("recovery of the fuzzed journal", err);
	if (kc_journal_start(ws.j) != 0)
		fail("journal", "cannot start");
	if (kc_ledger_ctl_start(&ws, dir) != 0)
		fail("ledger", "control thread");
}

/* REPLYs held for their group: wait until it is on disk, then check. */
static void release_held(void);

static void worker_down(void)
{
	release_held();
	kc_ledger_ctl_stop(&ws);
	kc_ledger_ws_free(&ws);
	kc_journal_stop(ws.j);
	kc_journal_close(ws.j);
	kc_idem_free(ws.idem);
	rte_free(ws.pend);
	rte_free(ws.snap_buf);
	kc_queue_store_free(ws.store);
	memset(&ws, 0, sizeof(ws));
}

static uint64_t dir_bytes(void)
{
	char cmd[192];
	unsigned long long kb = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "du -sk '%s'", dir);
	p = popen(cmd, "r");
	if (p != NULL) {
		if (fscanf(p, "%llu", &kb) != 1)
			kb = 0;
		pclose(p);
	}
	return kb * 1024;
}

static void wipe(void)
{
	char cmd[192];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
	if (system(cmd) != 0)
		fail("wipe", dir);
}

static void cleanup(void)
{
	char cmd[192];

	if (ws.j != NULL)
		worker_down();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_kcp: cannot remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	kc_test_eal_init_lcores("fuzz_kcp", "0");
	/* The ports' pool's name: service calls take their mbufs there. */
	mp = rte_pktmbuf_pool_create("kc_mbufs_s0", 1023, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	keys = kc_keyring_parse(kc_fuzz_keys_text,
				sizeof(kc_fuzz_keys_text) - 1, "inline",
				err, sizeof(err));
	if (mp == NULL || keys == NULL)
		fail("set-up", err);
	kc_fuzz_workdir(dir, sizeof(dir), "kcp");
	ctx.udp_port = KC_UDP_PORT_DEFAULT;
	ctx.keys = keys;
	ctx.port[0].port_id = 0;
	ctx.port[0].ip = T_APPLIANCE_IP;
	ctx.port[0].netmask = 0xffffff00u;
	ctx.port[0].mac = t_appliance_mac;
	kc_fuzz_worker_cfg(&cfg, dir);
	auth_mb = kc_auth_mb_create(err, sizeof(err));
	if (auth_mb == NULL)
		fail("multi-buffer HMAC", err);
	/* Near the wall clock, which the SETTLEs of kc_calls_poll use. */
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		now_ms = (uint64_t)ts.tv_sec * 1000u;
	}
	worker_up();
	/* The journal-less store and ledger kc_ops_apply runs against. */
	{
		struct kc_queue_limits lim = {
			.max_queues = 4, .max_bytes_per_queue = 64u << 10,
			.max_messages_per_queue = 256,
			.max_consumers_per_queue = 4,
		};

		const struct kc_ledger_limits llim = {
			.max_accounts = cfg.ledger.max_accounts,
			.max_coins = cfg.ledger.max_coins,
			.reap_after_s = cfg.ledger.reap_after_s,
		};

		qs2 = kc_queue_store_create("fz_apply", &lim, 0);
		l2 = kc_ledger_create("fz_apply", &llim, 0);
		if (qs2 == NULL || l2 == NULL)
			fail("set-up", "the journal-less store and ledger");
	}
	atexit(cleanup);
	return 0;
}

/* ---- checks ------------------------------------------------------------- */

static void check_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		KC_FUZZ_CHECK(s[i] >= 0x20 && s[i] < 0x7f,
			      "byte 0x%02x at %zu of %.*s", (unsigned char)s[i],
			      i, (int)n, s);
}

/* The fields of a payload, as kcctl and kcq print them. */
static void render(const struct kc_fields *f)
{
	char text[8192];
	size_t n = kc_fields_text(f, 0, text, sizeof(text));
	json_t *o = json_object();
	char *js;

	KC_FUZZ_CHECK(n < sizeof(text), "text of %zu bytes", n);
	check_line(text, n);
	KC_FUZZ_CHECK(o != NULL && kc_fields_json(f, o) == 0, "fields_json");
	js = json_dumps(o, JSON_COMPACT);
	KC_FUZZ_CHECK(js != NULL, "json_dumps");
	free(js);
	json_decref(o);
}

/* A REPLY frame the worker sends for a request from the test client. */
static void check_reply(struct rte_mbuf *m, uint8_t op,
			const uint8_t msg_id[KC_MSG_ID_LEN])
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
		const struct rte_ipv4_hdr *, KC_L2_LEN);
	const struct rte_udp_hdr *udp = rte_pktmbuf_mtod_offset(m,
		const struct rte_udp_hdr *, KC_L2_LEN + KC_L3_LEN);
	const uint8_t *kcp = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						     KC_KCP_OFF);
	uint32_t len = rte_pktmbuf_pkt_len(m);
	const struct kc_key *key;
	struct kc_fields f;
	struct kc_hdr h;

	KC_FUZZ_CHECK(len >= KC_KCP_OFF + KC_HDR_LEN &&
		      len == rte_pktmbuf_data_len(m), "frame of %u", len);
	KC_FUZZ_CHECK(rte_be_to_cpu_16(ip->total_length) == len - KC_L2_LEN,
		      "IPv4 length %u in a frame of %u",
		      rte_be_to_cpu_16(ip->total_length), len);
	KC_FUZZ_CHECK(rte_be_to_cpu_16(udp->dgram_len) ==
		      len - KC_L2_LEN - KC_L3_LEN, "UDP length");
	KC_FUZZ_CHECK(ip->dst_addr == rte_cpu_to_be_32(T_CLIENT_IP) &&
		      udp->dst_port == rte_cpu_to_be_16(T_CLIENT_PORT),
		      "REPLY not to the sender");
	KC_FUZZ_CHECK(t_udp_cksum_ok(m), "checksums");
	KC_FUZZ_CHECK(kc_hdr_decode(kcp, len - KC_KCP_OFF, &h) == KC_PARSE_OK,
		      "REPLY header");
	KC_FUZZ_CHECK(h.type == KC_TYPE_REPLY && h.op == op, "type %u op %u",
		      h.type, h.op);
	KC_FUZZ_CHECK(memcmp(h.msg_id, msg_id, KC_MSG_ID_LEN) == 0,
		      "REPLY to another message id");
	key = kc_keyring_find(keys, h.client_id);
	KC_FUZZ_CHECK(key != NULL && kc_auth_verify(key, kcp, len - KC_KCP_OFF),
		      "REPLY tag (client %u)", h.client_id);
	if (h.status == KC_STATUS_OK) {
		KC_FUZZ_CHECK(kc_op_reply_fields(op, kcp + KC_HDR_LEN,
						 h.payload_len, false, &f),
			      "OK %s REPLY of %u bytes its descriptor refuses",
			      kc_op_name(op), h.payload_len);
		render(&f);
	} else {
		char text[4 * KC_PAYLOAD_MAX + 1];
		size_t n = kc_text_escape(kcp + KC_HDR_LEN, h.payload_len,
					  true, text, sizeof(text));

		check_line(text, n);
	}
}

/* A packet the worker sent of its own accord (or a CALL's mbuf made
 * into the call's DELIVER): a signed DELIVER to the service, or a
 * CALL's REPLY to its caller; every party is the test client's address. */
static void check_own(struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m,
		const struct rte_ipv4_hdr *, KC_L2_LEN);
	const uint8_t *kcp = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						     KC_KCP_OFF);
	uint32_t len = rte_pktmbuf_pkt_len(m);
	const struct kc_key *key;
	struct kc_deliver d;
	struct kc_call_reply cr;
	struct kc_hdr h;

	KC_FUZZ_CHECK(len >= KC_KCP_OFF + KC_HDR_LEN &&
		      len == rte_pktmbuf_data_len(m) &&
		      rte_be_to_cpu_16(ip->total_length) == len - KC_L2_LEN,
		      "own frame of %u", len);
	KC_FUZZ_CHECK(ip->dst_addr == rte_cpu_to_be_32(T_CLIENT_IP),
		      "own frame to another address");
	KC_FUZZ_CHECK(t_udp_cksum_ok(m), "own frame's checksums");
	KC_FUZZ_CHECK(kc_hdr_decode(kcp, len - KC_KCP_OFF, &h) == KC_PARSE_OK &&
		      h.op == KC_OP_CALL, "own frame's header");
	key = kc_keyring_find(keys, h.client_id);
	KC_FUZZ_CHECK(key != NULL && kc_auth_verify(key, kcp, len - KC_KCP_OFF),
		      "own frame's tag (client %u)", h.client_id);
	if (h.type == KC_TYPE_DELIVER)
		KC_FUZZ_CHECK(kc_dec_deliver(kcp + KC_HDR_LEN, h.payload_len,
					     &d), "a DELIVER that does not "
			      "decode");
	else
		KC_FUZZ_CHECK(h.type == KC_TYPE_REPLY &&
			      (h.status != KC_STATUS_OK ||
			       kc_dec_call_reply(kcp + KC_HDR_LEN,
						 h.payload_len, &cr)),
			      "own frame of type %u", h.type);
}

static bool is_deliver(struct rte_mbuf *m)
{
	return rte_pktmbuf_pkt_len(m) > KC_KCP_OFF + KC_OFF_TYPE &&
	       rte_pktmbuf_mtod_offset(m, const uint8_t *,
				       KC_KCP_OFF)[KC_OFF_TYPE] ==
		       KC_TYPE_DELIVER;
}

/* What the pipeline does with a worker's verdict. */
struct sent {
	struct rte_mbuf *m;
	uint8_t op;
	uint8_t msg_id[KC_MSG_ID_LEN];
};

static struct sent held[4096];
static uint32_t nb_held;
/* REPLYs to send once their burst is signed: an input's frames are one
 * burst, as the pipeline executes them (flush_sent). */
static struct sent to_send[FRAMES_MAX + 1];
static uint32_t nb_to_send;

static void handle(struct rte_mbuf *m, enum kc_exec how, uint8_t op,
		   const uint8_t *msg_id);
static void flush_sent(void);

static void trail_wait(void)
{
	struct kc_trail_job *job;
	uint64_t deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();

	while (rte_ring_dequeue(ws.ledger->from_ctl, (void **)&job) != 0) {
		KC_FUZZ_CHECK(rte_get_timer_cycles() < deadline,
			      "TRAIL never came back");
		rte_pause();
	}
	{
		struct rte_mbuf *m = job->m;
		uint8_t id[KC_MSG_ID_LEN];

		memcpy(id, rte_pktmbuf_mtod_offset(m, uint8_t *, KC_KCP_OFF +
						   KC_OFF_MSG_ID),
		       KC_MSG_ID_LEN);
		handle(m, kc_ops_trail_done(&ws, job), KC_OP_TRAIL, id);
		flush_sent();
	}
}

static void handle(struct rte_mbuf *m, enum kc_exec how, uint8_t op,
		   const uint8_t *msg_id)
{
	switch (how) {
	case KC_EXEC_SEND:
		KC_FUZZ_CHECK(nb_to_send < RTE_DIM(to_send), "sent");
		to_send[nb_to_send].m = m;
		to_send[nb_to_send].op = op;
		memcpy(to_send[nb_to_send].msg_id, msg_id, KC_MSG_ID_LEN);
		nb_to_send++;
		break;
	case KC_EXEC_DROP:
		rte_pktmbuf_free(m);
		break;
	case KC_EXEC_HELD:
		KC_FUZZ_CHECK(nb_held < RTE_DIM(held), "held");
		held[nb_held].m = m;
		held[nb_held].op = op;
		memcpy(held[nb_held].msg_id, msg_id, KC_MSG_ID_LEN);
		nb_held++;
		break;
	case KC_EXEC_DEFERRED:
		/* The TRAIL reads hops on disk: the burst so far goes. */
		flush_sent();
		trail_wait();
		break;
	}
}

/* The end of a burst, as in the pipeline: its REPLYs signed together,
 * then checked and sent, then the journal published. */
static void flush_sent(void)
{
	kc_ops_sign_flush(&ws);
	for (uint32_t i = 0; i < nb_to_send; i++) {
		struct rte_mbuf *m = to_send[i].m;

		if (is_deliver(m))
			check_own(m);
		else
			check_reply(m, to_send[i].op, to_send[i].msg_id);
		rte_pktmbuf_free(m);
	}
	nb_to_send = 0;
	kc_journal_publish(ws.j);
}

static void release_held(void)
{
	uint64_t deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	uint32_t i = 0;

	kc_journal_publish(ws.j);
	while (ws.pend_tail != ws.pend_head) {
		struct kc_pending *pe = &ws.pend[ws.pend_tail & ws.pend_mask];

		while (kc_journal_durable_seq(ws.j) < pe->seq) {
			KC_FUZZ_CHECK(kc_journal_state(ws.j) !=
				      KC_JOURNAL_FAILED, "journal failed");
			KC_FUZZ_CHECK(rte_get_timer_cycles() < deadline,
				      "group commit stuck");
		}
		ws.pend_tail++;
		if (i < nb_held && held[i].m == pe->m) {
			i++;
			continue;
		}
		/* Not a request's: a packet the worker made itself. */
		check_own(pe->m);
		rte_pktmbuf_free(pe->m);
	}
	KC_FUZZ_CHECK(i == nb_held, "%u REPLYs held, %u released in order",
		      nb_held, i);
	for (i = 0; i < nb_held; i++) {
		if (is_deliver(held[i].m))
			check_own(held[i].m);
		else
			check_reply(held[i].m, held[i].op, held[i].msg_id);
		rte_pktmbuf_free(held[i].m);
	}
	nb_held = 0;
}

/* ---- one frame ---------------------------------------------------------- */

static void no_free(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
}

/* Classify the frame from an exactly sized heap copy, as the RX lcore
 * would; the verdict, and the client's key index on KCP. */
static enum kc_verdict classify(const uint8_t *frame, size_t len,
				uint32_t *client)
{
	struct rte_mbuf_ext_shared_info shinfo = { .free_cb = no_free };
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *buf = malloc(len > 0 ? len : 1);
	enum kc_verdict v;

	if (m == NULL || buf == NULL)
		abort();
	memcpy(buf, frame, len);
	rte_mbuf_ext_refcnt_set(&shinfo, 1);
	rte_pktmbuf_attach_extbuf(m, buf, (rte_iova_t)(uintptr_t)buf,
				  (uint16_t)len, &shinfo);
	m->data_off = 0;
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->port = 0;
	v = kc_pkt_classify(&ctx, m, &st);
	*client = m->hash.usr;
	/* An ARP or ICMP reply was made in place, inside the same bytes. */
	rte_pktmbuf_detach_extbuf(m);
	rte_pktmbuf_free(m);
	free(buf);
	return v;
}

static void raw_frame(struct kc_fuzz_in *in)
{
	size_t len;
	uint8_t *frame = kc_fuzz_bytes(in, kc_fuzz_u16(in) % 1600, &len);
	uint32_t client;

	/* No tag made without a key can pass. */
	KC_FUZZ_CHECK(classify(frame, len, &client) != KC_VERDICT_KCP,
		      "an unsigned frame taken as a request");
	free(frame);
}

static void request_frame(struct kc_fuzz_in *in)
{
	const uint8_t op = kc_fuzz_u8(in);
	const uint8_t who = kc_fuzz_u8(in);
	const uint8_t tweak = kc_fuzz_u8(in);
	const uint8_t age = kc_fuzz_u8(in);
	const uint8_t idseq = kc_fuzz_u8(in);
	const struct kc_key *key = &keys->keys[who % keys->count];
	size_t plen;
	uint8_t *payload = kc_fuzz_bytes(in, kc_fuzz_u16(in) % (KC_PAYLOAD_MAX +
								8), &plen);
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
		.type = KC_TYPE_REQUEST, .op = op,
		.client_id = key->client_id, .payload_len = (uint32_t)plen,
	};
	uint8_t frame[KC_KCP_OFF + KC_HDR_LEN + KC_PAYLOAD_MAX + 8];
	struct rte_mbuf *m;
	struct kc_fields f;
	uint32_t client;
	enum kc_verdict v;
	uint64_t id_ms;

	/* The clock moves on by up to 25.5 s a frame; the id's time is now,
	 * up to two minutes back, or a little ahead. */
	now_ms += (tweak & 0x80) ? (uint64_t)(age & 0x0f) * 1700 : 1;
	id_ms = now_ms - (uint64_t)(age >> 1) * 1000 + ((age & 1) ? 40000 : 0);
	kc_msg_id_make(h.msg_id, id_ms, key->client_id, idseq % 8);
	if (op == KC_OP_CALL)
		memcpy(calls_sent[nb_calls_sent++ % 8], h.msg_id,
		       KC_MSG_ID_LEN);
	if ((op == KC_OP_RESPOND || op == KC_OP_REPORT) && plen >= 16 &&
	    memcmp(payload, CALL_MARK, 15) == 0 && nb_calls_sent != 0)
		memcpy(payload, calls_sent[(nb_calls_sent - 1 - payload[15] %
					    RTE_MIN(nb_calls_sent, 8u)) % 8],
		       KC_MSG_ID_LEN);
	if (tweak & 0x01)
		h.flags = (uint8_t)(tweak >> 4);
	if (tweak & 0x02)
		h.client_id = 1 + (idseq & 3);	/* another's id in it */
	if (tweak & 0x04)
		h.payload_len = plen + (tweak >> 5);
	m = rte_pktmbuf_alloc(mp);
	if (m == NULL)
		abort();
	kc_hdr_encode(t_kcp(m), &h);
	memcpy(t_kcp(m) + KC_HDR_LEN, payload, plen);
	if (!(tweak & 0x08))
		kc_auth_sign(key, t_kcp(m), KC_HDR_LEN + plen);
	t_wrap_udp(m, (uint16_t)(KC_HDR_LEN + plen), KC_UDP_PORT_DEFAULT);
	memcpy(frame, rte_pktmbuf_mtod(m, uint8_t *), m->pkt_len);
	v = classify(frame, m->pkt_len, &client);
	if (v != KC_VERDICT_KCP) {
		rte_pktmbuf_free(m);
		free(payload);
		return;
	}
	/* The request's fields, as kcq and kcctl print them. */
	if (kc_op_request_fields(op, payload, (uint32_t)plen, &f))
		render(&f);
	/* (1) decoded from an exactly sized copy, no journal. */
	{
		uint8_t *out = malloc(KC_PAYLOAD_MAX);
		uint8_t hop[KC_HOPREC_MAX];
		struct kc_op_env env = {
			.qs = qs2, .ledger = l2, .st = &st,
			.caller = {
				.client_id = key->client_id,
				.mint_authority = key->client_id == 1,
				.keys = keys,
			},
			.now_ns = now_ms * 1000000ull, .hop = hop,
		};
		struct kc_op_result r = { .status = KC_STATUS_OK };

		if (out == NULL)
			abort();
		if (!(kc_op_info(op)->flags & KC_OPF_DEFERRED)) {
			kc_ops_apply(&env, op, payload, (uint32_t)plen, 0, out,
				     KC_PAYLOAD_MAX, &r);
			KC_FUZZ_CHECK(r.len <= KC_PAYLOAD_MAX, "reply of %u",
				      r.len);
			if (r.status == KC_STATUS_OK &&
			    kc_op_reply_fields(op, out, r.len, false, &f))
				render(&f);
		}
		free(out);
	}
	/* (2) the worker with its journal, on the mbuf the RX lcore took. */
	m->hash.usr = client;
	ws.now_ns = now_ms * 1000000ull;
	handle(m, kc_ops_execute(&ws, m), op, h.msg_id);
	free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kc_fuzz_in in = { data, size };

	/* journal.reads: all for inputs of odd length, none for the rest. */
	ws.reads_all = (size & 1) != 0;
	for (int i = 0; i < FRAMES_MAX && in.n > 0; i++) {
		if (kc_fuzz_u8(&in) & 0x80)
			raw_frame(&in);
		else
			request_frame(&in);
	}
	flush_sent();
	release_held();
	kc_calls_poll(&ws);
	kc_snapshot_poll(&ws);
	kc_ledger_poll(&ws);
	kc_journal_publish(ws.j);
	release_held();
	if (++inputs % RESTART_EVERY == 0) {
		worker_down();
		if (dir_bytes() > WIPE_BYTES)
			wipe();
		worker_up();
	}
	return 0;
}
