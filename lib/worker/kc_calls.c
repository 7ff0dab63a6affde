/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Service calls on the ledger's worker (docs/services.md): what moves
 * packets around lib/services' state machine. A CALL accepted becomes the
 * call's first DELIVER (held until the escrow is durable); deliveries are
 * tried again with a backoff; a call completed gets its caller's REPLY
 * journaled as an OUTCOME record and sent; deadlines, holds and
 * quarantines become SETTLE requests of the appliance's own, journaled and
 * applied like any request, so recovery replays them too.
 */
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "kc_worker.h"

#define POLL_EVERY_US 100u	/* timers have millisecond grain */
#define SETTLES_PER_POLL 16u
#define DELIVERS_PER_POLL 16u

/* Where a peer is on the link: what the journal does not hold. Its
 * address and UDP port too: a caller's retry may come from elsewhere. */
struct link {
	uint32_t ip;		/* host order */
	uint16_t udp_port;
	uint16_t port;		/* ethdev port */
	struct rte_ether_addr mac;
	uint8_t valid;
	uint8_t pad;
};
_Static_assert(sizeof(struct link) == KC_SVC_LINK_LEN, "a link fits");

void kc_calls_link_of(const struct rte_mbuf *m, uint8_t *out)
{
	const struct rte_ether_hdr *eth =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
	struct link l = {
		.port = m->port, .valid = 1,
		.ip = rte_be_to_cpu_32(ip->src_addr),
		.udp_port = rte_be_to_cpu_16(udp->src_port),
	};

	rte_ether_addr_copy(&eth->src_addr, &l.mac);
	memcpy(out, &l, sizeof(l));
}

static bool link_get(const uint8_t *p, struct link *l)
{
	memcpy(l, p, sizeof(*l));
	return l->valid != 0;
}

/* A new mbuf for a packet of the worker's own. */
static struct rte_mbuf *own_mbuf(struct kc_worker_state *w)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->ledger->mp);

	if (m == NULL)
		return NULL;
	/* Not a request: no service time to measure. */
	if (kc_rx_tsc_off >= 0)
		*kc_rx_tsc(m) = KC_RX_DRAINED;
	return m;
}

/* A KCP header at kcp. */
static void header(uint8_t *kcp, uint8_t type, uint8_t op, uint16_t status,
		   const uint8_t *msg_id, uint32_t client, uint32_t len)
{
	struct kc_hdr h = {
		.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
		.type = type, .op = op, .status = status, .client_id = client,
		.payload_len = len,
	};

	memcpy(h.msg_id, msg_id, KC_MSG_ID_LEN);
	kc_hdr_encode(kcp, &h);
}

/* Make m the DELIVER of call slot to its service. False: it cannot go
 * now (the service's place on the link is unknown since a restart, or
 * its key is gone); a retry may. */
static bool build_deliver(struct kc_worker_state *w, struct rte_mbuf *m,
			  int32_t slot)
{
	struct kc_services *svc = w->ledger->svc;
	uint8_t *kcp = rte_pktmbuf_mtod_offset(m, uint8_t *, KC_KCP_OFF);
	uint32_t room = (uint32_t)(m->buf_len - m->data_off) - KC_KCP_OFF;
	const struct kc_key *key;
	struct kc_call_view v;
	struct kc_deliver d;
	struct link l;
	size_t n;

	if (!kc_services_call(svc, slot, &v) ||
	    !link_get(kc_services_service_link(svc, slot), &l)) {
		w->st->c[KC_CTR_deliver_no_link]++;
		return false;
	}
	key = kc_keyring_find(w->pc->keys, v.service);
	if (key == NULL || room < KC_HDR_LEN) {
		w->st->c[KC_CTR_deliver_no_link]++;
		return false;
	}
	d = (struct kc_deliver){
		.caller = v.caller, .deadline_ms = v.deadline_ns / 1000000u,
		.type = v.type, .payload = v.data, .payload_len = v.len,
	};
	n = kc_enc_deliver(kcp + KC_HDR_LEN,
			   RTE_MIN(room - KC_HDR_LEN, KC_PAYLOAD_MAX), &d);
	if (n == 0)
		return false;
	header(kcp, KC_TYPE_DELIVER, KC_OP_CALL, 0, v.id, v.service,
	       (uint32_t)n);
	kc_auth_sign(key, kcp, KC_HDR_LEN + (uint32_t)n);
	return kc_pkt_address(w->pc, m, l.port, &l.mac, v.service_ip,
			      v.service_port, KC_HDR_LEN + (uint32_t)n);
}

bool kc_calls_retry(struct kc_worker_state *w, struct rte_mbuf *m,
		    struct kc_op_result *r, uint8_t *payload, uint64_t *seq,
		    enum kc_exec *ex)
{
	struct kc_services *svc = w->ledger->svc;
	const uint8_t *kcp = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						     KC_KCP_OFF);
	int32_t slot = kc_services_find(svc, kcp + KC_OFF_MSG_ID);
	uint8_t link[KC_SVC_LINK_LEN];
	struct kc_call_view v;

	if (slot < 0 || !kc_services_call(svc, slot, &v))
		return false;
	/* The caller is there now: its REPLY goes where this came from. */
	kc_calls_link_of(m, link);
	kc_services_set_caller_link(svc, slot, link);
	w->st->c[KC_CTR_kcp_duplicates]++;
	/* Completed without its OUTCOME (one a torn tail cut, the journal
	 * full at start): journaled now. */
	if (v.state != KC_CALL_PENDING && v.outcome_seq == 0 &&
	    kc_journal_room(w->j, kc_jrec_size(KC_DATAGRAM_MAX), false)) {
		kc_calls_completed(w, slot);
		kc_services_call(svc, slot, &v);
	}
	/* In flight: answered when the call completes. Answered but not on
	 * disk yet, with no room to hold the REPLY: the next retry is. */
	if (v.outcome_seq == 0 ||
	    (v.outcome_seq > kc_journal_durable_seq(w->j) &&
	     w->pend_head - w->pend_tail >= w->pend_limit)) {
		w->st->c[KC_CTR_call_retries_absorbed]++;
		*ex = KC_EXEC_DROP;
		return true;
	}
	r->status = (enum kc_status)v.status;
	r->len = v.len;
	memcpy(payload, v.data, v.len);
	*seq = v.outcome_seq;
	*ex = KC_EXEC_SEND;
	return true;
}

enum kc_exec kc_calls_accepted(struct kc_worker_state *w, struct rte_mbuf *m,
			       int32_t slot, uint64_t seq)
{
	uint8_t link[KC_SVC_LINK_LEN];

	kc_calls_link_of(m, link);
	kc_services_set_caller_link(w->ledger->svc, slot, link);
	/* The request's mbuf becomes the first DELIVER; a retry follows
	 * if it cannot go. */
	if (!build_deliver(w, m, slot))
		return KC_EXEC_DROP;
	/* Delivered once the escrow is on disk: a service never works for
	 * a call a crash could take back. */
	if (kc_journal_durability(w->j) != KC_DURABILITY_BATCH ||
	    seq <= kc_journal_durable_seq(w->j)) {
		w->st->c[KC_CTR_calls_delivered]++;
		return KC_EXEC_SEND;
	}
	if (kc_ops_hold_own(w, m, seq, true)) {
		w->st->c[KC_CTR_calls_delivered]++;
		return KC_EXEC_HELD;
	}
	w->st->c[KC_CTR_deliver_no_room]++;
	return KC_EXEC_DROP;
}

void kc_calls_completed(struct kc_worker_state *w, int32_t slot)
{
	struct kc_services *svc = w->ledger->svc;
	uint8_t kcp[KC_DATAGRAM_MAX];
	const struct kc_key *key;
	struct kc_call_view v;
	struct rte_mbuf *m;
	struct link l;
	uint32_t ip;
	uint16_t port;
	uint64_t seq;

	RTE_VERIFY(kc_services_call(svc, slot, &v));
	header(kcp, KC_TYPE_REPLY, KC_OP_CALL, v.status, v.id, v.caller,
	       v.len);
	memcpy(kcp + KC_HDR_LEN, v.data, v.len);
	key = kc_keyring_find(w->pc->keys, v.caller);
	if (key != NULL)
		kc_auth_sign(key, kcp, KC_HDR_LEN + v.len);
	/* The caller's REPLY, journaled: it names the CALL it answers. */
	seq = kc_ops_journal_kcp(w, KC_JREC_OUTCOME, kcp, KC_HDR_LEN + v.len,
				 v.req_seq, v.caller_ip, v.caller_port, 0);
	kc_services_set_outcome_seq(svc, slot, seq);
	w->st->c[KC_CTR_kcp_replies]++;
	if (v.status != KC_STATUS_OK)
		w->st->c[KC_CTR_kcp_error_replies]++;
	if (key == NULL || !link_get(kc_services_caller_link(svc, slot), &l)) {
		w->st->c[KC_CTR_outcomes_unsent]++;
		return;
	}
	/* Where its latest retry came from, or the CALL. */
	ip = l.ip != 0 ? l.ip : v.caller_ip;
	port = l.ip != 0 ? l.udp_port : v.caller_port;
	m = own_mbuf(w);
	if (m == NULL) {
		w->st->c[KC_CTR_deliver_no_room]++;
		return;
	}
	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, KC_KCP_OFF), kcp,
	       KC_HDR_LEN + v.len);
	/* Its key, should the journal fail: then it says STORAGE_FAILED. */
	m->hash.usr = (uint32_t)(key - w->pc->keys->keys);
	if (!kc_pkt_address(w->pc, m, l.port, &l.mac, ip, port,
			    KC_HDR_LEN + v.len) ||
	    !kc_ops_hold_own(w, m, seq, false)) {
		w->st->c[KC_CTR_deliver_no_room]++;
		rte_pktmbuf_free(m);
	}
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * A SETTLE of the appliance's own for the call call_id: journaled,
 * applied and answered (to nobody) like a request, so recovery replays
 * it. UNAVAILABLE when the journal has no room now (tried again later);
 * otherwise what SETTLE answered, the reply payload in *rp.
 */
static enum kc_status settle(struct kc_worker_state *w, const uint8_t *call_id,
			     uint8_t action, struct kc_op_result *rp,
			     uint8_t *reply)
{
	struct kc_ledger_ws *lw = w->ledger;
	uint8_t req[KC_HDR_LEN + 32], rep[KC_HDR_LEN + KC_ERROR_TEXT_MAX + 32];
	uint8_t id[KC_MSG_ID_LEN];
	struct kc_op_result r;
	uint64_t req_seq;
	size_t n;

	if (w->j == NULL ||
	    !kc_journal_room(w->j, kc_jrec_size(sizeof(req)) +
				   kc_jrec_size(sizeof(rep)) +
				   kc_jrec_size(KC_HOPREC_MAX) +
				   kc_jrec_size(KC_DATAGRAM_MAX), false))
		return KC_STATUS_UNAVAILABLE;
	n = kc_enc_settle(req + KC_HDR_LEN, sizeof(req) - KC_HDR_LEN, call_id,
			  action);
	kc_msg_id_make(id, w->now_ns / 1000000u, 0, ++lw->svc_msg_seq);
	header(req, KC_TYPE_REQUEST, KC_OP_SETTLE, 0, id, 0, (uint32_t)n);
	req_seq = kc_ops_journal_kcp(w, KC_JREC_REQUEST, req,
				     KC_HDR_LEN + (uint32_t)n, 0, 0, 0, 0);
	{
		const struct kc_op_env env = {
			.ledger = lw->l,
			.st = w->st,
			.now_ns = w->now_ns,
			.hop = lw->hop,
			.svc = lw->svc,
			.msg_id = id,
			.internal = true,
		};

		kc_ops_apply(&env, KC_OP_SETTLE, req + KC_HDR_LEN,
			     (uint32_t)n, req_seq, rep + KC_HDR_LEN,
			     sizeof(rep) - KC_HDR_LEN, &r);
	}
	if (r.status != KC_STATUS_OK)
		kc_ops_error_text(&r, rep + KC_HDR_LEN);
	header(rep, KC_TYPE_REPLY, KC_OP_SETTLE, (uint16_t)r.status, id, 0,
	       r.len);
	kc_ops_journal_kcp(w, KC_JREC_REPLY, rep, KC_HDR_LEN + r.len, req_seq,
			   0, 0, 0);
	if (r.hop_len != 0)
		kc_ops_journal_hop(w, req, req_seq, r.hop_len);
	if (r.done >= 0)
		kc_calls_completed(w, r.done);
	w->st->c[KC_CTR_settles_made]++;
	kc_journal_publish(w->j);
	if (rp != NULL) {
		*rp = r;
		memcpy(reply, rep + KC_HDR_LEN, r.len);
	}
	return r.status;
}

enum kc_status kc_calls_rule(struct kc_worker_state *w,
			     const uint8_t *call_id, bool pay,
			     struct kc_op_result *r, uint8_t *reply)
{
	if (w->ledger == NULL || w->ledger->svc == NULL)
		return KC_STATUS_UNAVAILABLE;
	w->now_ns = wall_ns();
	return settle(w, call_id, pay ? KC_SETTLE_RULE_PAY :
					KC_SETTLE_RULE_REFUND, r, reply);
}

/*
 * Once, at the first poll after a start: a call completed by the last
 * request of a torn tail may have lost its OUTCOME record with it;
 * journal it now, so a retried CALL gets its REPLY.
 */
static void owed_outcomes(struct kc_worker_state *w)
{
	struct kc_services *svc = w->ledger->svc;
	struct kc_call_view v;
	bool all = true;

	for (uint32_t i = 0; i < kc_services_slots(svc); i++) {
		if (!kc_services_call(svc, (int32_t)i, &v) ||
		    v.state == KC_CALL_PENDING || v.outcome_seq != 0)
			continue;
		if (!kc_journal_room(w->j, kc_jrec_size(KC_DATAGRAM_MAX),
				     false)) {
			all = false; /* the next poll goes on */
			break;
		}
		kc_calls_completed(w, (int32_t)i);
	}
	kc_journal_publish(w->j);
	w->ledger->svc_owed_done = all;
}

unsigned int kc_calls_poll(struct kc_worker_state *w)
{
	struct kc_ledger_ws *lw = w->ledger;
	static __thread uint64_t last_tsc;
	int32_t slots[DELIVERS_PER_POLL];
	struct kc_call_view v;
	unsigned int work = 0;
	uint64_t tsc = rte_rdtsc();
	uint8_t action;
	uint32_t n;

	if (w->j == NULL || tsc - last_tsc < rte_get_tsc_hz() / 1000000u *
						     POLL_EVERY_US)
		return 0;
	last_tsc = tsc;
	/* The time these SETTLEs are journaled and applied at. */
	w->now_ns = wall_ns();
	if (!lw->svc_owed_done)
		owed_outcomes(w);
	for (uint32_t i = 0; i < SETTLES_PER_POLL; i++) {
		int32_t slot = kc_services_due(lw->svc, w->now_ns, &action);
		enum kc_status st;

		if (slot < 0 || !kc_services_call(lw->svc, slot, &v))
			break;
		st = settle(w, v.id, action, NULL, NULL);
		if (st == KC_STATUS_UNAVAILABLE)
			break;
		/* kc_services_due said it was due at this time: it is. */
		RTE_VERIFY(st == KC_STATUS_OK);
		work++;
	}
	n = kc_services_to_deliver(lw->svc, w->now_ns, slots,
				   DELIVERS_PER_POLL);
	for (uint32_t i = 0; i < n; i++) {
		struct rte_mbuf *m = own_mbuf(w);

		if (m == NULL) {
			w->st->c[KC_CTR_deliver_no_room]++;
			break;
		}
		/* Held until the call's escrow is on disk, as the first. */
		if (!build_deliver(w, m, slots[i])) {
			rte_pktmbuf_free(m);
			continue;
		}
		kc_services_call(lw->svc, slots[i], &v);
		if (!kc_ops_hold_own(w, m, kc_jrec_hop_seq(v.req_seq), true)) {
			w->st->c[KC_CTR_deliver_no_room]++;
			rte_pktmbuf_free(m);
			continue;
		}
		w->st->c[KC_CTR_calls_delivered]++;
		work++;
	}
	return work;
}
