/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The opinion graph and the merit ranking of services (kc_opinion.h,
 * docs/analytics.md): (caller, service) pairs found through libc's
 * tsearch, PageRank from igraph.
 */
#include <errno.h>
#include <search.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <igraph.h>

#include "kc_opinion.h"

#define PROBLEM_WEIGHT 2u	/* as the arbiter weighs one (services.md) */
#define DAMPING 0.85

struct pair {
	uint32_t caller, service;
	uint64_t ok, failed, problems;
};

struct kc_opinion {
	uint32_t max, nb;
	struct pair *pairs;
	void *tree;
	bool over;
};

static int pcmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->caller != y->caller)
		return x->caller < y->caller ? -1 : 1;
	return x->service < y->service ? -1 : x->service > y->service;
}

struct kc_opinion *kc_opinion_create(uint32_t max_pairs)
{
	struct kc_opinion *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->max = max_pairs;
	o->pairs = calloc(max_pairs ? max_pairs : 1, sizeof(*o->pairs));
	if (o->pairs == NULL) {
		free(o);
		return NULL;
	}
	return o;
}

static void noop(void *p)
{
	(void)p;
}

void kc_opinion_free(struct kc_opinion *o)
{
	if (o == NULL)
		return;
	tdestroy(o->tree, noop);
	free(o->pairs);
	free(o);
}

int kc_opinion_add(struct kc_opinion *o, uint32_t caller, uint32_t service,
		   enum kc_opinion_kind kind)
{
	struct pair probe = { .caller = caller, .service = service }, *p;
	struct pair **found = tfind(&probe, &o->tree, pcmp);

	if (found != NULL) {
		p = *found;
	} else {
		if (o->nb == o->max) {
			o->over = true;
			return -E2BIG;
		}
		p = &o->pairs[o->nb];
		*p = probe;
		if (tsearch(p, &o->tree, pcmp) == NULL) {
			o->over = true;
			return -ENOMEM;
		}
		o->nb++;
	}
	if (kind == KC_OPINION_OK)
		p->ok++;
	else if (kind == KC_OPINION_FAILED)
		p->failed++;
	else
		p->problems++;
	return 0;
}

static int u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and keep one of each; the new count. */
static uint32_t unique(uint32_t *v, uint32_t n)
{
	uint32_t k = 0;

	qsort(v, n, sizeof(*v), u32cmp);
	for (uint32_t i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

/* The index of a in the sorted, unique v[0..n). */
static uint32_t index_of(const uint32_t *v, uint32_t n, uint32_t a)
{
	const uint32_t *hit = bsearch(&a, v, n, sizeof(*v), u32cmp);

	return (uint32_t)(hit - v);
}

static int by_merit(const void *a, const void *b)
{
	const struct kc_merit *x = a, *y = b;

	if (x->merit != y->merit)
		return x->merit > y->merit ? -1 : 1;
	return x->service < y->service ? -1 : x->service > y->service;
}

int kc_opinion_rank(const struct kc_opinion *o, struct kc_merit *out,
		    uint32_t max, uint32_t *nb)
{
	uint32_t *acc = calloc(2u * o->nb + 1u, sizeof(*acc));
	uint32_t *svc = calloc(o->nb + 1u, sizeof(*svc)), n, ns;
	bool votes = false;
	struct kc_merit *m = calloc(o->nb + 1u, sizeof(*m));
	igraph_vector_int_t ev;
	igraph_vector_t w, pr, reset;
	igraph_real_t value;
	igraph_t g;
	int rc = 0;

	*nb = 0;
	if (acc == NULL || svc == NULL || m == NULL || o->over) {
		rc = o->over ? -E2BIG : -ENOMEM;
		goto free_arrays;
	}
	for (uint32_t i = 0; i < o->nb; i++) {
		acc[2 * i] = o->pairs[i].caller;
		acc[2 * i + 1] = o->pairs[i].service;
		svc[i] = o->pairs[i].service;
	}
	n = unique(acc, 2 * o->nb);
	ns = unique(svc, o->nb);
	for (uint32_t k = 0; k < ns; k++)
		m[k].service = svc[k];
	igraph_set_error_handler(igraph_error_handler_ignore);
	if (igraph_vector_int_init(&ev, 2 * (igraph_integer_t)o->nb) != 0) {
		rc = -ENOMEM;
		goto free_arrays;
	}
	if (igraph_vector_init(&w, o->nb) != 0) {
		igraph_vector_int_destroy(&ev);
		rc = -ENOMEM;
		goto free_arrays;
	}
	for (uint32_t i = 0; i < o->nb; i++) {
		const struct pair *p = &o->pairs[i];
		uint64_t neg = p->failed + PROBLEM_WEIGHT * p->problems;
		struct kc_merit *s = &m[index_of(svc, ns, p->service)];

		VECTOR(ev)[2 * i] = index_of(acc, n, p->caller);
		VECTOR(ev)[2 * i + 1] = index_of(acc, n, p->service);
		/* A net dissatisfied caller gives no vote (clipped at 0). */
		VECTOR(w)[i] = p->ok > neg ? (igraph_real_t)(p->ok - neg) : 0;
		votes |= p->ok > neg;
		s->ok += p->ok;
		s->failed += p->failed;
		s->problems += p->problems;
		s->callers++;
	}
	/* No vote at all (no calls, or no satisfied caller): every merit
	 * is 0, and igraph is not asked (it refuses an empty or all-zero
	 * weight vector with a fatal error). */
	if (!votes) {
		for (uint32_t k = 0; k < ns && k < max; k++)
			out[k] = m[k];
		*nb = ns;
		goto out;
	}
	if (igraph_create(&g, &ev, n, IGRAPH_DIRECTED) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (igraph_vector_init(&pr, 0) != 0) {
		igraph_destroy(&g);
		rc = -ENOMEM;
		goto out;
	}
	if (igraph_vector_init(&reset, n) != 0) {
		igraph_vector_destroy(&pr);
		igraph_destroy(&g);
		rc = -ENOMEM;
		goto out;
	}
	/* The walk starts again at a caller, never at a service: a
	 * service's merit is only what callers' votes bring it. */
	for (uint32_t i = 0; i < o->nb; i++)
		VECTOR(reset)[VECTOR(ev)[2 * i]] = 1;
	if (igraph_personalized_pagerank(&g, IGRAPH_PAGERANK_ALGO_PRPACK, &pr,
					 &value, igraph_vss_all(),
					 IGRAPH_DIRECTED, DAMPING, &reset, &w,
					 NULL) != 0) {
		rc = -ENOMEM;
	} else {
		double sum = 0;

		for (uint32_t k = 0; k < ns; k++) {
			m[k].merit = VECTOR(pr)[index_of(acc, n, m[k].service)];
			sum += m[k].merit;
		}
		/* Shares of what the services got. */
		for (uint32_t k = 0; k < ns && sum > 0; k++)
			m[k].merit /= sum;
		qsort(m, ns, sizeof(*m), by_merit);
		for (uint32_t k = 0; k < ns && k < max; k++)
			out[k] = m[k];
		*nb = ns;
	}
	igraph_vector_destroy(&reset);
	igraph_vector_destroy(&pr);
	igraph_destroy(&g);
out:
	igraph_vector_int_destroy(&ev);
	igraph_vector_destroy(&w);
free_arrays:
	free(acc);
	free(svc);
	free(m);
	return rc;
}
