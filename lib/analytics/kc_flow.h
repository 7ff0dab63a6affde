/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The money-flow graph (docs/analytics.md): accounts as vertices, an edge
 * A -> B per kind of movement carrying the total value and the count of
 * coins that went from A to B, built from the ledger's hop records (the
 * payloads of LEDGER journal records, kc_hoprec_decode) in journal order.
 * The central bank is account 0: a MINT is an edge 0 -> account, a BURN
 * account -> 0. Escrow (KC_ACCOUNT_ESCROW) is a vertex like any other:
 * a paid call is caller -> escrow (kind escrow), then escrow -> service
 * (pay) or escrow -> caller (refund). SPLIT, MERGE and HOLD move no value
 * between accounts and add no edge.
 *
 * The analyses run on a copy of it in igraph (Debian's libigraph, 0.10):
 * maximum flow and a minimum cut between two accounts (capacity: the
 * value that went along each edge), k-core decomposition, strongly
 * connected components. A graph over its caps refuses to grow and every
 * analysis on it answers -E2BIG instead of running.
 *
 * Not thread-safe; no allocation after kc_flow_create but igraph's, which
 * the analyses do (they run on a control thread or in kcq, never on an
 * lcore).
 */
#ifndef KC_FLOW_H
#define KC_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kc_ledger.h"

enum kc_flow_kind {
	KC_FLOW_MINT = 0,	/* the bank to an account */
	KC_FLOW_TRANSFER = 1,
	KC_FLOW_BURN = 2,	/* an account to the bank */
	KC_FLOW_ESCROW = 3,	/* a caller's price into escrow */
	KC_FLOW_PAY = 4,	/* escrow to the service */
	KC_FLOW_REFUND = 5,	/* escrow back to the caller */
	KC_FLOW_KINDS = 6,
};
const char *kc_flow_kind_name(unsigned int kind);

#define KC_FLOW_BANK 0u		/* the central bank's account */

struct kc_flow_edge {
	uint32_t from, to;	/* accounts */
	uint8_t kind;		/* enum kc_flow_kind */
	uint64_t value;		/* denominations that went along it */
	uint64_t coins;		/* coin movements */
	uint64_t first_ns, last_ns;
};

struct kc_flow;

/* Caps on vertices (accounts, the bank and escrow included) and edges.
 * NULL if out of memory. */
struct kc_flow *kc_flow_create(uint32_t max_vertices, uint32_t max_edges);
void kc_flow_free(struct kc_flow *f);

/*
 * Add one hop record (applied at time_ns); records outside [from_ns,
 * to_ns) are counted as skipped when a range is set (kc_flow_range).
 * 0, -EINVAL (not a hop record), or -E2BIG (the graph is over its caps:
 * it stops growing, and is marked over).
 */
int kc_flow_add_hop(struct kc_flow *f, const uint8_t *rec, uint32_t len,
		    uint64_t time_ns);
void kc_flow_range(struct kc_flow *f, uint64_t from_ns, uint64_t to_ns);

struct kc_flow_totals {
	uint32_t vertices, edges;
	uint64_t hops, skipped;		/* hop records seen, out of range */
	uint64_t value[KC_FLOW_KINDS];	/* per kind of edge */
	bool over;			/* hit a cap: the analyses refuse */
};
void kc_flow_totals(const struct kc_flow *f, struct kc_flow_totals *t);

/* Vertex i's account (0 <= i < vertices), and an account's vertex (-1:
 * none). Edges in the order they were made. */
uint32_t kc_flow_account(const struct kc_flow *f, uint32_t vertex);
int64_t kc_flow_vertex(const struct kc_flow *f, uint32_t account);
const struct kc_flow_edge *kc_flow_edge(const struct kc_flow *f, uint32_t i);

/* Inflow minus outflow of an account, every kind (the bank's is burnt
 * minus minted); kc_flow_nets: of every vertex at once, into
 * net[vertices] (one pass over the edges). */
int64_t kc_flow_net(const struct kc_flow *f, uint32_t account);
void kc_flow_nets(const struct kc_flow *f, int64_t *net);

/*
 * Hidden money: money appears only at the bank. Every account's net flow
 * must be its holdings (never negative: nobody can pay out more than came
 * in), and the nets must add up to zero (what the bank minted minus what
 * was burnt is what the accounts hold). The accounts that break it go to
 * bad (up to max; their count is returned), 0 when the graph is sound.
 */
uint32_t kc_flow_hidden(const struct kc_flow *f, uint32_t *bad, uint32_t max);

/*
 * Maximum flow from account a to account b through the graph, capacity the
 * value each pair of accounts moved (every kind summed); the edges of a
 * minimum cut (as (from, to) pairs of accounts, up to max) and their count
 * in *nb_cut. 0, -ENOENT (an account not in the graph), -EINVAL (a == b),
 * -E2BIG (over its caps), -ENOMEM.
 */
int kc_flow_maxflow(const struct kc_flow *f, uint32_t a, uint32_t b,
		    double *value, uint32_t (*cut)[2], uint32_t max,
		    uint32_t *nb_cut);

/* The coreness of every vertex (undirected, multi-edges once) into
 * core[vertices]. 0, -E2BIG, -ENOMEM. */
int kc_flow_kcore(const struct kc_flow *f, uint32_t *core);

/* Strongly connected components: the component of every vertex into
 * comp[vertices], their count in *nb. 0, -E2BIG, -ENOMEM. */
int kc_flow_scc(const struct kc_flow *f, uint32_t *comp, uint32_t *nb);

/* The graph as GraphML or Graphviz DOT (igraph's writers), the vertices
 * with their account and net flow, the edges with their kind, value and
 * coins. 0, -EINVAL (another format), -E2BIG, -ENOMEM, -EIO. */
enum kc_flow_format { KC_FLOW_GRAPHML, KC_FLOW_DOT };
int kc_flow_write(const struct kc_flow *f, FILE *out,
		  enum kc_flow_format format);

#endif /* KC_FLOW_H */
