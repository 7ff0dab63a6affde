/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The money trail: a coin's hops, walked back through the journal from its
 * last hop (docs/ledger.md, "Money trail"). Each LEDGER record lists, for
 * every coin it moved or consumed, the seq of that coin's previous hop; a
 * coin made by SPLIT or MERGE goes on through its parents, back to the
 * MINTs. Reads files: a control thread's work, never an lcore's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_worker.h"

struct step {
	uint64_t coin;
	uint64_t seq;
};

/*
 * The (coin, seq) steps already taken: a MERGE of pieces of one SPLIT
 * reaches the SPLIT's parent once per piece, and without this the walk
 * would grow twofold with each such round. Open addressing, sized for
 * max steps at half load; seq 0 marks a free slot (no record has it).
 */
struct seen {
	struct step *slot;
	uint32_t mask;
};

static bool seen_init(struct seen *v, uint32_t max)
{
	uint32_t n = 16;

	while (n < 2 * max)
		n <<= 1;
	v->slot = calloc(n, sizeof(*v->slot));
	v->mask = n - 1;
	return v->slot != NULL;
}

/* True if s was seen before; remembers it otherwise. */
static bool seen_add(struct seen *v, struct step s)
{
	uint32_t i = (uint32_t)((s.coin * 0x9e3779b97f4a7c15ull) ^ s.seq) &
		     v->mask;

	while (v->slot[i].seq != 0) {
		if (v->slot[i].seq == s.seq && v->slot[i].coin == s.coin)
			return true;
		i = (i + 1) & v->mask;
	}
	v->slot[i] = s;
	return false;
}

static int hop_cmp(const void *a, const void *b)
{
	const struct kc_hop *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->coin < y->coin ? -1 : x->coin > y->coin;
}

/* Find coin in the record's lists: 1 in, 2 out, 0 neither. */
static int locate(const struct kc_hoprec *r, uint64_t coin, uint64_t *denom,
		  uint64_t *prev)
{
	uint64_t c;

	for (uint32_t i = 0; i < r->nb_in; i++) {
		kc_hoprec_in(r, i, &c, denom, prev);
		if (c == coin)
			return 1;
	}
	for (uint32_t i = 0; i < r->nb_out; i++) {
		kc_hoprec_out(r, i, &c, denom);
		if (c == coin)
			return 2;
	}
	return 0;
}

int kc_trail_walk(struct kc_jlookup *x, uint64_t coin, uint64_t last_hop_seq,
		  struct kc_hop *hops, uint32_t max, uint32_t *nb,
		  const int *stop, char *err, size_t err_len)
{
	static __thread uint8_t payload[KC_JREC_PAYLOAD_MAX];
	struct step *stack = malloc(sizeof(*stack) * (max + 1));
	uint32_t depth = 0, n = 0;
	struct seen seen = { NULL, 0 };
	int rc = 0;

	if (stack == NULL || !seen_init(&seen, max)) {
		free(stack);
		free(seen.slot);
		return -ENOMEM;
	}
	stack[depth++] = (struct step){ coin, last_hop_seq };
	seen_add(&seen, stack[0]);
	while (depth != 0) {
		struct step s = stack[--depth];
		struct kc_hoprec r;
		struct kc_jrec h;
		uint64_t denom = 0, prev = 0;
		int where;

		if (n == max) {
			snprintf(err, err_len, "the trail has more than %u "
				 "hops (ledger.trail_max_hops)", max);
			rc = -E2BIG;
			break;
		}
		if (stop != NULL && __atomic_load_n(stop, __ATOMIC_RELAXED)) {
			snprintf(err, err_len, "stopped after %u hops: the "
				 "appliance is shutting down", n);
			rc = -ECANCELED;
			break;
		}
		rc = kc_jlookup_read(x, s.seq, &h, payload, sizeof(payload));
		if (rc != 0) {
			snprintf(err, err_len, "the hop at seq %llu of coin "
				 "%llu cannot be read: %s",
				 (unsigned long long)s.seq,
				 (unsigned long long)s.coin,
				 rc == -ENOENT ? "retention deleted that part "
				 "of the journal" : strerror(-rc));
			break;
		}
		if (h.type != KC_JREC_LEDGER ||
		    !kc_hoprec_decode(payload, h.payload_len, &r) ||
		    (where = locate(&r, s.coin, &denom, &prev)) == 0) {
			snprintf(err, err_len, "journal seq %llu is not a hop "
				 "of coin %llu", (unsigned long long)s.seq,
				 (unsigned long long)s.coin);
			rc = -EILSEQ;
			break;
		}
		hops[n++] = (struct kc_hop){
			.seq = s.seq, .time_ns = h.time_ns, .coin = s.coin,
			.denomination = denom, .from = r.from, .to = r.to,
			.kind = r.kind,
		};
		if (r.call != NULL)
			memcpy(hops[n - 1].call, r.call, KC_CALL_ID_LEN);
		if (where == 1) {
			/* Moved or consumed here: on to its previous hop. */
			struct step next = { s.coin, prev };

			if (!seen_add(&seen, next))
				stack[depth++] = next;
			continue;
		}
		/* Made here: a MINT ends the walk; a SPLIT or MERGE goes on
		 * with the parents' histories. */
		for (uint32_t i = 0; r.kind != KC_HOP_MINT && i < r.nb_in &&
				     depth < max; i++) {
			struct step next;

			kc_hoprec_in(&r, i, &next.coin, &denom, &next.seq);
			if (!seen_add(&seen, next))
				stack[depth++] = next;
		}
	}
	free(stack);
	free(seen.slot);
	if (rc != 0)
		return rc;
	/* Oldest first. Each (coin, seq) was visited once. */
	qsort(hops, n, sizeof(*hops), hop_cmp);
	*nb = n;
	return 0;
}
