/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reflection limit (docs/protocol.md, "Reflection"): a signed read
 * captured off the wire can be sent again, within the replay window, with
 * any source address, to make the appliance send a larger REPLY to that
 * address. Each read REPLY's bytes beyond its request's are charged to two
 * token buckets, one of the source address and one of the client, refilled
 * at kcp.reflection_limit_source / _client bytes a second (each holds one
 * second's worth); a REPLY either cannot pay for is not sent (counted in
 * drop_reflection). Sources share a direct-mapped table (an address whose
 * slot another took starts over full: many spoofed sources are still held
 * by their client's bucket). Allocated at start, nothing on the data path.
 */
#include <stdbool.h>
#include <stdint.h>

#include <rte_malloc.h>

#include "kc_worker.h"

#define SOURCES 4096u	/* power of two */

struct bucket {
	uint64_t tokens;
	uint64_t last_ns;
};

struct source {
	uint32_t ip;
	uint32_t used;
	struct bucket b;
};

struct kc_refl {
	uint64_t src_rate;	/* bytes a second; 0: no limit */
	uint64_t cli_rate;
	uint32_t nb_clients;
	struct bucket *clients;
	struct source sources[SOURCES];
};

struct kc_refl *kc_refl_create(uint64_t per_source, uint64_t per_client,
			       uint32_t nb_clients, int socket_id)
{
	struct kc_refl *r;

	if (per_source == 0 && per_client == 0)
		return NULL; /* off: nothing to keep */
	r = rte_zmalloc_socket("kc_refl", sizeof(*r), RTE_CACHE_LINE_SIZE,
			       socket_id);
	if (r == NULL)
		return NULL;
	r->clients = rte_zmalloc_socket("kc_refl_clients",
					sizeof(*r->clients) * nb_clients,
					RTE_CACHE_LINE_SIZE, socket_id);
	if (r->clients == NULL) {
		rte_free(r);
		return NULL;
	}
	r->src_rate = per_source;
	r->cli_rate = per_client;
	r->nb_clients = nb_clients;
	for (uint32_t i = 0; i < nb_clients; i++)
		r->clients[i].tokens = per_client;
	return r;
}

void kc_refl_free(struct kc_refl *r)
{
	if (r == NULL)
		return;
	rte_free(r->clients);
	rte_free(r);
}

static void refill(struct bucket *b, uint64_t rate, uint64_t now_ns)
{
	uint64_t dt = now_ns > b->last_ns ? now_ns - b->last_ns : 0;

	b->last_ns = now_ns;
	if (dt >= 1000000000u) {
		b->tokens = rate;
		return;
	}
	b->tokens += dt * rate / 1000000000u;
	if (b->tokens > rate)
		b->tokens = rate;
}

bool kc_refl_allow(struct kc_refl *r, uint32_t src_ip, uint32_t client,
		   uint32_t extra, uint64_t now_ns)
{
	struct source *s = NULL;
	struct bucket *c = NULL;

	if (r == NULL || extra == 0)
		return true;
	if (r->src_rate != 0) {
		s = &r->sources[(src_ip * 2654435761u) >> 20 & (SOURCES - 1)];
		if (!s->used || s->ip != src_ip) {
			s->used = 1;
			s->ip = src_ip;
			s->b = (struct bucket){ .tokens = r->src_rate,
						.last_ns = now_ns };
		}
		refill(&s->b, r->src_rate, now_ns);
	}
	if (r->cli_rate != 0 && client < r->nb_clients) {
		c = &r->clients[client];
		refill(c, r->cli_rate, now_ns);
	}
	if ((s != NULL && s->b.tokens < extra) ||
	    (c != NULL && c->tokens < extra))
		return false;
	if (s != NULL)
		s->b.tokens -= extra;
	if (c != NULL)
		c->tokens -= extra;
	return true;
}
