/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The analytics of a journal (kc_analytics.h, docs/analytics.md): the
 * graphs fed from shard 0's records, their JSON documents, and the thread
 * that follows a running journal.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kc_analytics.h"
#include "kc_journal.h"
#include "kc_proto_json.h"

#define FOLLOW_PERIOD_MS 200u
#define FEED_CHUNK 4096u	/* records fed under one hold of the lock */
#define CHUNK_BYTES (4u << 20)	/* their payloads, at most */
#define REPORTS_KEPT 4096u	/* problem REPORTs waiting for their REPLY */
#define RANK_MAX (1u << 16)

/* Who called whom in a call, from its acceptance. */
struct call_key {
	uint8_t id[KC_MSG_ID_LEN];
	uint32_t caller, service;
	uint64_t time_ns;
};

/* A problem REPORT's REQUEST record, until its REPLY says it was taken. */
struct report_key {
	uint64_t seq;
	uint8_t id[KC_MSG_ID_LEN];
};

struct kc_analytics {
	struct kc_analytics_limits lim;
	struct kc_flow *f;
	struct kc_opinion *o;	/* NULL: lim.opinions false */
	/* The calls remembered: a tree by id, and the same keys oldest
	 * first in a circular FIFO that grows up to lim.max_calls. */
	void *calls;
	struct call_key **fifo;
	uint32_t fifo_cap, fifo_head, fifo_nb;
	struct report_key reports[REPORTS_KEPT];
	uint32_t reports_next;
	uint64_t forgotten;
	uint64_t records, next_seq, last_time_ns;
	/* The follower. */
	pthread_mutex_t lock;
	pthread_t thread;
	bool following;
	int quit;
	char dir[4096];
	const struct kc_journal *j;
	uint64_t sample_ns;
	bool caught_up;
};

struct kc_analytics *kc_analytics_create(const struct kc_analytics_limits *lim)
{
	struct kc_analytics *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->lim = *lim;
	if (a->lim.max_calls == 0)
		a->lim.max_calls = 1;
	a->f = kc_flow_create(lim->max_vertices, lim->max_edges);
	if (lim->opinions)
		a->o = kc_opinion_create(lim->max_edges);
	pthread_mutex_init(&a->lock, NULL);
	if (a->f == NULL || (lim->opinions && a->o == NULL)) {
		kc_analytics_free(a);
		return NULL;
	}
	return a;
}

static int ccmp(const void *a, const void *b)
{
	return memcmp(((const struct call_key *)a)->id,
		      ((const struct call_key *)b)->id, KC_MSG_ID_LEN);
}

void kc_analytics_free(struct kc_analytics *a)
{
	if (a == NULL)
		return;
	if (a->following) {
		__atomic_store_n(&a->quit, 1, __ATOMIC_RELEASE);
		pthread_join(a->thread, NULL);
	}
	/* The tree's keys are the FIFO's: free them once, from the FIFO. */
	for (uint32_t i = 0; i < a->fifo_nb; i++) {
		struct call_key *k = a->fifo[(a->fifo_head + i) % a->fifo_cap];

		tdelete(k, &a->calls, ccmp);
		free(k);
	}
	free(a->fifo);
	kc_flow_free(a->f);
	kc_opinion_free(a->o);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void kc_analytics_range(struct kc_analytics *a, uint64_t from_ns,
			uint64_t to_ns)
{
	kc_flow_range(a->f, from_ns, to_ns);
}

const struct kc_flow *kc_analytics_flow(const struct kc_analytics *a)
{
	return a->f;
}

const struct kc_opinion *kc_analytics_opinion(const struct kc_analytics *a)
{
	return a->o;
}

/* ---- the opinion graph's input -------------------------------------------- */

static void forget_oldest(struct kc_analytics *a)
{
	struct call_key *k = a->fifo[a->fifo_head];

	tdelete(k, &a->calls, ccmp);
	free(k);
	a->fifo_head = (a->fifo_head + 1) % a->fifo_cap;
	a->fifo_nb--;
}

/* Room for one more call in the FIFO: grow it, or forget the oldest. */
static bool fifo_room(struct kc_analytics *a)
{
	struct call_key **n;
	uint32_t cap;

	if (a->fifo_nb < a->fifo_cap)
		return true;
	if (a->fifo_cap >= a->lim.max_calls) {
		forget_oldest(a);
		return true;
	}
	cap = a->fifo_cap == 0 ? 64u : a->fifo_cap * 2u;
	if (cap > a->lim.max_calls)
		cap = a->lim.max_calls;
	n = malloc(sizeof(*n) * cap);
	if (n == NULL)
		return false;
	for (uint32_t i = 0; i < a->fifo_nb; i++)
		n[i] = a->fifo[(a->fifo_head + i) % a->fifo_cap];
	free(a->fifo);
	a->fifo = n;
	a->fifo_cap = cap;
	a->fifo_head = 0;
	return true;
}

static void call_accepted(struct kc_analytics *a, const struct kc_jrec *h,
			  const uint8_t *p)
{
	struct call_key *k;

	/* Calls older than anyone may still report on. */
	while (a->lim.call_keep_ns != 0 && a->fifo_nb != 0 &&
	       a->fifo[a->fifo_head]->time_ns + a->lim.call_keep_ns <
	       h->time_ns)
		forget_oldest(a);
	if (!fifo_room(a) || (k = malloc(sizeof(*k))) == NULL)
		return;
	memcpy(k->id, h->msg_id, KC_MSG_ID_LEN);
	k->caller = h->client_id;
	k->service = kc_get_u32(p + KC_HDR_LEN);
	k->time_ns = h->time_ns;
	{
		struct call_key **t = tsearch(k, &a->calls, ccmp);

		if (t == NULL || *t != k) {
			free(k);	/* out of memory, or accepted twice */
			return;
		}
	}
	a->fifo[(a->fifo_head + a->fifo_nb) % a->fifo_cap] = k;
	a->fifo_nb++;
}

static const struct call_key *call_of(const struct kc_analytics *a,
				      const uint8_t *id)
{
	struct call_key probe;
	struct call_key **k;

	memcpy(probe.id, id, KC_MSG_ID_LEN);
	k = tfind(&probe, (void *const *)&a->calls, ccmp);
	return k != NULL ? *k : NULL;
}

static void opinion_record(struct kc_analytics *a, const struct kc_jrec *h,
			   const uint8_t *p)
{
	const struct call_key *c;

	/* A REQUEST or REPLY record's payload is the KCP message: its
	 * header, then the op's payload. */
	if (h->type == KC_JREC_REPLY && h->op == KC_OP_CALL &&
	    (h->flags & KC_JREC_F_HELD) && h->payload_len >= KC_HDR_LEN + 4) {
		call_accepted(a, h, p);
	} else if (h->type == KC_JREC_OUTCOME) {
		c = call_of(a, h->msg_id);
		if (c == NULL) {
			a->forgotten++;
			return;
		}
		kc_opinion_add(a->o, c->caller, c->service,
			       h->status == KC_STATUS_OK ? KC_OPINION_OK :
			       KC_OPINION_FAILED);
	} else if (h->type == KC_JREC_REQUEST && h->op == KC_OP_REPORT &&
		   h->payload_len > KC_HDR_LEN + KC_MSG_ID_LEN &&
		   p[KC_HDR_LEN + KC_MSG_ID_LEN] == KC_REPORT_PROBLEM) {
		struct report_key *k = &a->reports[a->reports_next++ %
						   REPORTS_KEPT];

		k->seq = h->seq;
		memcpy(k->id, p + KC_HDR_LEN, KC_MSG_ID_LEN);
	} else if (h->type == KC_JREC_REPLY && h->op == KC_OP_REPORT &&
		   h->status == KC_STATUS_OK) {
		/* Its REQUEST is among the last few problem REPORTs. */
		for (uint32_t i = 1; i <= REPORTS_KEPT &&
		     i <= a->reports_next; i++) {
			const struct report_key *k =
				&a->reports[(a->reports_next - i) %
					    REPORTS_KEPT];

			if (k->seq != h->ref)
				continue;
			c = call_of(a, k->id);
			if (c == NULL)
				a->forgotten++;
			else
				kc_opinion_add(a->o, c->caller, c->service,
					       KC_OPINION_PROBLEM);
			break;
		}
	}
}

int kc_analytics_record(struct kc_analytics *a, const struct kc_jrec *h,
			const uint8_t *payload)
{
	int rc = 0;

	a->records++;
	a->next_seq = h->seq + 1;
	a->last_time_ns = h->time_ns;
	if (a->o != NULL)
		opinion_record(a, h, payload);
	if (h->type == KC_JREC_LEDGER &&
	    kc_flow_add_hop(a->f, payload, h->payload_len, h->time_ns) ==
	    -EINVAL)
		rc = -EINVAL;
	return rc;
}

void kc_analytics_info(const struct kc_analytics *a,
		       struct kc_analytics_info *info)
{
	memset(info, 0, sizeof(*info));
	info->records = a->records;
	info->next_seq = a->next_seq;
	info->last_time_ns = a->last_time_ns;
	info->sample_ns = a->sample_ns;
	info->caught_up = a->caught_up;
	info->forgotten_calls = a->forgotten;
	kc_flow_totals(a->f, &info->flow);
}

const char *kc_analytics_error(int rc)
{
	switch (rc) {
	case -ENOENT:
		return "an account not in the graph";
	case -EINVAL:
		return "maxflow from an account to itself, or a ranking "
		       "without the opinion graph";
	case -E2BIG:
		return "the graph is over its caps (analytics.max_vertices, "
		       "max_edges): the analyses refuse a partial graph";
	case -ENOMEM:
		return "out of memory";
	default:
		return strerror(-rc);
	}
}

/* ---- the documents -------------------------------------------------------- */

static json_t *fail(json_t *o, int *rc, int err)
{
	json_decref(o);
	*rc = err;
	return NULL;
}

/* Value moved in plus out, of every vertex. */
static uint64_t *traffic(const struct kc_flow *f, uint32_t nb_v,
			 uint32_t nb_e)
{
	uint64_t *t = calloc(nb_v + 1u, sizeof(*t));

	for (uint32_t i = 0; t != NULL && i < nb_e; i++) {
		const struct kc_flow_edge *e = kc_flow_edge(f, i);

		t[kc_flow_vertex(f, e->from)] += e->value;
		t[kc_flow_vertex(f, e->to)] += e->value;
	}
	return t;
}

/* Most value moved first (tr[] the vertices' traffic), then by vertex. */
static int by_traffic(const void *x, const void *y, void *arg)
{
	const uint64_t *tr = arg;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	if (tr[a] != tr[b])
		return tr[a] > tr[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* in[v]: vertex v is shown (every vertex unless top). */
static bool *shown(const struct kc_flow *f, const struct kc_flow_totals *t,
		   uint32_t top)
{
	bool *in = calloc(t->vertices + 1u, sizeof(*in));
	uint32_t *order;
	uint64_t *tr;

	if (in == NULL || top == 0 || top >= t->vertices) {
		for (uint32_t v = 0; in != NULL && v < t->vertices; v++)
			in[v] = true;
		return in;
	}
	order = malloc(sizeof(*order) * (t->vertices + 1u));
	tr = traffic(f, t->vertices, t->edges);
	if (order == NULL || tr == NULL) {
		free(order);
		free(tr);
		free(in);
		return NULL;
	}
	for (uint32_t v = 0; v < t->vertices; v++)
		order[v] = v;
	qsort_r(order, t->vertices, sizeof(*order), by_traffic, tr);
	for (uint32_t i = 0; i < top; i++)
		in[order[i]] = true;
	free(order);
	free(tr);
	return in;
}

#define LEADERS 10u

/* The LEADERS accounts with the most val[v] (> 0), as [{account, value}]. */
static json_t *leaders(const struct kc_flow *f, const uint64_t *val,
		       uint32_t nb_v)
{
	uint32_t best[LEADERS], n = 0;
	json_t *arr = json_array();

	for (uint32_t v = 0; v < nb_v; v++) {
		uint32_t i;

		if (val[v] == 0)
			continue;
		/* Insertion into the short list, largest first. */
		for (i = n; i > 0 && val[best[i - 1]] < val[v]; i--)
			if (i < LEADERS)
				best[i] = best[i - 1];
		if (i < LEADERS) {
			best[i] = v;
			if (n < LEADERS)
				n++;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:I,s:o}", "account",
			(json_int_t)kc_flow_account(f, best[i]), "value",
			kc_json_u64(val[best[i]])));
	return arr;
}

/*
 * Who pays, who is paid, which services earn: the value each account paid
 * to others (transfers out and prices into escrow), received from others
 * (transfers in and payments for its services), and earned as a service
 * (payments out of escrow). Mints, burns and refunds are not trade.
 */
static int top_traders(const struct kc_flow *f, const struct kc_flow_totals *t,
		       json_t *o)
{
	uint64_t *paid = calloc(t->vertices + 1u, sizeof(*paid));
	uint64_t *got = calloc(t->vertices + 1u, sizeof(*got));
	uint64_t *earned = calloc(t->vertices + 1u, sizeof(*earned));

	if (paid == NULL || got == NULL || earned == NULL) {
		free(paid);
		free(got);
		free(earned);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < t->edges; i++) {
		const struct kc_flow_edge *e = kc_flow_edge(f, i);
		uint32_t from = (uint32_t)kc_flow_vertex(f, e->from);
		uint32_t to = (uint32_t)kc_flow_vertex(f, e->to);

		if (e->kind == KC_FLOW_TRANSFER || e->kind == KC_FLOW_ESCROW)
			paid[from] += e->value;
		if (e->kind == KC_FLOW_TRANSFER || e->kind == KC_FLOW_PAY)
			got[to] += e->value;
		if (e->kind == KC_FLOW_PAY)
			earned[to] += e->value;
	}
	json_object_set_new(o, "top_payers", leaders(f, paid, t->vertices));
	json_object_set_new(o, "top_payees", leaders(f, got, t->vertices));
	json_object_set_new(o, "top_services", leaders(f, earned,
						       t->vertices));
	free(paid);
	free(got);
	free(earned);
	return 0;
}

json_t *kc_analytics_flows_json(const struct kc_analytics *a, uint32_t top,
				int *rc)
{
	const struct kc_flow *f = a->f;
	struct kc_flow_totals t;
	json_t *o = json_object(), *vs = json_array(), *es = json_array();
	json_t *tot = json_object(), *hid = json_array();
	uint32_t *bad, n;
	int64_t *net;
	bool *in;

	json_object_set_new(o, "vertices", vs);
	json_object_set_new(o, "edges", es);
	json_object_set_new(o, "value_by_kind", tot);
	json_object_set_new(o, "hidden_money", hid);
	kc_flow_totals(f, &t);
	net = calloc(t.vertices + 1u, sizeof(*net));
	bad = calloc(t.vertices + 1u, sizeof(*bad));
	in = shown(f, &t, top);
	if (net == NULL || bad == NULL || in == NULL) {
		free(net);
		free(bad);
		free(in);
		return fail(o, rc, -ENOMEM);
	}
	kc_flow_nets(f, net);
	for (uint32_t v = 0; v < t.vertices; v++)
		if (in[v])
			json_array_append_new(vs, json_pack("{s:I,s:I}",
				"account", (json_int_t)kc_flow_account(f, v),
				"net", (json_int_t)net[v]));
	for (uint32_t i = 0; i < t.edges; i++) {
		const struct kc_flow_edge *e = kc_flow_edge(f, i);

		if (!in[kc_flow_vertex(f, e->from)] ||
		    !in[kc_flow_vertex(f, e->to)])
			continue;
		json_array_append_new(es, json_pack(
			"{s:I,s:I,s:s,s:o,s:o,s:o,s:o}", "from",
			(json_int_t)e->from, "to", (json_int_t)e->to, "kind",
			kc_flow_kind_name(e->kind), "value",
			kc_json_u64(e->value), "coins", kc_json_u64(e->coins),
			"first_ns", kc_json_u64(e->first_ns), "last_ns",
			kc_json_u64(e->last_ns)));
	}
	for (unsigned int k = 0; k < KC_FLOW_KINDS; k++)
		json_object_set_new(tot, kc_flow_kind_name(k),
				    kc_json_u64(t.value[k]));
	json_object_set_new(o, "hops", kc_json_u64(t.hops));
	json_object_set_new(o, "hops_out_of_range", kc_json_u64(t.skipped));
	json_object_set_new(o, "over_caps", json_boolean(t.over));
	if (top != 0) {
		json_object_set_new(o, "top", json_integer(top));
		json_object_set_new(o, "vertices_total",
				    json_integer(t.vertices));
		json_object_set_new(o, "edges_total", json_integer(t.edges));
	}
	if (top_traders(f, &t, o) != 0) {
		free(net);
		free(bad);
		free(in);
		return fail(o, rc, -ENOMEM);
	}
	n = kc_flow_hidden(f, bad, t.vertices + 1u);
	for (uint32_t i = 0; i < n && i <= t.vertices; i++)
		json_array_append_new(hid, json_integer(bad[i]));
	free(net);
	free(bad);
	free(in);
	*rc = 0;
	return o;
}

json_t *kc_analytics_maxflow_json(const struct kc_analytics *a, uint32_t from,
				  uint32_t to, int *rc)
{
	struct kc_flow_totals t;
	uint32_t (*cut)[2], nb = 0;
	double v = 0;
	json_t *m, *c;
	int r;

	kc_flow_totals(a->f, &t);
	cut = calloc(t.edges + 1u, sizeof(*cut));
	r = cut != NULL ? kc_flow_maxflow(a->f, from, to, &v, cut,
					  t.edges + 1u, &nb) : -ENOMEM;
	if (r != 0) {
		free(cut);
		return fail(NULL, rc, r);
	}
	m = json_object();
	c = json_array();
	for (uint32_t i = 0; i < nb; i++)
		json_array_append_new(c, json_pack("[I,I]",
			(json_int_t)cut[i][0], (json_int_t)cut[i][1]));
	free(cut);
	json_object_set_new(m, "from", json_integer(from));
	json_object_set_new(m, "to", json_integer(to));
	json_object_set_new(m, "value", json_real(v));
	json_object_set_new(m, "min_cut", c);
	*rc = 0;
	return m;
}

json_t *kc_analytics_kcore_json(const struct kc_analytics *a, int *rc)
{
	struct kc_flow_totals t;
	uint32_t *core;
	json_t *k;
	int r;

	kc_flow_totals(a->f, &t);
	core = calloc(t.vertices + 1u, sizeof(*core));
	r = core != NULL ? kc_flow_kcore(a->f, core) : -ENOMEM;
	if (r != 0) {
		free(core);
		return fail(NULL, rc, r);
	}
	k = json_object();
	for (uint32_t v = 0; v < t.vertices; v++) {
		char acc[16];

		snprintf(acc, sizeof(acc), "%u", kc_flow_account(a->f, v));
		json_object_set_new(k, acc, json_integer(core[v]));
	}
	free(core);
	*rc = 0;
	return k;
}

json_t *kc_analytics_scc_json(const struct kc_analytics *a, int *rc)
{
	struct kc_flow_totals t;
	uint32_t *comp, nb = 0;
	json_t *comps, **m;
	int r;

	kc_flow_totals(a->f, &t);
	comp = calloc(t.vertices + 1u, sizeof(*comp));
	r = comp != NULL ? kc_flow_scc(a->f, comp, &nb) : -ENOMEM;
	m = r == 0 ? calloc(nb + 1u, sizeof(*m)) : NULL;
	if (r == 0 && m == NULL)
		r = -ENOMEM;
	if (r != 0) {
		free(comp);
		return fail(NULL, rc, r);
	}
	comps = json_array();
	for (uint32_t c = 0; c < nb; c++) {
		m[c] = json_array();
		json_array_append_new(comps, m[c]);
	}
	/* One pass: each vertex into its component, in vertex order. */
	for (uint32_t v = 0; v < t.vertices; v++)
		if (comp[v] < nb)
			json_array_append_new(m[comp[v]],
				json_integer(kc_flow_account(a->f, v)));
	free(m);
	free(comp);
	*rc = 0;
	return comps;
}

json_t *kc_analytics_rank_json(const struct kc_analytics *a, int *rc)
{
	struct kc_merit *m;
	uint32_t nb = 0;
	json_t *arr;
	int r;

	if (a->o == NULL)
		return fail(NULL, rc, -EINVAL);
	m = calloc(RANK_MAX, sizeof(*m));
	r = m != NULL ? kc_opinion_rank(a->o, m, RANK_MAX, &nb) : -ENOMEM;
	if (r != 0) {
		free(m);
		return fail(NULL, rc, r);
	}
	arr = json_array();
	for (uint32_t i = 0; i < nb && i < RANK_MAX; i++)
		json_array_append_new(arr, json_pack(
			"{s:I,s:f,s:o,s:o,s:o,s:I}", "service",
			(json_int_t)m[i].service, "merit", m[i].merit, "ok",
			kc_json_u64(m[i].ok), "failed", kc_json_u64(m[i].failed),
			"problems", kc_json_u64(m[i].problems), "callers",
			(json_int_t)m[i].callers));
	free(m);
	*rc = 0;
	return arr;
}

/* ---- following a running journal ----------------------------------------- */

void kc_analytics_lock(struct kc_analytics *a)
{
	pthread_mutex_lock(&a->lock);
}

int kc_analytics_lock_within(struct kc_analytics *a, uint32_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000u;
	ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return -pthread_mutex_timedlock(&a->lock, &ts);
}

void kc_analytics_unlock(struct kc_analytics *a)
{
	pthread_mutex_unlock(&a->lock);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct follow_pos {
	struct kc_jpos pos;	/* where the next record starts */
	uint64_t next_seq;	/* 0: nothing read yet */
	bool warned;
};

/* Records read off the lock, then fed under it in one go: the admin's
 * handlers wait at most one chunk's feeding, never the reading. */
struct chunk {
	struct kc_jrec h[FEED_CHUNK];
	uint32_t off[FEED_CHUNK];
	uint32_t n;
	uint32_t used;
	uint8_t bytes[CHUNK_BYTES];
};

static void feed(struct kc_analytics *a, struct chunk *ch)
{
	kc_analytics_lock(a);
	for (uint32_t i = 0; i < ch->n; i++)
		kc_analytics_record(a, &ch->h[i], ch->bytes + ch->off[i]);
	kc_analytics_unlock(a);
	ch->n = 0;
	ch->used = 0;
}

/*
 * Read on from fp: every durable record into the graphs. The reader is
 * opened anew each round (it lists the segment files once), seeks to
 * where the last round stopped, or, when retention deleted that segment,
 * reads from the first and skips what was fed.
 */
static void follow_round(struct kc_analytics *a, struct follow_pos *fp,
			 struct chunk *ch)
{
	char err[256];
	struct kc_jreader *r = kc_jreader_open(a->dir, err, sizeof(err));
	uint64_t durable = kc_journal_durable_seq(a->j);
	uint64_t skip_below = 0, fed = a->next_seq;
	const struct kc_jreader_end *end;
	bool stopped = false;
	struct kc_jrec h;
	const uint8_t *p;
	struct kc_jpos pos;

	if (r == NULL) {
		if (!fp->warned)
			fprintf(stderr, "kingcobra: analytics: %s\n", err);
		fp->warned = true;
		return;
	}
	if (fp->next_seq != 0 && !kc_jreader_seek(r, &fp->pos, fp->next_seq))
		skip_below = fp->next_seq;
	while (!__atomic_load_n(&a->quit, __ATOMIC_ACQUIRE) &&
	       kc_jreader_next(r, &h, &p, &pos)) {
		if (h.seq < skip_below)
			continue;
		if (h.seq > durable) {
			/* Written, not yet on disk: next round. */
			fp->pos = pos;
			fp->next_seq = h.seq;
			stopped = true;
			break;
		}
		if (ch->n == FEED_CHUNK ||
		    ch->used + h.payload_len > CHUNK_BYTES)
			feed(a, ch);
		ch->h[ch->n] = h;
		ch->off[ch->n] = ch->used;
		memcpy(ch->bytes + ch->used, p, h.payload_len);
		ch->used += (h.payload_len + 7u) & ~7u;
		ch->n++;
		fed = h.seq + 1;
	}
	feed(a, ch);
	end = kc_jreader_end(r);
	if (!stopped && end->next_seq != 0 && fed != 0) {
		fp->pos = end->pos;
		fp->next_seq = end->next_seq;
	}
	if (!stopped && end->how != KC_JEND_CLEAN && end->how != KC_JEND_TORN) {
		if (!fp->warned)
			fprintf(stderr, "kingcobra: analytics: the journal "
				"cannot be read on: %s\n", end->detail);
		fp->warned = true;
	} else {
		fp->warned = false;
	}
	if (!__atomic_load_n(&a->quit, __ATOMIC_ACQUIRE)) {
		kc_analytics_lock(a);
		a->sample_ns = wall_ns();
		a->caught_up = true;
		kc_analytics_unlock(a);
	}
	kc_jreader_close(r);
}

static void *follow_main(void *arg)
{
	struct kc_analytics *a = arg;
	struct follow_pos fp = { .next_seq = 0 };
	const struct sched_param idle = { .sched_priority = 0 };
	struct chunk *ch = malloc(sizeof(*ch));

	if (ch == NULL) {
		fprintf(stderr, "kingcobra: analytics: out of memory\n");
		return NULL;
	}
	ch->n = ch->used = 0;

	/* Only CPU time nobody else wants: the journal writer, the admin and
	 * whatever shares the control CPUs go first; the graphs catch up
	 * when they are idle. */
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
	while (!__atomic_load_n(&a->quit, __ATOMIC_ACQUIRE)) {
		follow_round(a, &fp, ch);
		for (uint32_t i = 0; i < FOLLOW_PERIOD_MS / 20u &&
		     !__atomic_load_n(&a->quit, __ATOMIC_ACQUIRE); i++)
			usleep(20 * 1000);
	}
	free(ch);
	return NULL;
}

int kc_analytics_follow(struct kc_analytics *a, const char *shard_dir,
			const struct kc_journal *j)
{
	int rc;

	if (a->following || strlen(shard_dir) >= sizeof(a->dir))
		return -EINVAL;
	snprintf(a->dir, sizeof(a->dir), "%s", shard_dir);
	a->j = j;
	rc = pthread_create(&a->thread, NULL, follow_main, a);
	if (rc != 0)
		return -rc;
	pthread_setname_np(a->thread, "kc-analytics");
	a->following = true;
	return 0;
}
