/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Service calls (kc_services.h, docs/services.md): registrations, calls,
 * escrow through the ledger, settlement and the arbiter.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_debug.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "kc_services.h"

#define SVC_NS_PER_S 1000000000ull
#define SVC_NS_PER_MS 1000000ull
#define RETRY_FIRST_NS (20ull * SVC_NS_PER_MS)
#define RETRY_MAX_NS SVC_NS_PER_S
#define DECAY_SHIFT 5		/* each outcome keeps 31/32 of the past */
#define PROBLEM_WEIGHT 2u	/* a problem report weighs two failures */

struct svc {
	struct kc_name type;
	uint32_t account;
	uint32_t type_slot;
	bool active;
	uint64_t price;
	uint32_t max_inflight;
	uint32_t inflight;
	uint64_t lease_until_ns;
	uint64_t quarantined_until_ns;
	uint32_t quarantines;
	uint32_t ip;
	uint16_t port;
	uint64_t succ_q, fail_q;	/* the arbiter's weights */
	uint64_t settled;		/* outcomes counted */
	struct kc_svc_stats st;
	uint8_t link[KC_SVC_LINK_LEN];	/* transport, not state */
};

struct type {
	struct kc_name name;
	uint32_t n;
	uint32_t svc[KC_SVC_PER_TYPE_MAX];
};

struct call {
	uint8_t id[KC_CALL_ID_LEN];
	uint8_t state;		/* enum kc_call_state */
	bool problem;		/* a problem was reported */
	uint16_t status;	/* the caller's REPLY (after PENDING) */
	uint16_t len;		/* bytes in buf */
	uint32_t caller;
	uint32_t svc;		/* slot in svcs */
	uint32_t caller_ip;
	uint16_t caller_port;
	uint64_t price;
	uint64_t escrow_coin;	/* 0: a free call */
	uint64_t created_ns, deadline_ns, completed_ns, hold_until_ns;
	uint64_t done_ns;
	uint64_t req_seq;
	int32_t prev, next;	/* the open list (PENDING, HELD, DISPUTED) */
	int32_t done_next;	/* the FIFO of DONE calls */
	/* Transport, not state. */
	uint64_t next_try_ns;
	uint32_t tries;
	uint64_t outcome_seq;
	uint8_t link[KC_SVC_LINK_LEN];
	uint8_t *buf;		/* payload, then the caller's REPLY */
};

struct kc_services {
	struct kc_services_limits lim;
	struct rte_hash *type_h;	/* zero-padded name -> types[] */
	struct rte_hash *call_h;	/* call id -> calls[] */
	struct svc *svcs;
	struct type *types;
	struct call *calls;
	uint8_t *bufs;
	uint32_t buf_len;
	uint32_t nb_slots;		/* of calls[]: rte_hash's positions */
	uint32_t nb_svcs, nb_types;
	uint32_t nb_calls;		/* in the table */
	uint32_t nb_open;
	int32_t open_head;
	int32_t done_head, done_tail;
	uint64_t escrow;		/* the prices of open calls */
	uint64_t next_due_ns;		/* nothing falls due before */
	uint64_t next_try_ns;		/* no delivery is due before */
	uint64_t calls_total, completed, timeouts, reports, quarantines;
	struct kc_svc_report rep[KC_SVC_REPORTS_KEPT];
	uint32_t rep_head;		/* free-running */
	/* The calls completed last (for people: not state). */
	int32_t recent[KC_SVC_RECENT];
	uint8_t recent_id[KC_SVC_RECENT][KC_CALL_ID_LEN];
	uint32_t recent_head;
};

/* ---- set-up ------------------------------------------------------------- */

static uint32_t buf_len(const struct kc_services_limits *lim)
{
	/* The payload of a call, then the REPLY built from the response. */
	return RTE_ALIGN_CEIL(KC_CALL_REPLY_FIXED + lim->max_payload, 64u);
}

struct kc_services *kc_services_create(const char *name,
				       const struct kc_services_limits *lim,
				       int socket_id)
{
	struct kc_services *s;
	/* rte_hash's positions index calls[]: it takes at least 16. */
	uint32_t nc = lim->max_calls < 16 ? 16 : lim->max_calls;

	if (lim->max_payload > KC_CALL_PAYLOAD_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	s = rte_zmalloc_socket("kc_services", sizeof(*s), RTE_CACHE_LINE_SIZE,
			       socket_id);
	if (s == NULL)
		return NULL;
	s->lim = *lim;
	s->buf_len = buf_len(lim);
	s->type_h = kc_ledger_table(name, "t", lim->max_types, KC_NAME_MAX,
				    socket_id);
	s->call_h = kc_ledger_table(name, "c", nc, KC_CALL_ID_LEN, socket_id);
	s->nb_slots = nc;
	s->svcs = rte_zmalloc_socket("kc_svcs", sizeof(*s->svcs) *
				     RTE_MAX(lim->max_services, 1u),
				     RTE_CACHE_LINE_SIZE, socket_id);
	s->types = rte_zmalloc_socket("kc_svc_types", sizeof(*s->types) *
				      RTE_MAX(lim->max_types, 1u),
				      RTE_CACHE_LINE_SIZE, socket_id);
	s->calls = rte_zmalloc_socket("kc_calls", sizeof(*s->calls) * nc,
				      RTE_CACHE_LINE_SIZE, socket_id);
	s->bufs = rte_zmalloc_socket("kc_call_bufs", (size_t)s->buf_len * nc,
				     RTE_CACHE_LINE_SIZE, socket_id);
	if (s->type_h == NULL || s->call_h == NULL || s->svcs == NULL ||
	    s->types == NULL || s->calls == NULL || s->bufs == NULL) {
		int e = rte_errno ? rte_errno : ENOMEM;

		kc_services_free(s);
		rte_errno = e;
		return NULL;
	}
	for (uint32_t i = 0; i < nc; i++)
		s->calls[i].buf = s->bufs + (size_t)i * s->buf_len;
	s->open_head = -1;
	s->done_head = s->done_tail = -1;
	return s;
}

void kc_services_free(struct kc_services *s)
{
	if (s == NULL)
		return;
	rte_hash_free(s->type_h);
	rte_hash_free(s->call_h);
	rte_free(s->svcs);
	rte_free(s->types);
	rte_free(s->calls);
	rte_free(s->bufs);
	rte_free(s);
}

uint64_t kc_services_bytes(const struct kc_services_limits *lim)
{
	return (uint64_t)lim->max_calls *
		       (sizeof(struct call) + buf_len(lim) + 16 * 4) +
	       (uint64_t)lim->max_services * sizeof(struct svc) +
	       (uint64_t)lim->max_types * (sizeof(struct type) + 64 * 4) +
	       sizeof(struct kc_services) + (1u << 20);
}

/* ---- lookups ------------------------------------------------------------ */

static void type_key(uint8_t key[KC_NAME_MAX], const struct kc_name *n)
{
	memset(key, 0, KC_NAME_MAX);
	memcpy(key, n->s, n->len);
}

static struct type *type_get(const struct kc_services *s,
			     const struct kc_name *n)
{
	uint8_t key[KC_NAME_MAX];
	int32_t pos;

	type_key(key, n);
	pos = rte_hash_lookup(s->type_h, key);
	return pos < 0 ? NULL : &s->types[pos];
}

static struct svc *svc_in(struct kc_services *s, const struct type *t,
			  uint32_t account)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (s->svcs[t->svc[i]].account == account)
			return &s->svcs[t->svc[i]];
	return NULL;
}

int32_t kc_services_find(const struct kc_services *s, const uint8_t *call_id)
{
	int32_t pos = rte_hash_lookup(s->call_h, call_id);

	return pos < 0 ? -1 : pos;
}

/* ---- the arbiter -------------------------------------------------------- */

uint32_t kc_services_score(uint64_t succ_q, uint64_t fail_q)
{
	return (uint32_t)((succ_q + KC_SVC_Q) * 1000000ull /
			  (succ_q + fail_q + 2ull * KC_SVC_Q));
}

static bool quarantined(const struct svc *v, uint64_t now_ns)
{
	return v->quarantined_until_ns > now_ns;
}

/* After every outcome and problem report: quarantine a service whose
 * score fell too low over enough calls. */
static void arbiter_check(struct kc_services *s, struct svc *v,
			  uint64_t now_ns)
{
	if (v->settled < s->lim.min_calls || quarantined(v, now_ns) ||
	    kc_services_score(v->succ_q, v->fail_q) >=
		    s->lim.quarantine_below_ppm)
		return;
	v->quarantined_until_ns = now_ns + s->lim.quarantine_s * SVC_NS_PER_S;
	v->quarantines++;
	s->quarantines++;
	/* Its disputed calls are refunded now: look at once. */
	s->next_due_ns = 0;
}

static void outcome(struct kc_services *s, struct svc *v, bool good,
		    uint64_t now_ns)
{
	v->succ_q -= v->succ_q >> DECAY_SHIFT;
	v->fail_q -= v->fail_q >> DECAY_SHIFT;
	if (good)
		v->succ_q += KC_SVC_Q;
	else
		v->fail_q += KC_SVC_Q;
	v->settled++;
	arbiter_check(s, v, now_ns);
}

static void latency(struct svc *v, uint64_t ns)
{
	uint64_t us = ns / 1000u;
	uint32_t b = us == 0 ? 0 : 64u - (uint32_t)__builtin_clzll(us);

	v->st.lat_us[RTE_MIN(b, KC_SVC_LAT_BUCKETS - 1u)]++;
}

/* ---- the call table ----------------------------------------------------- */

static void open_add(struct kc_services *s, int32_t slot)
{
	struct call *k = &s->calls[slot];

	k->prev = -1;
	k->next = s->open_head;
	if (s->open_head >= 0)
		s->calls[s->open_head].prev = slot;
	s->open_head = slot;
	s->nb_open++;
}

static void open_del(struct kc_services *s, int32_t slot)
{
	struct call *k = &s->calls[slot];

	if (k->prev >= 0)
		s->calls[k->prev].next = k->next;
	else
		s->open_head = k->next;
	if (k->next >= 0)
		s->calls[k->next].prev = k->prev;
	k->prev = k->next = -1;
	s->nb_open--;
}

/* An open call is settled: it leaves the open list for the DONE FIFO. */
static void call_done(struct kc_services *s, int32_t slot, uint64_t now_ns)
{
	struct call *k = &s->calls[slot];

	open_del(s, slot);
	s->escrow -= k->price;
	k->state = KC_CALL_DONE;
	k->done_ns = now_ns;
	k->done_next = -1;
	s->recent[s->recent_head % KC_SVC_RECENT] = slot;
	memcpy(s->recent_id[s->recent_head % KC_SVC_RECENT], k->id,
	       KC_CALL_ID_LEN);
	s->recent_head++;
	if (s->done_tail >= 0)
		s->calls[s->done_tail].done_next = slot;
	else
		s->done_head = slot;
	s->done_tail = slot;
	s->completed++;
}

/*
 * Room for a new call at now_ns: when the table is full, the oldest DONE
 * call leaves if it is older than keep_s (in the order calls were
 * settled: replay frees the same ones at the same requests, and
 * rte_hash then hands out the same positions).
 */
static bool call_room(struct kc_services *s, uint64_t now_ns)
{
	if (s->nb_calls >= s->lim.max_calls && s->done_head >= 0) {
		struct call *k = &s->calls[s->done_head];

		if (k->done_ns + s->lim.keep_s * SVC_NS_PER_S <= now_ns) {
			int32_t slot = s->done_head;
			int32_t rc = rte_hash_del_key(s->call_h, k->id);

			RTE_VERIFY(rc == slot);
			s->done_head = k->done_next;
			if (s->done_head < 0)
				s->done_tail = -1;
			k->state = KC_CALL_FREE;
			s->nb_calls--;
		}
	}
	return s->nb_calls < s->lim.max_calls;
}

/* ---- ops ---------------------------------------------------------------- */

static void fail(struct kc_svc_result *r, enum kc_status st,
		 const char *reason)
{
	r->status = st;
	r->reason = reason;
}

/* The call a RESPOND, REPORT or SETTLE names; NULL with r failed. */
static struct call *call_named(struct kc_services *s, const uint8_t *id,
			       struct kc_svc_result *r)
{
	int32_t slot = kc_services_find(s, id);

	if (slot < 0) {
		fail(r, KC_STATUS_NOT_FOUND, "no such call (unknown, or "
		     "completed long ago)");
		return NULL;
	}
	return &s->calls[slot];
}

static void op_serve(struct kc_services *s, struct kc_ledger *l,
		     const struct kc_svc_caller *c, const uint8_t *in,
		     uint32_t len, uint64_t now_ns, uint8_t *out,
		     uint32_t cap, struct kc_svc_result *r)
{
	struct kc_serve_req q;
	struct type *t;
	struct svc *v;

	if (kc_dec_serve(in, len, &q) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "SERVE wants a type, a "
			    "price, max_inflight 1.. and lease_s 1..86400");
	t = type_get(s, &q.type);
	if (t == NULL && s->nb_types >= s->lim.max_types)
		return fail(r, KC_STATUS_NO_SPACE, "services.max_types "
			    "reached");
	v = t != NULL ? svc_in(s, t, c->client_id) : NULL;
	if (v == NULL && s->nb_svcs >= s->lim.max_services)
		return fail(r, KC_STATUS_NO_SPACE, "services.max_services "
			    "reached");
	if (v == NULL && t != NULL && t->n >= KC_SVC_PER_TYPE_MAX)
		return fail(r, KC_STATUS_NO_SPACE, "32 services already "
			    "serve this type");
	/* Its pay must always have an account to go to. */
	if (!kc_ledger_account_open(l, c->client_id, c->req_seq))
		return fail(r, KC_STATUS_NO_SPACE, "ledger.max_accounts "
			    "reached");
	if (t == NULL) {
		uint8_t key[KC_NAME_MAX];
		int32_t pos;

		type_key(key, &q.type);
		pos = rte_hash_add_key(s->type_h, key);
		RTE_VERIFY(pos >= 0);
		t = &s->types[pos];
		t->name = q.type;
		t->n = 0;
		s->nb_types++;
	}
	if (v == NULL) {
		uint32_t slot = s->nb_svcs++;

		v = &s->svcs[slot];
		memset(v, 0, sizeof(*v));
		v->type = q.type;
		v->account = c->client_id;
		v->type_slot = (uint32_t)(t - s->types);
		t->svc[t->n++] = slot;
	}
	v->active = true;
	v->price = q.price;
	v->max_inflight = q.max_inflight;
	v->lease_until_ns = now_ns + q.lease_s * SVC_NS_PER_S;
	/* Deliveries go only where this authenticated SERVE came from
	 * (a link of another address is no longer the service's). */
	if (c->link != NULL)
		memcpy(v->link, c->link, KC_SVC_LINK_LEN);
	else if (v->ip != c->ip || v->port != c->port)
		memset(v->link, 0, KC_SVC_LINK_LEN);
	v->ip = c->ip;
	v->port = c->port;
	r->len = (uint32_t)kc_enc_u64_reply(out, cap,
					    v->lease_until_ns / SVC_NS_PER_MS);
}

static void op_unserve(struct kc_services *s, const struct kc_svc_caller *c,
		       const uint8_t *in, uint32_t len, uint8_t *out,
		       uint32_t cap, struct kc_svc_result *r)
{
	struct kc_name type;
	struct type *t;
	struct svc *v;

	if (kc_dec_unserve(in, len, &type) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "UNSERVE wants a type");
	t = type_get(s, &type);
	v = t != NULL ? svc_in(s, t, c->client_id) : NULL;
	if (v == NULL || !v->active)
		return fail(r, KC_STATUS_NOT_FOUND, "this client does not "
			    "serve that type");
	v->active = false;
	v->lease_until_ns = 0;
	r->len = (uint32_t)kc_enc_u64_reply(out, cap, v->inflight);
}

/* The service a CALL goes to: see docs/services.md, "Choosing". */
static struct svc *choose(struct kc_services *s, const struct type *t,
			  uint64_t value, uint64_t now_ns, bool *any)
{
	struct svc *best = NULL;
	uint32_t best_score = 0;

	*any = false;
	for (uint32_t i = 0; i < t->n; i++) {
		struct svc *v = &s->svcs[t->svc[i]];
		uint32_t sc;

		if (!v->active || v->lease_until_ns <= now_ns ||
		    v->inflight >= v->max_inflight || quarantined(v, now_ns))
			continue;
		*any = true;
		if (v->price > value)
			continue;
		sc = kc_services_score(v->succ_q, v->fail_q);
		if (best == NULL || sc > best_score ||
		    (sc == best_score && v->inflight < best->inflight)) {
			best = v;
			best_score = sc;
		}
	}
	return best;
}

static void op_call(struct kc_services *s, struct kc_ledger *l,
		    const struct kc_svc_caller *c, const uint8_t *in,
		    uint32_t len, uint64_t hop_seq, uint64_t now_ns,
		    uint8_t *out, uint32_t cap, uint8_t *hop,
		    struct kc_svc_result *r)
{
	struct kc_call_req q;
	struct kc_call_accept a;
	struct kc_escrow e;
	enum kc_status st;
	const struct type *t;
	struct call *k;
	struct svc *v;
	uint64_t value;
	int32_t slot;
	bool any;

	if (kc_dec_call(in, len, &q) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "CALL wants a type, "
			    "deadline_ms 1.., a payload and 0..16 coins");
	if (q.payload_len > s->lim.max_payload)
		return fail(r, KC_STATUS_TOO_LARGE, "the payload is longer "
			    "than services.max_payload");
	if (q.deadline_ms > s->lim.max_deadline_ms)
		return fail(r, KC_STATUS_OUT_OF_RANGE, "deadline_ms is above "
			    "services.max_deadline_ms");
	if (kc_services_find(s, c->msg_id) >= 0)
		return fail(r, KC_STATUS_BAD_REQUEST, "a call with this "
			    "message id exists");
	st = kc_ledger_coins_value(l, c->client_id, q.coins, q.count, &value,
				   &r->reason);
	if (st != KC_STATUS_OK)
		return fail(r, st, r->reason);
	t = type_get(s, &q.type);
	v = t != NULL ? choose(s, t, value, now_ns, &any) : NULL;
	if (v == NULL && (t == NULL || !any))
		return fail(r, KC_STATUS_UNAVAILABLE, "no service of that "
			    "type is available (none with a live lease, "
			    "under its max_inflight and not quarantined)");
	if (v == NULL)
		return fail(r, KC_STATUS_OUT_OF_RANGE, "the coins attached "
			    "are worth less than every available service's "
			    "price");
	if (!call_room(s, now_ns))
		return fail(r, KC_STATUS_NO_SPACE, "services.max_calls "
			    "reached: too many calls in flight or kept");
	st = kc_ledger_escrow(l, c->client_id, q.coins, q.count, v->price,
			      c->msg_id, hop_seq, now_ns, hop, &e, &r->reason);
	if (st != KC_STATUS_OK)
		return fail(r, st, r->reason);
	/* Decided. */
	slot = rte_hash_add_key(s->call_h, c->msg_id);
	/* The table has room for max_calls, and at most that many are in. */
	RTE_VERIFY(slot >= 0 && (uint32_t)slot < s->nb_slots);
	k = &s->calls[slot];
	memcpy(k->id, c->msg_id, KC_CALL_ID_LEN);
	k->state = KC_CALL_PENDING;
	k->problem = false;
	k->status = 0;
	k->caller = c->client_id;
	k->svc = (uint32_t)(v - s->svcs);
	k->caller_ip = c->ip;
	k->caller_port = c->port;
	k->price = v->price;
	k->escrow_coin = e.escrow_coin;
	k->created_ns = now_ns;
	k->deadline_ns = now_ns + q.deadline_ms * SVC_NS_PER_MS;
	k->completed_ns = k->hold_until_ns = k->done_ns = 0;
	k->req_seq = c->req_seq;
	k->next_try_ns = now_ns + RETRY_FIRST_NS;
	k->tries = 1;
	k->outcome_seq = 0;
	memset(k->link, 0, sizeof(k->link));
	memcpy(k->buf, q.payload, q.payload_len);
	k->len = q.payload_len;
	open_add(s, slot);
	s->nb_calls++;
	s->escrow += k->price;
	s->calls_total++;
	s->next_due_ns = RTE_MIN(s->next_due_ns, k->deadline_ns);
	s->next_try_ns = RTE_MIN(s->next_try_ns, k->next_try_ns);
	v->inflight++;
	v->st.calls++;
	a = (struct kc_call_accept){
		.service = v->account, .price = v->price,
		.escrow_coin = e.escrow_coin, .change_coin = e.change_coin,
	};
	r->len = (uint32_t)kc_enc_call_accept(out, cap, &a);
	r->hop_len = e.hop_len;
	r->deliver = slot;
}

/* Settle the escrow of call k: pay the service, refund the caller, or
 * hold (the hop records which). */
static uint32_t settle(struct kc_services *s, struct kc_ledger *l,
		       struct call *k, uint8_t kind, uint64_t hop_seq,
		       uint8_t *hop)
{
	struct svc *v = &s->svcs[k->svc];
	uint32_t to = kind == KC_HOP_PAY ? v->account : k->caller;

	if (kind == KC_HOP_PAY)
		v->st.revenue += k->price;
	return kc_ledger_release(l, kind, k->escrow_coin, to, k->id, hop_seq,
				 hop);
}

static void op_respond(struct kc_services *s, struct kc_ledger *l,
		       const struct kc_svc_caller *c, const uint8_t *in,
		       uint32_t len, uint64_t hop_seq, uint64_t now_ns,
		       uint8_t *out, uint32_t cap, uint8_t *hop,
		       struct kc_svc_result *r)
{
	struct kc_respond_req q;
	struct call *k;
	struct svc *v;
	int32_t slot;
	uint8_t settlement;

	if (kc_dec_respond(in, len, &q) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "RESPOND wants a call "
			    "id, a status and a payload");
	if (q.payload_len > s->lim.max_payload)
		return fail(r, KC_STATUS_TOO_LARGE, "the payload is longer "
			    "than services.max_payload");
	k = call_named(s, q.call_id, r);
	if (k == NULL)
		return;
	slot = (int32_t)(k - s->calls);
	v = &s->svcs[k->svc];
	if (v->account != c->client_id)
		return fail(r, KC_STATUS_FORBIDDEN, "only the service the "
			    "call went to may answer it");
	if (k->state != KC_CALL_PENDING) {
		if (k->status == KC_STATUS_TIMEOUT)
			return fail(r, KC_STATUS_TIMEOUT, "too late: the "
				    "deadline passed and the caller was "
				    "refunded");
		return fail(r, KC_STATUS_NOT_FOUND, "the call was answered "
			    "already");
	}
	if (now_ns >= k->deadline_ns)
		return fail(r, KC_STATUS_TIMEOUT, "too late: the call's "
			    "deadline passed");
	/* Decided. The REPLY the caller gets, built beside the request. */
	k->completed_ns = now_ns;
	v->inflight--;
	latency(v, now_ns - k->created_ns);
	if (q.status == KC_STATUS_OK) {
		k->status = KC_STATUS_OK;
		k->len = (uint16_t)kc_enc_call_reply(k->buf, s->buf_len,
						     v->account, k->price,
						     q.payload, q.payload_len);
		v->st.ok++;
		if (k->price != 0 && s->lim.settle_hold_s != 0) {
			r->hop_len = settle(s, l, k, KC_HOP_HOLD, hop_seq, hop);
			k->state = KC_CALL_HELD;
			k->hold_until_ns = now_ns +
					   s->lim.settle_hold_s * SVC_NS_PER_S;
			s->next_due_ns = RTE_MIN(s->next_due_ns,
						 k->hold_until_ns);
			settlement = KC_SETTLED_HELD;
		} else {
			r->hop_len = settle(s, l, k, KC_HOP_PAY, hop_seq, hop);
			call_done(s, slot, now_ns);
			settlement = KC_SETTLED_PAID;
		}
		outcome(s, v, true, now_ns);
	} else {
		k->status = q.status;
		memmove(k->buf, q.payload, q.payload_len);
		k->len = q.payload_len;
		v->st.errors++;
		r->hop_len = settle(s, l, k, KC_HOP_REFUND, hop_seq, hop);
		call_done(s, slot, now_ns);
		settlement = KC_SETTLED_REFUNDED;
		outcome(s, v, false, now_ns);
	}
	r->len = (uint32_t)kc_enc_settle_reply(out, cap, settlement, k->price);
	r->done = slot;
}

static void op_settle(struct kc_services *s, struct kc_ledger *l,
		      const struct kc_svc_caller *c, const uint8_t *in,
		      uint32_t len, uint64_t hop_seq, uint64_t now_ns,
		      uint8_t *out, uint32_t cap, uint8_t *hop,
		      struct kc_svc_result *r)
{
	static const char timeout_text[] = "the service did not respond "
					   "before the deadline; nothing "
					   "was charged";
	struct kc_settle_req q;
	struct call *k;
	struct svc *v;
	int32_t slot;
	uint8_t kind, settlement;

	if (!c->internal)
		return fail(r, KC_STATUS_FORBIDDEN, "SETTLE is the "
			    "appliance's own (and its operator's, through "
			    "the admin API)");
	if (kc_dec_settle(in, len, &q) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "SETTLE wants a call id "
			    "and an action");
	k = call_named(s, q.call_id, r);
	if (k == NULL)
		return;
	slot = (int32_t)(k - s->calls);
	v = &s->svcs[k->svc];
	switch (q.action) {
	case KC_SETTLE_TIMEOUT:
		if (k->state != KC_CALL_PENDING || now_ns < k->deadline_ns)
			return fail(r, KC_STATUS_BAD_REQUEST, "the call is "
				    "not waiting past its deadline");
		k->completed_ns = now_ns;
		k->status = KC_STATUS_TIMEOUT;
		memcpy(k->buf, timeout_text, sizeof(timeout_text) - 1);
		k->len = sizeof(timeout_text) - 1;
		v->inflight--;
		v->st.timeouts++;
		s->timeouts++;
		kind = KC_HOP_REFUND;
		r->done = slot;
		break;
	case KC_SETTLE_RELEASE:
		if (k->state != KC_CALL_HELD || now_ns < k->hold_until_ns)
			return fail(r, KC_STATUS_BAD_REQUEST, "the call's "
				    "payment is not held past its hold");
		kind = KC_HOP_PAY;
		break;
	case KC_SETTLE_RULE_PAY:
	case KC_SETTLE_RULE_REFUND:
		if (k->state != KC_CALL_HELD && k->state != KC_CALL_DISPUTED)
			return fail(r, KC_STATUS_BAD_REQUEST, "the call's "
				    "payment is not held (settled already, "
				    "or not answered yet)");
		kind = q.action == KC_SETTLE_RULE_PAY ? KC_HOP_PAY :
							KC_HOP_REFUND;
		break;
	case KC_SETTLE_QUARANTINE:
		if (k->state != KC_CALL_DISPUTED || !quarantined(v, now_ns))
			return fail(r, KC_STATUS_BAD_REQUEST, "the call is "
				    "not disputed, or its service not "
				    "quarantined");
		kind = KC_HOP_REFUND;
		break;
	default:
		return fail(r, KC_STATUS_BAD_REQUEST, "unknown action");
	}
	/* Decided. */
	r->hop_len = settle(s, l, k, kind, hop_seq, hop);
	if (kind == KC_HOP_REFUND && q.action != KC_SETTLE_TIMEOUT)
		v->st.refunds++;
	call_done(s, slot, now_ns);
	if (q.action == KC_SETTLE_TIMEOUT)
		outcome(s, v, false, now_ns);
	settlement = kind == KC_HOP_PAY ? KC_SETTLED_PAID : KC_SETTLED_REFUNDED;
	r->len = (uint32_t)kc_enc_settle_reply(out, cap, settlement, k->price);
}

static void keep_report(struct kc_services *s, const struct call *k,
			const struct kc_report_req *q, uint64_t now_ns)
{
	struct kc_svc_report *p = &s->rep[s->rep_head++ % KC_SVC_REPORTS_KEPT];
	const struct svc *v = &s->svcs[k->svc];

	memcpy(p->call, k->id, KC_CALL_ID_LEN);
	p->kind = q->kind;
	p->caller = k->caller;
	p->service = v->account;
	p->type = v->type;
	p->time_ns = now_ns;
	p->len = q->text_len;
	memcpy(p->text, q->text, q->text_len);
}

static void op_report(struct kc_services *s, const struct kc_svc_caller *c,
		      const uint8_t *in, uint32_t len, uint64_t now_ns,
		      uint8_t *out, uint32_t cap, struct kc_svc_result *r)
{
	struct kc_report_req q;
	struct call *k;
	struct svc *v;
	bool held = false;

	if (kc_dec_report(in, len, &q) != KC_STATUS_OK)
		return fail(r, KC_STATUS_BAD_REQUEST, "REPORT wants a call "
			    "id, problem or suggestion, and up to 256 bytes "
			    "of text");
	k = call_named(s, q.call_id, r);
	if (k == NULL)
		return;
	v = &s->svcs[k->svc];
	if (k->caller != c->client_id)
		return fail(r, KC_STATUS_FORBIDDEN, "only the caller may "
			    "report on a call");
	if (k->state == KC_CALL_PENDING)
		return fail(r, KC_STATUS_BAD_REQUEST, "the call has not "
			    "completed yet");
	if (now_ns > k->completed_ns + s->lim.report_window_s * SVC_NS_PER_S)
		return fail(r, KC_STATUS_OUT_OF_RANGE, "too late: "
			    "services.report_window_s passed");
	if (q.kind == KC_REPORT_PROBLEM && k->problem)
		return fail(r, KC_STATUS_BAD_REQUEST, "a problem was reported "
			    "for this call already");
	/* Decided. */
	keep_report(s, k, &q, now_ns);
	s->reports++;
	if (q.kind == KC_REPORT_SUGGESTION) {
		v->st.suggestions++;
	} else {
		k->problem = true;
		v->st.problems++;
		v->fail_q += PROBLEM_WEIGHT * KC_SVC_Q;
		if (k->state == KC_CALL_HELD) {
			k->state = KC_CALL_DISPUTED;
			held = true;
		}
		arbiter_check(s, v, now_ns);
		if (held && quarantined(v, now_ns))
			s->next_due_ns = 0;
	}
	if (cap >= KC_REPORT_REPLY_LEN) {
		out[0] = held ? 1 : 0;
		r->len = KC_REPORT_REPLY_LEN;
	}
}

void kc_services_apply(struct kc_services *s, struct kc_ledger *l,
		       const struct kc_svc_caller *c, uint8_t op,
		       const uint8_t *in, uint32_t len, uint64_t hop_seq,
		       uint64_t now_ns, uint8_t *out, uint32_t cap,
		       uint8_t *hop, struct kc_svc_result *r)
{
	*r = (struct kc_svc_result){
		.status = KC_STATUS_OK, .deliver = -1, .done = -1,
	};
	switch (op) {
	case KC_OP_SERVE:
		op_serve(s, l, c, in, len, now_ns, out, cap, r);
		break;
	case KC_OP_UNSERVE:
		op_unserve(s, c, in, len, out, cap, r);
		break;
	case KC_OP_CALL:
		op_call(s, l, c, in, len, hop_seq, now_ns, out, cap, hop, r);
		break;
	case KC_OP_RESPOND:
		op_respond(s, l, c, in, len, hop_seq, now_ns, out, cap, hop,
			   r);
		break;
	case KC_OP_REPORT:
		op_report(s, c, in, len, now_ns, out, cap, r);
		break;
	case KC_OP_SETTLE:
		op_settle(s, l, c, in, len, hop_seq, now_ns, out, cap, hop, r);
		break;
	default:
		fail(r, KC_STATUS_UNKNOWN_OP, "not a service operation");
		break;
	}
	if (r->status != KC_STATUS_OK) {
		r->len = 0;
		r->hop_len = 0;
		r->deliver = r->done = -1;
	}
}

/* ---- calls, for the worker ---------------------------------------------- */

const char *kc_call_state_name(unsigned int state)
{
	static const char *const names[] = {
		[KC_CALL_FREE] = "free", [KC_CALL_PENDING] = "pending",
		[KC_CALL_HELD] = "held", [KC_CALL_DISPUTED] = "disputed",
		[KC_CALL_DONE] = "done",
	};

	return state < RTE_DIM(names) ? names[state] : "?";
}

bool kc_services_call(const struct kc_services *s, int32_t slot,
		      struct kc_call_view *w)
{
	const struct call *k;
	const struct svc *v;

	if (slot < 0 || (uint32_t)slot >= s->nb_slots)
		return false;
	k = &s->calls[slot];
	if (k->state == KC_CALL_FREE)
		return false;
	v = &s->svcs[k->svc];
	*w = (struct kc_call_view){
		.id = k->id, .state = k->state, .caller = k->caller,
		.service = v->account, .type = v->type, .price = k->price,
		.deadline_ns = k->deadline_ns, .req_seq = k->req_seq,
		.caller_ip = k->caller_ip, .service_ip = v->ip,
		.caller_port = k->caller_port, .service_port = v->port,
		.status = k->status, .len = k->len, .data = k->buf,
		.outcome_seq = k->outcome_seq, .created_ns = k->created_ns,
		.completed_ns = k->completed_ns, .problem = k->problem,
	};
	return true;
}

int32_t kc_services_recent(const struct kc_services *s, uint32_t i)
{
	uint32_t n = RTE_MIN(s->recent_head, KC_SVC_RECENT), j;
	const struct call *k;

	if (i >= n)
		return -1;
	j = (s->recent_head - 1 - i) % KC_SVC_RECENT;
	k = &s->calls[s->recent[j]];
	/* Its slot may hold another call by now. */
	if (k->state == KC_CALL_FREE ||
	    memcmp(k->id, s->recent_id[j], KC_CALL_ID_LEN) != 0)
		return -1;
	return s->recent[j];
}

int32_t kc_services_open(const struct kc_services *s, int32_t prev)
{
	return prev < 0 ? s->open_head : s->calls[prev].next;
}

uint32_t kc_services_slots(const struct kc_services *s)
{
	return s->nb_slots;
}

void kc_services_set_outcome_seq(struct kc_services *s, int32_t slot,
				 uint64_t seq)
{
	s->calls[slot].outcome_seq = seq;
}

void kc_services_outcome(const struct kc_services *s, int32_t slot,
			 uint16_t *status, const uint8_t **p, uint16_t *len)
{
	const struct call *k = &s->calls[slot];

	*status = k->status;
	*p = k->buf;
	*len = k->len;
}

/* When call k next needs a SETTLE of its own by time (UINT64_MAX: not
 * by time; a DISPUTED one waits for a ruling or a quarantine). */
static uint64_t due_at(const struct call *k)
{
	if (k->state == KC_CALL_PENDING)
		return k->deadline_ns;
	if (k->state == KC_CALL_HELD)
		return k->hold_until_ns;
	return UINT64_MAX;
}

int32_t kc_services_due(struct kc_services *s, uint64_t now_ns,
			uint8_t *action)
{
	uint64_t next = UINT64_MAX;

	if (now_ns < s->next_due_ns)
		return -1;
	for (int32_t i = s->open_head; i >= 0; i = s->calls[i].next) {
		const struct call *k = &s->calls[i];
		uint64_t at;

		if (k->state == KC_CALL_DISPUTED &&
		    quarantined(&s->svcs[k->svc], now_ns)) {
			*action = KC_SETTLE_QUARANTINE;
			return i;
		}
		at = due_at(k);
		if (at <= now_ns) {
			*action = k->state == KC_CALL_PENDING ?
					  KC_SETTLE_TIMEOUT : KC_SETTLE_RELEASE;
			return i;
		}
		next = RTE_MIN(next, at);
	}
	s->next_due_ns = next;
	return -1;
}

uint32_t kc_services_to_deliver(struct kc_services *s, uint64_t now_ns,
				int32_t *out, uint32_t max)
{
	uint64_t next = UINT64_MAX;
	uint32_t n = 0;
	int32_t i;

	if (now_ns < s->next_try_ns)
		return 0;
	for (i = s->open_head; i >= 0 && n < max; i = s->calls[i].next) {
		struct call *k = &s->calls[i];
		uint64_t gap;

		if (k->state != KC_CALL_PENDING || now_ns >= k->deadline_ns)
			continue;
		if (k->next_try_ns > now_ns) {
			next = RTE_MIN(next, k->next_try_ns);
			continue;
		}
		gap = RETRY_FIRST_NS << RTE_MIN(k->tries, 6u);
		k->tries++;
		k->next_try_ns = now_ns + RTE_MIN(gap, RETRY_MAX_NS);
		next = RTE_MIN(next, k->next_try_ns);
		out[n++] = i;
	}
	/* Cut short: look again next time. */
	s->next_try_ns = i >= 0 ? 0 : next;
	return n;
}

const uint8_t *kc_services_service_link(const struct kc_services *s,
					int32_t call_slot)
{
	return s->svcs[s->calls[call_slot].svc].link;
}

void kc_services_set_caller_link(struct kc_services *s, int32_t slot,
				 const uint8_t *link)
{
	memcpy(s->calls[slot].link, link, KC_SVC_LINK_LEN);
}

const uint8_t *kc_services_caller_link(const struct kc_services *s,
				       int32_t slot)
{
	return s->calls[slot].link;
}

/* ---- what the admin API shows ------------------------------------------- */

uint32_t kc_services_count(const struct kc_services *s)
{
	return s->nb_svcs;
}

void kc_services_info(const struct kc_services *s, uint32_t i, uint64_t now_ns,
		      struct kc_svc_info *o)
{
	const struct svc *v = &s->svcs[i];

	*o = (struct kc_svc_info){
		.type = v->type, .account = v->account, .active = v->active,
		.lease_alive = v->active && v->lease_until_ns > now_ns,
		.quarantined = quarantined(v, now_ns), .price = v->price,
		.max_inflight = v->max_inflight, .inflight = v->inflight,
		.lease_until_ns = v->lease_until_ns,
		.quarantined_until_ns = v->quarantined_until_ns,
		.quarantines = v->quarantines,
		.score_ppm = kc_services_score(v->succ_q, v->fail_q),
		.ip = v->ip, .port = v->port, .st = v->st,
	};
}

void kc_services_summary(const struct kc_services *s,
			 struct kc_services_summary *o)
{
	*o = (struct kc_services_summary){
		.services = s->nb_svcs, .types = s->nb_types,
		.calls_open = s->nb_open, .calls_kept = s->nb_calls,
		.escrow = s->escrow, .calls = s->calls_total,
		.completed = s->completed, .timeouts = s->timeouts,
		.reports = s->reports, .quarantines = s->quarantines,
	};
}

bool kc_services_report(const struct kc_services *s, uint32_t i,
			struct kc_svc_report *out)
{
	uint32_t n = RTE_MIN(s->rep_head, KC_SVC_REPORTS_KEPT);

	if (i >= n)
		return false;
	*out = s->rep[(s->rep_head - 1 - i) % KC_SVC_REPORTS_KEPT];
	return true;
}

uint32_t kc_services_audit(const struct kc_services *s,
			   const struct kc_ledger *l, const char **what)
{
	uint32_t bad = 0, coins, pending_of;
	uint64_t sum = 0, balance;

	*what = NULL;
#define VIOLATION(text)                                                     \
	do {                                                                \
		if (bad++ == 0)                                             \
			*what = text;                                       \
	} while (0)
	for (int32_t i = s->open_head; i >= 0; i = s->calls[i].next) {
		const struct call *k = &s->calls[i];
		struct kc_coin_info ci;

		if (k->state != KC_CALL_PENDING && k->state != KC_CALL_HELD &&
		    k->state != KC_CALL_DISPUTED)
			VIOLATION("a settled call on the open list");
		sum += k->price;
		if (k->escrow_coin == 0) {
			if (k->price != 0)
				VIOLATION("a priced call without escrow");
			continue;
		}
		if (!kc_ledger_coin_info(l, k->escrow_coin, &ci) ||
		    ci.state != KC_COIN_LIVE ||
		    ci.owner != KC_ACCOUNT_ESCROW ||
		    ci.denomination != k->price)
			VIOLATION("an open call's coin is not in escrow at "
				  "its price");
	}
	kc_ledger_balance(l, KC_ACCOUNT_ESCROW, &balance, &coins);
	if (balance != sum || sum != s->escrow)
		VIOLATION("the escrow account does not hold the open calls' "
			  "prices");
	for (uint32_t i = 0; i < s->nb_svcs; i++) {
		pending_of = 0;
		for (int32_t j = s->open_head; j >= 0; j = s->calls[j].next)
			if (s->calls[j].svc == i &&
			    s->calls[j].state == KC_CALL_PENDING)
				pending_of++;
		if (pending_of != s->svcs[i].inflight)
			VIOLATION("a service's in-flight count is not its "
				  "pending calls");
	}
#undef VIOLATION
	return bad;
}

/* ---- snapshots ---------------------------------------------------------- */

#define SNAP_MAGIC "KCSVCS01"
#define SNAP_FIXED (8u + 6u * 8u + 3u * 4u)
#define SNAP_SVC (1u + KC_NAME_MAX + 4u + 1u + 8u + 4u + 4u + 8u + 8u + \
		  4u + 4u + 2u + 3u * 8u + 8u * 8u + KC_SVC_LAT_BUCKETS * 8u)
#define SNAP_CALL (KC_CALL_ID_LEN + 1u + 1u + 2u + 2u + 4u + 4u + 4u + 2u + \
		   10u * 8u)

uint64_t kc_services_snapshot_max(const struct kc_services_limits *lim)
{
	return SNAP_FIXED + (uint64_t)lim->max_services * SNAP_SVC +
	       (uint64_t)lim->max_calls * (SNAP_CALL + buf_len(lim));
}

uint64_t kc_services_snapshot_bound(const struct kc_services *s)
{
	return SNAP_FIXED + (uint64_t)s->nb_svcs * SNAP_SVC +
	       (uint64_t)s->nb_calls * (SNAP_CALL + buf_len(&s->lim));
}

bool kc_services_snapshot_info(const uint8_t *buf, size_t len,
			       struct kc_services_snap_info *i)
{
	if (len < SNAP_FIXED || memcmp(buf, SNAP_MAGIC, 8) != 0)
		return false;
	i->calls = kc_get_u64(buf + 8);
	i->escrow = kc_get_u64(buf + 48);
	i->services = kc_get_u32(buf + 56);
	i->calls_open = kc_get_u32(buf + 60);
	i->calls_done = kc_get_u32(buf + 64);
	return true;
}

struct snapw {
	uint8_t *p;
	size_t pos, cap;
	bool bad;
};

static void w_bytes(struct snapw *w, const void *b, size_t n)
{
	if (w->bad || n > w->cap - w->pos) {
		w->bad = true;
		return;
	}
	memcpy(w->p + w->pos, b, n);
	w->pos += n;
}

static void w_u8(struct snapw *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void w_u16(struct snapw *w, uint16_t v)
{
	uint8_t b[2];

	kc_put_u16(b, v);
	w_bytes(w, b, 2);
}

static void w_u32(struct snapw *w, uint32_t v)
{
	uint8_t b[4];

	kc_put_u32(b, v);
	w_bytes(w, b, 4);
}

static void w_u64(struct snapw *w, uint64_t v)
{
	uint8_t b[8];

	kc_put_u64(b, v);
	w_bytes(w, b, 8);
}

static void w_svc(struct snapw *w, const struct svc *v)
{
	uint8_t name[KC_NAME_MAX] = { 0 };

	memcpy(name, v->type.s, v->type.len);
	w_u8(w, v->type.len);
	w_bytes(w, name, sizeof(name));
	w_u32(w, v->account);
	w_u8(w, v->active);
	w_u64(w, v->price);
	w_u32(w, v->max_inflight);
	w_u32(w, v->inflight);
	w_u64(w, v->lease_until_ns);
	w_u64(w, v->quarantined_until_ns);
	w_u32(w, v->quarantines);
	w_u32(w, v->ip);
	w_u16(w, v->port);
	w_u64(w, v->succ_q);
	w_u64(w, v->fail_q);
	w_u64(w, v->settled);
	w_u64(w, v->st.calls);
	w_u64(w, v->st.ok);
	w_u64(w, v->st.errors);
	w_u64(w, v->st.timeouts);
	w_u64(w, v->st.problems);
	w_u64(w, v->st.suggestions);
	w_u64(w, v->st.refunds);
	w_u64(w, v->st.revenue);
	for (uint32_t b = 0; b < KC_SVC_LAT_BUCKETS; b++)
		w_u64(w, v->st.lat_us[b]);
}

static void w_call(struct snapw *w, const struct call *k)
{
	w_bytes(w, k->id, KC_CALL_ID_LEN);
	w_u8(w, k->state);
	w_u8(w, k->problem);
	w_u16(w, k->status);
	w_u16(w, k->len);
	w_u32(w, k->caller);
	w_u32(w, k->svc);
	w_u32(w, k->caller_ip);
	w_u16(w, k->caller_port);
	w_u64(w, k->price);
	w_u64(w, k->escrow_coin);
	w_u64(w, k->created_ns);
	w_u64(w, k->deadline_ns);
	w_u64(w, k->completed_ns);
	w_u64(w, k->hold_until_ns);
	w_u64(w, k->done_ns);
	w_u64(w, k->req_seq);
	w_u64(w, k->outcome_seq);
	/* Outside the call's fixed part: */
	w_u64(w, 0); /* reserved */
	w_bytes(w, k->buf, k->len);
}

size_t kc_services_snapshot(const struct kc_services *s, uint8_t *buf,
			    size_t cap)
{
	struct snapw w = { .p = buf, .cap = cap };
	uint32_t nb_done = s->nb_calls - s->nb_open;

	w_bytes(&w, SNAP_MAGIC, 8);
	w_u64(&w, s->calls_total);
	w_u64(&w, s->completed);
	w_u64(&w, s->timeouts);
	w_u64(&w, s->reports);
	w_u64(&w, s->quarantines);
	w_u64(&w, s->escrow);
	w_u32(&w, s->nb_svcs);
	w_u32(&w, s->nb_open);
	w_u32(&w, nb_done);
	for (uint32_t i = 0; i < s->nb_svcs; i++)
		w_svc(&w, &s->svcs[i]);
	/* The open calls newest first, the settled ones oldest first: the
	 * orders restore rebuilds. */
	for (int32_t i = s->open_head; i >= 0; i = s->calls[i].next)
		w_call(&w, &s->calls[i]);
	for (int32_t i = s->done_head; i >= 0; i = s->calls[i].done_next)
		w_call(&w, &s->calls[i]);
	return w.bad ? 0 : w.pos;
}

struct snapr {
	const uint8_t *p;
	size_t pos, len;
	bool bad;
};

static const uint8_t *r_bytes(struct snapr *r, size_t n)
{
	const uint8_t *b;

	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	b = r->p + r->pos;
	r->pos += n;
	return b;
}

static uint8_t r_u8(struct snapr *r)
{
	const uint8_t *b = r_bytes(r, 1);

	return b != NULL ? b[0] : 0;
}

static uint16_t r_u16(struct snapr *r)
{
	const uint8_t *b = r_bytes(r, 2);

	return b != NULL ? kc_get_u16(b) : 0;
}

static uint32_t r_u32(struct snapr *r)
{
	const uint8_t *b = r_bytes(r, 4);

	return b != NULL ? kc_get_u32(b) : 0;
}

static uint64_t r_u64(struct snapr *r)
{
	const uint8_t *b = r_bytes(r, 8);

	return b != NULL ? kc_get_u64(b) : 0;
}

static int r_svc(struct kc_services *s, struct snapr *r)
{
	const uint8_t *name;
	struct kc_name n;
	struct type *t;
	struct svc *v;
	uint8_t len = r_u8(r);

	name = r_bytes(r, KC_NAME_MAX);
	if (name == NULL || !kc_name_valid(name, len))
		return -EINVAL;
	n.len = len;
	memcpy(n.s, name, len);
	n.s[len] = '\0';
	t = type_get(s, &n);
	if (t == NULL) {
		uint8_t key[KC_NAME_MAX];
		int32_t pos;

		if (s->nb_types >= s->lim.max_types)
			return -ENOSPC;
		type_key(key, &n);
		pos = rte_hash_add_key(s->type_h, key);
		if (pos < 0)
			return -ENOSPC;
		t = &s->types[pos];
		t->name = n;
		t->n = 0;
		s->nb_types++;
	}
	if (s->nb_svcs >= s->lim.max_services || t->n >= KC_SVC_PER_TYPE_MAX)
		return -ENOSPC;
	v = &s->svcs[s->nb_svcs];
	memset(v, 0, sizeof(*v));
	v->type = n;
	v->type_slot = (uint32_t)(t - s->types);
	v->account = r_u32(r);
	v->active = r_u8(r) != 0;
	v->price = r_u64(r);
	v->max_inflight = r_u32(r);
	v->inflight = r_u32(r);
	v->lease_until_ns = r_u64(r);
	v->quarantined_until_ns = r_u64(r);
	v->quarantines = r_u32(r);
	v->ip = r_u32(r);
	v->port = r_u16(r);
	v->succ_q = r_u64(r);
	v->fail_q = r_u64(r);
	v->settled = r_u64(r);
	v->st.calls = r_u64(r);
	v->st.ok = r_u64(r);
	v->st.errors = r_u64(r);
	v->st.timeouts = r_u64(r);
	v->st.problems = r_u64(r);
	v->st.suggestions = r_u64(r);
	v->st.refunds = r_u64(r);
	v->st.revenue = r_u64(r);
	for (uint32_t b = 0; b < KC_SVC_LAT_BUCKETS; b++)
		v->st.lat_us[b] = r_u64(r);
	if (svc_in(s, t, v->account) != NULL)
		return -EINVAL; /* listed twice */
	t->svc[t->n++] = s->nb_svcs++;
	return r->bad ? -EINVAL : 0;
}

/* One call into a new slot; its slot, or a negative errno. */
static int32_t r_call(struct kc_services *s, struct snapr *r)
{
	const uint8_t *id = r_bytes(r, KC_CALL_ID_LEN);
	const uint8_t *data;
	struct call *k;
	int32_t slot;

	if (id == NULL)
		return -EINVAL;
	if (s->nb_calls >= s->lim.max_calls)
		return -ENOSPC;
	slot = rte_hash_add_key(s->call_h, id);
	if (slot < 0 || (uint32_t)slot >= s->nb_slots)
		return -ENOSPC;
	k = &s->calls[slot];
	if (k->state != KC_CALL_FREE)
		return -EINVAL; /* listed twice */
	s->nb_calls++;
	memcpy(k->id, id, KC_CALL_ID_LEN);
	k->state = r_u8(r);
	k->problem = r_u8(r) != 0;
	k->status = r_u16(r);
	k->len = r_u16(r);
	k->caller = r_u32(r);
	k->svc = r_u32(r);
	k->caller_ip = r_u32(r);
	k->caller_port = r_u16(r);
	k->price = r_u64(r);
	k->escrow_coin = r_u64(r);
	k->created_ns = r_u64(r);
	k->deadline_ns = r_u64(r);
	k->completed_ns = r_u64(r);
	k->hold_until_ns = r_u64(r);
	k->done_ns = r_u64(r);
	k->req_seq = r_u64(r);
	k->outcome_seq = r_u64(r);
	r_u64(r); /* reserved */
	k->next_try_ns = 0;
	k->tries = 1;
	memset(k->link, 0, sizeof(k->link));
	k->prev = k->next = k->done_next = -1;
	if (k->len > s->buf_len || k->svc >= s->nb_svcs ||
	    k->state < KC_CALL_PENDING || k->state > KC_CALL_DONE)
		return -EINVAL;
	data = r_bytes(r, k->len);
	if (data == NULL)
		return -EINVAL;
	memcpy(k->buf, data, k->len);
	return slot;
}

int kc_services_restore(struct kc_services *s, const uint8_t *buf,
			size_t len)
{
	struct snapr r = { .p = buf, .len = len };
	const uint8_t *magic = r_bytes(&r, 8);
	uint32_t nb_svcs, nb_open, nb_done;
	uint64_t pending = 0, inflight = 0;
	uint64_t escrow = 0;
	int32_t *open = NULL;
	int rc = 0;

	if (magic == NULL || memcmp(magic, SNAP_MAGIC, 8) != 0 ||
	    s->nb_svcs != 0 || s->nb_calls != 0)
		return -EINVAL;
	s->calls_total = r_u64(&r);
	s->completed = r_u64(&r);
	s->timeouts = r_u64(&r);
	s->reports = r_u64(&r);
	s->quarantines = r_u64(&r);
	s->escrow = r_u64(&r);
	nb_svcs = r_u32(&r);
	nb_open = r_u32(&r);
	nb_done = r_u32(&r);
	if (r.bad)
		return -EINVAL;
	if (nb_svcs > s->lim.max_services ||
	    (uint64_t)nb_open + nb_done > s->lim.max_calls)
		return -ENOSPC;
	for (uint32_t i = 0; rc == 0 && i < nb_svcs; i++)
		rc = r_svc(s, &r);
	open = calloc(nb_open + 1u, sizeof(*open));
	if (rc == 0 && open == NULL)
		rc = -ENOMEM;
	for (uint32_t i = 0; rc == 0 && i < nb_open; i++) {
		int32_t slot = r_call(s, &r);

		if (slot < 0) {
			rc = slot;
			break;
		}
		if (s->calls[slot].state == KC_CALL_DONE) {
			rc = -EINVAL;
			break;
		}
		open[i] = slot;
		escrow += s->calls[slot].price;
		pending += s->calls[slot].state == KC_CALL_PENDING;
	}
	/* Newest first in the snapshot: added oldest first, each at the
	 * head. */
	for (uint32_t i = nb_open; rc == 0 && i-- > 0;)
		open_add(s, open[i]);
	for (uint32_t i = 0; rc == 0 && i < nb_done; i++) {
		int32_t slot = r_call(s, &r);

		if (slot < 0) {
			rc = slot;
			break;
		}
		if (s->calls[slot].state != KC_CALL_DONE) {
			rc = -EINVAL;
			break;
		}
		if (s->done_tail >= 0)
			s->calls[s->done_tail].done_next = slot;
		else
			s->done_head = slot;
		s->done_tail = slot;
	}
	free(open);
	if (rc == 0 && (r.pos != r.len || escrow != s->escrow))
		rc = -EINVAL;
	for (uint32_t i = 0; i < s->nb_svcs; i++)
		inflight += s->svcs[i].inflight;
	if (rc == 0 && inflight != pending)
		rc = -EINVAL;
	s->next_due_ns = 0;
	s->next_try_ns = 0;
	return rc;
}
