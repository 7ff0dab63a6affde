/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The money-flow graph and its analyses (kc_flow.h, docs/analytics.md).
 * Vertices and edges are kept in arrays in the order they appear, found
 * again through libc's tsearch trees; each analysis copies the graph into
 * an igraph_t and runs igraph's algorithm on it.
 */
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include <igraph.h>

#include "kc_flow.h"
#include "kc_proto.h"

struct vkey {
	uint32_t account;
	uint32_t vertex;
};

struct kc_flow {
	uint32_t max_v, max_e;
	uint32_t nb_v, nb_e;
	uint32_t *accounts;		/* vertex -> account */
	struct vkey *vkeys;		/* the tree's keys, one per vertex */
	struct kc_flow_edge *edges;
	void *vtree, *etree;		/* tsearch roots */
	uint64_t from_ns, to_ns;	/* 0, 0: every time */
	uint64_t hops, skipped;
	uint64_t value[KC_FLOW_KINDS];
	bool over;
};

const char *kc_flow_kind_name(unsigned int kind)
{
	static const char *const names[KC_FLOW_KINDS] = {
		"mint", "transfer", "burn", "escrow", "pay", "refund",
	};

	return kind < KC_FLOW_KINDS ? names[kind] : "?";
}

static int vcmp(const void *a, const void *b)
{
	uint32_t x = ((const struct vkey *)a)->account;
	uint32_t y = ((const struct vkey *)b)->account;

	return x < y ? -1 : x > y;
}

/* Edges are found by (from, to, kind): the tree's keys are the edges
 * themselves (the array never moves: it is made at its cap). */
static int ecmp(const void *a, const void *b)
{
	const struct kc_flow_edge *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

struct kc_flow *kc_flow_create(uint32_t max_vertices, uint32_t max_edges)
{
	struct kc_flow *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->max_v = max_vertices;
	f->max_e = max_edges;
	f->accounts = calloc(max_vertices ? max_vertices : 1,
			     sizeof(*f->accounts));
	f->vkeys = calloc(max_vertices ? max_vertices : 1, sizeof(*f->vkeys));
	f->edges = calloc(max_edges ? max_edges : 1, sizeof(*f->edges));
	if (f->accounts == NULL || f->vkeys == NULL || f->edges == NULL) {
		kc_flow_free(f);
		return NULL;
	}
	return f;
}

static void noop(void *p)
{
	(void)p;
}

void kc_flow_free(struct kc_flow *f)
{
	if (f == NULL)
		return;
	tdestroy(f->vtree, noop);
	tdestroy(f->etree, noop);
	free(f->accounts);
	free(f->vkeys);
	free(f->edges);
	free(f);
}

void kc_flow_range(struct kc_flow *f, uint64_t from_ns, uint64_t to_ns)
{
	f->from_ns = from_ns;
	f->to_ns = to_ns;
}

/* The vertex of an account, made if new; -1 over the cap. */
static int64_t vertex(struct kc_flow *f, uint32_t account)
{
	struct vkey probe = { .account = account }, **found;

	found = tfind(&probe, &f->vtree, vcmp);
	if (found != NULL)
		return (*found)->vertex;
	if (f->nb_v == f->max_v)
		return -1;
	f->vkeys[f->nb_v] = (struct vkey){ account, f->nb_v };
	if (tsearch(&f->vkeys[f->nb_v], &f->vtree, vcmp) == NULL)
		return -1;
	f->accounts[f->nb_v] = account;
	return f->nb_v++;
}

int64_t kc_flow_vertex(const struct kc_flow *f, uint32_t account)
{
	struct vkey probe = { .account = account }, **found;

	found = tfind(&probe, (void *const *)&f->vtree, vcmp);
	return found != NULL ? (int64_t)(*found)->vertex : -1;
}

uint32_t kc_flow_account(const struct kc_flow *f, uint32_t v)
{
	return v < f->nb_v ? f->accounts[v] : 0;
}

const struct kc_flow_edge *kc_flow_edge(const struct kc_flow *f, uint32_t i)
{
	return i < f->nb_e ? &f->edges[i] : NULL;
}

/* Add value along from -> to; -E2BIG over a cap. */
static int move(struct kc_flow *f, uint32_t from, uint32_t to, uint8_t kind,
		uint64_t value, uint64_t coins, uint64_t t)
{
	struct kc_flow_edge probe = { .from = from, .to = to, .kind = kind };
	struct kc_flow_edge *e, **found;

	if (vertex(f, from) < 0 || vertex(f, to) < 0) {
		f->over = true;
		return -E2BIG;
	}
	found = tfind(&probe, &f->etree, ecmp);
	if (found != NULL) {
		e = *found;
	} else {
		if (f->nb_e == f->max_e) {
			f->over = true;
			return -E2BIG;
		}
		e = &f->edges[f->nb_e];
		*e = (struct kc_flow_edge){ .from = from, .to = to,
					    .kind = kind, .first_ns = t };
		if (tsearch(e, &f->etree, ecmp) == NULL) {
			f->over = true;
			return -ENOMEM;
		}
		f->nb_e++;
	}
	e->value += value;
	e->coins += coins;
	e->last_ns = t;
	f->value[kind] += value;
	return 0;
}

int kc_flow_add_hop(struct kc_flow *f, const uint8_t *rec, uint32_t len,
		    uint64_t t)
{
	struct kc_hoprec h;
	uint64_t in = 0, out = 0, coin, denom, prev, first_out = 0;

	if (!kc_hoprec_decode(rec, len, &h))
		return -EINVAL;
	f->hops++;
	if ((f->from_ns != 0 || f->to_ns != 0) &&
	    (t < f->from_ns || (f->to_ns != 0 && t >= f->to_ns))) {
		f->skipped++;
		return 0;
	}
	for (uint32_t i = 0; i < h.nb_in; i++) {
		kc_hoprec_in(&h, i, &coin, &denom, &prev);
		in += denom;
	}
	for (uint32_t i = 0; i < h.nb_out; i++) {
		kc_hoprec_out(&h, i, &coin, &denom);
		out += denom;
		if (i == 0)
			first_out = denom;
	}
	switch (h.kind) {
	case KC_HOP_MINT:
		return move(f, KC_FLOW_BANK, h.to, KC_FLOW_MINT, out, h.nb_out,
			    t);
	case KC_HOP_TRANSFER:
		return move(f, h.from, h.to, KC_FLOW_TRANSFER, in, h.nb_in, t);
	case KC_HOP_BURN:
		return move(f, h.from, KC_FLOW_BANK, KC_FLOW_BURN, in, h.nb_in,
			    t);
	case KC_HOP_ESCROW:
		/* A free call moves nothing; one coin of the price moves as
		 * it is; otherwise the price is the first coin made (the
		 * second, the change, goes back to the caller). */
		if (h.nb_in == 0)
			return 0;
		return move(f, h.from, h.to, KC_FLOW_ESCROW,
			    h.nb_out == 0 ? in : first_out, 1, t);
	case KC_HOP_PAY:
		return move(f, h.from, h.to, KC_FLOW_PAY, in, h.nb_in, t);
	case KC_HOP_REFUND:
		return move(f, h.from, h.to, KC_FLOW_REFUND, in, h.nb_in, t);
	default:	/* SPLIT, MERGE, HOLD: nothing changes hands */
		return 0;
	}
}

void kc_flow_totals(const struct kc_flow *f, struct kc_flow_totals *t)
{
	*t = (struct kc_flow_totals){ .vertices = f->nb_v, .edges = f->nb_e,
				      .hops = f->hops, .skipped = f->skipped,
				      .over = f->over };
	memcpy(t->value, f->value, sizeof(t->value));
}

int64_t kc_flow_net(const struct kc_flow *f, uint32_t account)
{
	int64_t net = 0;

	for (uint32_t i = 0; i < f->nb_e; i++) {
		if (f->edges[i].to == account)
			net += (int64_t)f->edges[i].value;
		if (f->edges[i].from == account)
			net -= (int64_t)f->edges[i].value;
	}
	return net;
}

void kc_flow_nets(const struct kc_flow *f, int64_t *net)
{
	memset(net, 0, sizeof(*net) * f->nb_v);
	for (uint32_t i = 0; i < f->nb_e; i++) {
		const struct kc_flow_edge *e = &f->edges[i];

		net[kc_flow_vertex(f, e->to)] += (int64_t)e->value;
		net[kc_flow_vertex(f, e->from)] -= (int64_t)e->value;
	}
}

uint32_t kc_flow_hidden(const struct kc_flow *f, uint32_t *bad, uint32_t max)
{
	int64_t *net = calloc(f->nb_v ? f->nb_v : 1, sizeof(*net));
	int64_t sum = 0;
	uint32_t n = 0;

	if (net == NULL)
		return UINT32_MAX;
	kc_flow_nets(f, net);
	for (uint32_t v = 0; v < f->nb_v; v++) {
		sum += net[v];
		if (f->accounts[v] != KC_FLOW_BANK && net[v] < 0) {
			if (n < max)
				bad[n] = f->accounts[v];
			n++;
		}
	}
	/* The bank's net is minus what the others hold: the total is 0. */
	if (sum != 0) {
		int64_t b = kc_flow_vertex(f, KC_FLOW_BANK);

		if (n < max)
			bad[n] = b >= 0 ? KC_FLOW_BANK : UINT32_MAX;
		n++;
	}
	free(net);
	return n;
}

/* ---- igraph ---------------------------------------------------------------- */

static void quiet_errors(void)
{
	static bool done;

	if (!done) {
		/* Return codes, not abort(): a failure is the caller's. */
		igraph_set_error_handler(igraph_error_handler_ignore);
		igraph_set_warning_handler(igraph_warning_handler_ignore);
		done = true;
	}
}

/* The graph in igraph, one edge per (from, to) with the value of every
 * kind summed when merge is set, else one per kind. */
static int to_igraph(const struct kc_flow *f, igraph_t *g,
		     igraph_vector_t *cap, bool directed)
{
	igraph_vector_int_t ev;

	quiet_errors();
	if (f->over)
		return -E2BIG;
	if (igraph_vector_int_init(&ev, 2 * (igraph_integer_t)f->nb_e) != 0)
		return -ENOMEM;
	if (cap != NULL && igraph_vector_init(cap, f->nb_e) != 0) {
		igraph_vector_int_destroy(&ev);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < f->nb_e; i++) {
		VECTOR(ev)[2 * i] = kc_flow_vertex(f, f->edges[i].from);
		VECTOR(ev)[2 * i + 1] = kc_flow_vertex(f, f->edges[i].to);
		if (cap != NULL)
			VECTOR(*cap)[i] = (igraph_real_t)f->edges[i].value;
	}
	if (igraph_create(g, &ev, f->nb_v, directed) != 0) {
		igraph_vector_int_destroy(&ev);
		if (cap != NULL)
			igraph_vector_destroy(cap);
		return -ENOMEM;
	}
	igraph_vector_int_destroy(&ev);
	return 0;
}

int kc_flow_maxflow(const struct kc_flow *f, uint32_t a, uint32_t b,
		    double *value, uint32_t (*cut)[2], uint32_t max,
		    uint32_t *nb_cut)
{
	int64_t va = kc_flow_vertex(f, a), vb = kc_flow_vertex(f, b);
	igraph_vector_int_t cutv;
	igraph_vector_t cap;
	igraph_real_t v = 0;
	igraph_t g;
	int rc;

	*nb_cut = 0;
	*value = 0;
	if (f->over)
		return -E2BIG;
	if (va < 0 || vb < 0)
		return -ENOENT;
	if (a == b)
		return -EINVAL;
	rc = to_igraph(f, &g, &cap, IGRAPH_DIRECTED);
	if (rc != 0)
		return rc;
	if (igraph_vector_int_init(&cutv, 0) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	/* Parallel edges (one per kind) add their capacities, as igraph
	 * does for a multigraph. */
	if (igraph_maxflow(&g, &v, NULL, &cutv, NULL, NULL, va, vb, &cap,
			   NULL) != 0) {
		rc = -ENOMEM;
	} else {
		*value = v;
		for (igraph_integer_t i = 0; i < igraph_vector_int_size(&cutv);
		     i++) {
			const struct kc_flow_edge *e =
				&f->edges[VECTOR(cutv)[i]];

			if (*nb_cut < max) {
				cut[*nb_cut][0] = e->from;
				cut[*nb_cut][1] = e->to;
			}
			(*nb_cut)++;
		}
	}
	igraph_vector_int_destroy(&cutv);
out:
	igraph_vector_destroy(&cap);
	igraph_destroy(&g);
	return rc;
}

int kc_flow_kcore(const struct kc_flow *f, uint32_t *core)
{
	igraph_vector_int_t c;
	igraph_t g, s;
	int rc = to_igraph(f, &g, NULL, IGRAPH_UNDIRECTED);

	if (rc != 0)
		return rc;
	/* Coreness counts neighbours: one edge per pair, no loops. */
	if (igraph_copy(&s, &g) != 0) {
		igraph_destroy(&g);
		return -ENOMEM;
	}
	igraph_destroy(&g);
	if (igraph_simplify(&s, true, true, NULL) != 0 ||
	    igraph_vector_int_init(&c, 0) != 0) {
		igraph_destroy(&s);
		return -ENOMEM;
	}
	if (igraph_coreness(&s, &c, IGRAPH_ALL) != 0) {
		rc = -ENOMEM;
	} else {
		for (uint32_t v = 0; v < f->nb_v; v++)
			core[v] = (uint32_t)VECTOR(c)[v];
	}
	igraph_vector_int_destroy(&c);
	igraph_destroy(&s);
	return rc;
}

int kc_flow_scc(const struct kc_flow *f, uint32_t *comp, uint32_t *nb)
{
	igraph_vector_int_t m;
	igraph_integer_t no = 0;
	igraph_t g;
	int rc = to_igraph(f, &g, NULL, IGRAPH_DIRECTED);

	if (rc != 0)
		return rc;
	if (igraph_vector_int_init(&m, 0) != 0) {
		igraph_destroy(&g);
		return -ENOMEM;
	}
	if (igraph_connected_components(&g, &m, NULL, &no, IGRAPH_STRONG) !=
	    0) {
		rc = -ENOMEM;
	} else {
		for (uint32_t v = 0; v < f->nb_v; v++)
			comp[v] = (uint32_t)VECTOR(m)[v];
		*nb = (uint32_t)no;
	}
	igraph_vector_int_destroy(&m);
	igraph_destroy(&g);
	return rc;
}

int kc_flow_write(const struct kc_flow *f, FILE *out,
		  enum kc_flow_format format)
{
	int64_t *net;
	igraph_t g;
	int rc;

	if (format != KC_FLOW_GRAPHML && format != KC_FLOW_DOT)
		return -EINVAL;
	net = calloc(f->nb_v ? f->nb_v : 1, sizeof(*net));
	if (net == NULL)
		return -ENOMEM;
	kc_flow_nets(f, net);
	/* Attributes are kept by igraph's C attribute handler. */
	igraph_set_attribute_table(&igraph_cattribute_table);
	rc = to_igraph(f, &g, NULL, IGRAPH_DIRECTED);
	if (rc != 0) {
		free(net);
		return rc;
	}
	for (uint32_t v = 0; v < f->nb_v && rc == 0; v++) {
		char label[24];

		snprintf(label, sizeof(label), "%u", f->accounts[v]);
		if (SETVAN(&g, "account", v, f->accounts[v]) != 0 ||
		    SETVAN(&g, "net", v, (double)net[v]) != 0 ||
		    SETVAS(&g, "label", v, label) != 0)
			rc = -ENOMEM;
	}
	for (uint32_t i = 0; i < f->nb_e && rc == 0; i++) {
		const struct kc_flow_edge *e = &f->edges[i];

		if (SETEAS(&g, "kind", i, kc_flow_kind_name(e->kind)) != 0 ||
		    SETEAN(&g, "value", i, (double)e->value) != 0 ||
		    SETEAN(&g, "coins", i, (double)e->coins) != 0)
			rc = -ENOMEM;
	}
	if (rc == 0 &&
	    (format == KC_FLOW_GRAPHML ?
		     igraph_write_graph_graphml(&g, out, false) :
		     igraph_write_graph_dot(&g, out)) != 0)
		rc = -EIO;
	igraph_destroy(&g);
	igraph_set_attribute_table(NULL);
	free(net);
	return rc;
}
