/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The opinion graph of services (docs/analytics.md): callers' outcomes of
 * their calls as weighted edges caller -> service, positive (a call
 * answered OK) and negative (an error, a timeout; a problem report weighs
 * two), and a merit ranking of the services from it with igraph's
 * PageRank: each caller has one vote, split among the services it was
 * satisfied with in proportion to its net satisfied calls (negative nets
 * give nothing: EigenTrust's clipping); a service that is itself a
 * satisfied caller passes its merit on. The walk restarts only at callers,
 * so a service gets nothing but votes. Control threads and kcq only.
 */
#ifndef KC_OPINION_H
#define KC_OPINION_H

#include <stdint.h>

enum kc_opinion_kind {
	KC_OPINION_OK = 0,	/* answered OK: +1 */
	KC_OPINION_FAILED = 1,	/* the service's error or a timeout: -1 */
	KC_OPINION_PROBLEM = 2,	/* a problem report: -2 */
};

struct kc_opinion;

struct kc_opinion *kc_opinion_create(uint32_t max_pairs);
void kc_opinion_free(struct kc_opinion *o);

/* One outcome of caller's call to service; -E2BIG over the cap (the
 * graph is then marked over and the ranking refuses). */
int kc_opinion_add(struct kc_opinion *o, uint32_t caller, uint32_t service,
		   enum kc_opinion_kind kind);

struct kc_merit {
	uint32_t service;	/* the service's account */
	double merit;		/* share of the callers' votes, 0..1 */
	uint64_t ok, failed, problems;
	uint32_t callers;	/* distinct callers */
};

/*
 * The services ranked by merit, best first, into out (up to max); their
 * count in *nb. 0, -E2BIG (over the cap), -ENOMEM.
 */
int kc_opinion_rank(const struct kc_opinion *o, struct kc_merit *out,
		    uint32_t max, uint32_t *nb);

#endif /* KC_OPINION_H */
