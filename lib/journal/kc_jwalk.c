/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The journal's reading rules, in one place (docs/journal-format.md,
 * "Reading rules"): a shard's valid records, as the reader gives them,
 * made into what they mean. A REQUEST and the REPLY right after it (ref =
 * its seq) are a pair; the OK REPLY of an op that leaves a hop
 * (kc_op_has_hop) is followed by its LEDGER record (seq = kc_jrec_hop_seq
 * of the REQUEST's, ref = the REQUEST's), which belongs to the pair; the
 * parts of a snapshot are consecutive SNAPSHOT records (ref = part 0's
 * seq) and make one snapshot, and a snapshot whose writing was interrupted
 * is left out. An OUTCOME record (a completed call's REPLY to its caller,
 * ref = the CALL's REQUEST, before it) is an item of its own. Recovery and kcq (verify, trail) read through it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_debug.h>

#include "kc_journal.h"

/* One record kept by the walk: header, position and a copy of its
 * payload (the reader's bytes go when it moves to the next segment). */
struct held {
	struct kc_jrec h;
	struct kc_jpos pos;
	uint8_t p[KC_JREC_PAYLOAD_MAX];
};

struct kc_jwalk {
	struct kc_jreader *r;
	uint64_t first_seq;	/* 0: nothing read yet */
	bool seen_request;
	/* A record read but not yet looked at (after a problem it caused
	 * for the record before it). */
	bool have_next;
	struct kc_jrec next_h;
	const uint8_t *next_p;
	struct kc_jpos next_pos;
	/* The REQUEST waiting for its REPLY; then the REPLY waiting for
	 * its LEDGER record. */
	bool have_req, have_rep;
	struct held req, rep, hop;
	/* The snapshot being put together. */
	uint8_t *snap;		/* grown as snapshots need, to snap_max */
	uint64_t snap_cap;
	uint64_t snap_max;
	uint64_t snap_len;
	uint64_t snap_seq0;
	uint32_t snap_next;	/* part expected; 0: none under way */
	uint32_t snap_parts;
	uint32_t snap_total;
	uint8_t snap_kind;
};

struct kc_jwalk *kc_jwalk_open(struct kc_jreader *r, uint64_t snap_max)
{
	struct kc_jwalk *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->r = r;
	w->snap_max = snap_max;
	return w;
}

void kc_jwalk_close(struct kc_jwalk *w)
{
	if (w == NULL)
		return;
	free(w->snap);
	free(w);
}

uint64_t kc_jwalk_first_seq(const struct kc_jwalk *w)
{
	return w->first_seq;
}

bool kc_jwalk_unanswered(const struct kc_jwalk *w, struct kc_jpos *pos,
			 uint64_t *seq)
{
	if (!w->have_req && !w->have_rep)
		return false;
	*pos = w->req.pos;
	*seq = w->req.h.seq;
	return true;
}

static void hold(struct held *x, const struct kc_jrec *h, const uint8_t *p,
		 const struct kc_jpos *pos)
{
	x->h = *h;
	x->pos = *pos;
	memcpy(x->p, p, h->payload_len);
}

static void msg_of(struct kc_jmsg *m, const struct held *x)
{
	m->h = x->h;
	m->p = x->p;
	m->pos = x->pos;
}

static bool problem(struct kc_jitem *it, const struct kc_jrec *h,
		    const uint8_t *p, const struct kc_jpos *pos,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static bool problem(struct kc_jitem *it, const struct kc_jrec *h,
		    const uint8_t *p, const struct kc_jpos *pos,
		    const char *fmt, ...)
{
	va_list ap;

	it->kind = KC_JITEM_PROBLEM;
	it->rec = (struct kc_jmsg){ .h = *h, .p = p, .pos = *pos };
	va_start(ap, fmt);
	vsnprintf(it->text, sizeof(it->text), fmt, ap);
	va_end(ap);
	return true;
}

/* The start of the shard went to retention: a REPLY or LEDGER record
 * read before any REQUEST may have lost its REQUEST with it. */
static bool headless(const struct kc_jwalk *w)
{
	return w->first_seq > 1 && !w->seen_request;
}

static bool pair(struct kc_jwalk *w, struct kc_jitem *it, bool with_hop)
{
	/* What a pair is, right after it was read (docs/architecture.md,
	 * "Assertions"). */
	RTE_VERIFY(w->have_req);
	RTE_VERIFY(w->rep.h.ref == w->req.h.seq);
	RTE_VERIFY(w->rep.h.seq > w->req.h.seq);
	RTE_VERIFY(!with_hop || w->hop.h.seq == kc_jrec_hop_seq(w->req.h.seq));
	it->kind = KC_JITEM_PAIR;
	msg_of(&it->req, &w->req);
	msg_of(&it->rep, &w->rep);
	it->has_hop = with_hop;
	if (with_hop)
		msg_of(&it->hop, &w->hop);
	w->have_req = false;
	w->have_rep = false;
	return true;
}

/* A SNAPSHOT part: true when it completes a snapshot or breaks a rule. */
static bool snapshot_part(struct kc_jwalk *w, const struct kc_jrec *h,
			  const uint8_t *p, const struct kc_jpos *pos,
			  struct kc_jitem *it)
{
	struct kc_jsnap sh;
	uint32_t chunk;

	if (!kc_jsnap_decode(p, h->payload_len, &sh) ||
	    (sh.kind != KC_JSNAP_QUEUE && sh.kind != KC_JSNAP_LEDGER &&
	     sh.kind != KC_JSNAP_SERVICES)) {
		w->snap_next = 0;
		return problem(it, h, p, pos, "a SNAPSHOT record this build "
			       "cannot read");
	}
	chunk = h->payload_len - KC_JSNAP_HDR_LEN;
	if (sh.part == 0) {
		if (sh.total_len > w->snap_max) {
			w->snap_next = 0;
			return problem(it, h, p, pos, "a snapshot of %u bytes, "
				       "more than the %" PRIu64 " these limits "
				       "allow", sh.total_len, w->snap_max);
		}
		if (sh.parts == 0 || sh.total_len > (uint64_t)sh.parts *
						     KC_JSNAP_CHUNK_MAX) {
			w->snap_next = 0;
			return problem(it, h, p, pos, "a snapshot of %u bytes "
				       "in %u parts, which cannot hold it",
				       sh.total_len, sh.parts);
		}
		w->snap_seq0 = h->seq;
		w->snap_len = 0;
		w->snap_parts = sh.parts;
		w->snap_total = sh.total_len;
		w->snap_kind = sh.kind;
	} else if (sh.part != w->snap_next || h->ref != w->snap_seq0 ||
		   sh.parts != w->snap_parts || sh.kind != w->snap_kind) {
		/* Not the snapshot under way: an interrupted one's rest. */
		w->snap_next = 0;
		return false;
	}
	if (chunk > w->snap_total - w->snap_len) {
		w->snap_next = 0;
		return problem(it, h, p, pos, "snapshot parts longer than it "
			       "says (%u bytes)", w->snap_total);
	}
	/* The buffer grows with the parts read, not to what part 0 claims:
	 * a damaged or crafted claim costs no more memory than the bytes
	 * that are there. */
	if (w->snap_len + chunk > w->snap_cap || w->snap == NULL) {
		uint64_t cap = RTE_MIN(2 * w->snap_cap,
				       (uint64_t)w->snap_total);
		uint8_t *b;

		if (cap < w->snap_len + chunk)
			cap = w->snap_len + chunk;
		b = realloc(w->snap, cap != 0 ? cap : 1);

		if (b == NULL) {
			w->snap_next = 0;
			return problem(it, h, p, pos, "no memory for a "
				       "snapshot of %u bytes", w->snap_total);
		}
		w->snap = b;
		w->snap_cap = cap;
	}
	memcpy(w->snap + w->snap_len, p + KC_JSNAP_HDR_LEN, chunk);
	w->snap_len += chunk;
	w->snap_next = sh.part + 1;
	if (w->snap_next < sh.parts)
		return false;
	w->snap_next = 0;
	if (w->snap_len != w->snap_total)
		return problem(it, h, p, pos, "a snapshot shorter than it says "
			       "(%" PRIu64 " of %u bytes)", w->snap_len,
			       w->snap_total);
	it->kind = KC_JITEM_SNAPSHOT;
	it->snap_kind = w->snap_kind;
	it->snap_seq0 = w->snap_seq0;
	it->snap_seq_last = h->seq;
	it->snap = w->snap;
	it->snap_len = w->snap_len;
	it->rec = (struct kc_jmsg){ .h = *h, .p = p, .pos = *pos };
	return true;
}

/* A LEDGER record: the hop of the REPLY waiting for one. */
static bool ledger_record(struct kc_jwalk *w, const struct kc_jrec *h,
			  const uint8_t *p, const struct kc_jpos *pos,
			  struct kc_jitem *it)
{
	if (!w->have_rep) {
		if (headless(w)) {
			it->kind = KC_JITEM_HEADLESS;
			it->rec = (struct kc_jmsg){ .h = *h, .p = p,
						    .pos = *pos };
			return true;
		}
		return problem(it, h, p, pos, "a LEDGER record that follows "
			       "no successful ledger REPLY");
	}
	if (h->ref != w->req.h.seq || h->seq != kc_jrec_hop_seq(w->req.h.seq) ||
	    h->op != w->req.h.op) {
		w->have_req = false;
		w->have_rep = false;
		return problem(it, h, p, pos, "a LEDGER record (ref %" PRIu64
			       ", op %u) that does not follow its REQUEST "
			       "(seq %" PRIu64 ", op %u) and REPLY", h->ref,
			       h->op, w->req.h.seq, w->req.h.op);
	}
	hold(&w->hop, h, p, pos);
	return pair(w, it, true);
}

/* An OUTCOME record: a KCP REPLY of a CALL, naming an earlier REQUEST,
 * between two pairs. */
static void outcome_record(struct kc_jwalk *w, const struct kc_jrec *h,
			   const uint8_t *p, const struct kc_jpos *pos,
			   struct kc_jitem *it)
{
	struct kc_hdr kh;

	if (h->payload_len < KC_HDR_LEN || h->payload_len > KC_DATAGRAM_MAX ||
	    kc_jrec_kcp_decode(h, p, &kh) != KC_PARSE_OK ||
	    kh.type != KC_TYPE_REPLY || h->op != KC_OP_CALL) {
		w->have_req = false;
		problem(it, h, p, pos, "an OUTCOME record that does not hold "
			"the KCP REPLY of a CALL");
		return;
	}
	if (w->have_req || h->ref >= h->seq) {
		w->have_req = false;
		problem(it, h, p, pos, "an OUTCOME record (ref %" PRIu64 ") "
			"inside a request's records, or naming a later one",
			h->ref);
		return;
	}
	it->kind = KC_JITEM_OUTCOME;
	it->rec = (struct kc_jmsg){ .h = *h, .p = p, .pos = *pos };
}

/* A REQUEST or REPLY record. */
static bool kcp_record(struct kc_jwalk *w, const struct kc_jrec *h,
		       const uint8_t *p, const struct kc_jpos *pos,
		       struct kc_jitem *it)
{
	struct kc_hdr kh;

	if (h->payload_len < KC_HDR_LEN || h->payload_len > KC_DATAGRAM_MAX ||
	    kc_jrec_kcp_decode(h, p, &kh) != KC_PARSE_OK) {
		w->have_req = false;
		return problem(it, h, p, pos, "a %s record that does not hold "
			       "a KCP message", kc_jrec_type_name(h->type));
	}
	if (h->type == KC_JREC_REQUEST) {
		bool again = w->have_req;
		uint64_t before = w->req.h.seq;

		hold(&w->req, h, p, pos);
		w->have_req = true;
		w->seen_request = true;
		if (again)
			return problem(it, h, p, pos, "a REQUEST after the "
				       "REQUEST at seq %" PRIu64 ", which has "
				       "no REPLY", before);
		return false;
	}
	if (!w->have_req) {
		if (headless(w)) {
			it->kind = KC_JITEM_HEADLESS;
			it->rec = (struct kc_jmsg){ .h = *h, .p = p,
						    .pos = *pos };
			return true;
		}
		return problem(it, h, p, pos, "a REPLY for seq %" PRIu64
			       " with no REQUEST before it", h->ref);
	}
	if (h->ref != w->req.h.seq) {
		w->have_req = false;
		return problem(it, h, p, pos, "a REPLY for seq %" PRIu64
			       " which is not the REQUEST before it (seq %"
			       PRIu64 ")", h->ref, w->req.h.seq);
	}
	hold(&w->rep, h, p, pos);
	if (h->status == KC_STATUS_OK && kc_op_has_hop(h->op)) {
		w->have_rep = true; /* its LEDGER record comes next */
		return false;
	}
	return pair(w, it, false);
}

bool kc_jwalk_next(struct kc_jwalk *w, struct kc_jitem *it)
{
	struct kc_jrec h;
	const uint8_t *p;
	struct kc_jpos pos;

	memset(it, 0, sizeof(*it));
	for (;;) {
		if (w->have_next) {
			w->have_next = false;
			h = w->next_h;
			p = w->next_p;
			pos = w->next_pos;
		} else if (!kc_jreader_next(w->r, &h, &p, &pos)) {
			return false;
		}
		if (w->first_seq == 0)
			w->first_seq = h.seq;
		if (w->have_rep && h.type != KC_JREC_LEDGER) {
			/* Look at this record again after saying so. */
			w->have_next = true;
			w->next_h = h;
			w->next_p = p;
			w->next_pos = pos;
			w->have_req = false;
			w->have_rep = false;
			return problem(it, &h, p, &pos, "the LEDGER record of "
				       "the ledger REQUEST at seq %" PRIu64
				       " is missing", w->req.h.seq);
		}
		if (h.type == KC_JREC_SNAPSHOT) {
			if (snapshot_part(w, &h, p, &pos, it))
				return true;
			continue;
		}
		/* The parts of a snapshot are consecutive records. */
		w->snap_next = 0;
		if (h.type == KC_JREC_LEDGER) {
			if (ledger_record(w, &h, p, &pos, it))
				return true;
			continue;
		}
		if (h.type == KC_JREC_OUTCOME) {
			outcome_record(w, &h, p, &pos, it);
			return true;
		}
		if (kcp_record(w, &h, p, &pos, it))
			return true;
	}
}
