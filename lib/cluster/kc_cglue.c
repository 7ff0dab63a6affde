/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The journal's batches as Raft entries (kc_cglue.h, docs/cluster.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash_crc.h>

#include "kc_cglue.h"
#include "kc_jrec.h"

#define SNAP_MAGIC 0x5352434bu	/* "KCRS" */
#define SNAP_HDR_LEN (16u + 8u * KC_CGLUE_SHARDS_MAX)

/* A batch of this node's, submitted and not yet committed or lost. */
struct inflight {
	struct raft_apply req;
	struct kc_cbatch b;	/* records: NULL (the entry has them) */
	bool applied;		/* the FSM applied it */
	bool done;		/* its callback came, with status */
	int status;
};

struct kc_cglue {
	struct kc_cglue_ops ops;
	void *arg;
	uint64_t self;
	struct raft *r;
	struct raft_fsm fsm;
	struct inflight *ring;
	uint32_t cap, head, nb;
	bool serving, barrier_pending, failed;
	bool stale;		/* lost batches it executed: restart */
	struct raft_barrier barrier;
	struct raft_transfer transfer;
	bool transferring;
	uint64_t term;
	/* Per shard: the seq the next committed batch must start at, and
	 * the one this leader's next submission must. 0: none yet. */
	uint64_t next_seq[KC_CGLUE_SHARDS_MAX];
	uint64_t sub_next[KC_CGLUE_SHARDS_MAX];
	uint64_t applied, skipped, submitted, released, lost;
};

/* ---- the entry ------------------------------------------------------------ */

size_t kc_centry_size(uint32_t len)
{
	return ((size_t)KC_CENTRY_HDR_LEN + len + 7u) & ~(size_t)7u;
}

/* CRC32C (as kc_crc32c) of the header's first 36 bytes and the records:
 * of their concatenation, chained with DPDK's CRC without the final
 * inversion. */
static uint32_t entry_crc(const uint8_t *hdr, const uint8_t *records,
			  uint32_t len)
{
	uint32_t crc = rte_hash_crc(hdr, KC_CENTRY_HDR_LEN - 4u, 0xffffffffu);

	return ~rte_hash_crc(records, len, crc);
}

void kc_centry_encode(const struct kc_cbatch *b, uint8_t *out)
{
	size_t size = kc_centry_size(b->len);

	kc_put_le32(out, KC_CENTRY_MAGIC);
	kc_put_le16(out + 4, KC_CENTRY_FORMAT);
	kc_put_le16(out + 6, b->shard);
	kc_put_le64(out + 8, b->first_seq);
	kc_put_le64(out + 16, b->last_seq);
	kc_put_le64(out + 24, b->origin);
	kc_put_le32(out + 32, b->len);
	memcpy(out + KC_CENTRY_HDR_LEN, b->records, b->len);
	memset(out + KC_CENTRY_HDR_LEN + b->len, 0,
	       size - KC_CENTRY_HDR_LEN - b->len);
	kc_put_le32(out + 36, entry_crc(out, b->records, b->len));
}

int kc_centry_decode(const uint8_t *p, size_t n, struct kc_cbatch *b)
{
	uint32_t len;

	if (n < KC_CENTRY_HDR_LEN || n % 8u != 0 ||
	    kc_get_le32(p) != KC_CENTRY_MAGIC ||
	    kc_get_le16(p + 4) != KC_CENTRY_FORMAT)
		return -EBADMSG;
	len = kc_get_le32(p + 32);
	if (kc_centry_size(len) != n)
		return -EBADMSG;
	b->shard = kc_get_le16(p + 6);
	b->first_seq = kc_get_le64(p + 8);
	b->last_seq = kc_get_le64(p + 16);
	b->origin = kc_get_le64(p + 24);
	b->len = len;
	b->records = p + KC_CENTRY_HDR_LEN;
	if (b->shard >= KC_CGLUE_SHARDS_MAX || b->first_seq == 0 ||
	    b->last_seq < b->first_seq ||
	    kc_get_le32(p + 36) != entry_crc(p, b->records, len))
		return -EBADMSG;
	for (size_t i = KC_CENTRY_HDR_LEN + len; i < n; i++)
		if (p[i] != 0)
			return -EBADMSG;
	return 0;
}

/* ---- applying committed entries -------------------------------------------- */

static bool same_batch(const struct kc_cbatch *a, const struct kc_cbatch *b)
{
	return a->shard == b->shard && a->first_seq == b->first_seq &&
	       a->last_seq == b->last_seq && a->origin == b->origin;
}

/* Drop the records of b below seq: 0, or -EBADMSG if b's records do not
 * say so (seqs and sizes as the journal writes them, kc_jrec.h). */
static int trim(struct kc_cbatch *b, uint64_t seq)
{
	uint32_t off = 0;

	while (off + KC_JREC_HDR_LEN <= b->len) {
		uint64_t s = kc_get_le64(b->records + off + 8);
		uint32_t size = kc_jrec_size(kc_get_le32(b->records + off + 4));

		if (s == seq) {
			b->records += off;
			b->len -= off;
			b->first_seq = seq;
			return 0;
		}
		if (s > seq || size > b->len - off)
			break;
		off += size;
	}
	return -EBADMSG;
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf,
		     void **result)
{
	struct kc_cglue *g = fsm->data;
	struct inflight *head = g->nb != 0 ? &g->ring[g->head] : NULL;
	struct kc_cbatch b;
	bool own;

	*result = NULL;
	/* A node that executed batches the log may not hold applies
	 * nothing more: its state is no longer the log's. */
	if (g->failed || g->stale)
		return RAFT_IOERR;
	if (kc_centry_decode(buf->base, buf->len, &b) != 0)
		goto fail;
	/* Batches its journal had at start (kc_cglue_start_at): done. */
	if (g->next_seq[b.shard] != 0 && b.last_seq < g->next_seq[b.shard]) {
		g->skipped++;
		return 0;
	}
	/* One the journal holds part of (its tail torn in a crash): the
	 * rest of it. */
	if (g->next_seq[b.shard] != 0 && b.first_seq < g->next_seq[b.shard] &&
	    trim(&b, g->next_seq[b.shard]) != 0)
		goto fail;
	if (g->next_seq[b.shard] != 0 &&
	    b.first_seq != g->next_seq[b.shard]) {
fail:
		/* A damaged entry, or a gap or overlap in a shard's seqs:
		 * applying on would split this node from the others. */
		g->failed = true;
		return RAFT_IOERR;
	}
	/* Raft applies in log order, and this leader's batches are in its
	 * log in the order it submitted them. */
	own = head != NULL && !head->applied && b.origin == g->self &&
	      same_batch(&head->b, &b);
	if (own)
		head->applied = true;
	if (g->ops.apply(g->arg, &b, own) != 0) {
		g->failed = true;
		return RAFT_IOERR;
	}
	g->next_seq[b.shard] = b.last_seq + 1;
	g->applied++;
	return 0;
}

/* The leader's callback of a batch: committed (and applied), or not.
 * libraft calls them in log order, except that a failed disk write of
 * the leader's calls back just the request it was for: each is marked
 * where it is, and the ring is settled from its oldest, in order. */
static void apply_done(struct raft_apply *req, int status, void *result)
{
	struct kc_cglue *g = req->data;
	struct inflight *in = (struct inflight *)(void *)
		((uint8_t *)req - offsetof(struct inflight, req));

	(void)result;
	in->done = true;
	in->status = status;
	if (status != 0)
		/* Executed here, and now the next leader's to commit or
		 * not: this node's state may differ from the log's. */
		g->stale = true;
	while (g->nb != 0 && g->ring[g->head].done) {
		in = &g->ring[g->head];
		if (in->status == 0 && in->applied && !g->stale) {
			g->released++;
			g->ops.released(g->arg, in->b.shard, in->b.last_seq);
		} else {
			g->lost++;
			g->stale = true;
			g->ops.lost(g->arg, &in->b);
		}
		in->done = false;
		g->head = (g->head + 1) % g->cap;
		g->nb--;
	}
}

int kc_cglue_submit(struct kc_cglue *g, const struct kc_cbatch *b)
{
	struct inflight *in;
	struct raft_buffer buf;
	int rc;

	if (g->failed || g->stale || !g->serving ||
	    raft_state(g->r) != RAFT_LEADER)
		return -ENOTCONN;
	if (g->nb == g->cap)
		return -EAGAIN;
	if (b->shard >= KC_CGLUE_SHARDS_MAX || b->first_seq == 0 ||
	    b->last_seq < b->first_seq ||
	    (g->sub_next[b->shard] != 0 &&
	     b->first_seq != g->sub_next[b->shard]))
		return -EINVAL;
	buf.len = kc_centry_size(b->len);
	buf.base = raft_malloc(buf.len);
	if (buf.base == NULL)
		return -ENOMEM;
	in = &g->ring[(g->head + g->nb) % g->cap];
	in->b = *b;
	in->b.origin = g->self;
	in->b.records = NULL;
	in->applied = false;
	in->done = false;
	kc_centry_encode(&(struct kc_cbatch){ .shard = b->shard,
		.first_seq = b->first_seq, .last_seq = b->last_seq,
		.origin = g->self, .len = b->len, .records = b->records },
		buf.base);
	in->req.data = g;
	rc = raft_apply(g->r, &in->req, &buf, 1, apply_done);
	if (rc == RAFT_NOTLEADER) {
		raft_free(buf.base);
		return -ENOTCONN;
	}
	if (rc != 0) {
		/* libraft may have taken the entry into its log, and freed
		 * the buffer, before it failed: leave the buffer alone, and
		 * the batch, executed here, may or may not be committed. */
		g->stale = true;
		return -EIO;
	}
	g->nb++;
	g->submitted++;
	g->sub_next[b->shard] = b->last_seq + 1;
	return 0;
}

/* ---- snapshots ------------------------------------------------------------- */

/* The shards' next seqs, then the caller's state. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
			unsigned *n_bufs)
{
	struct kc_cglue *g = fsm->data;
	size_t len = 0;
	void *state;
	uint8_t *p;

	/* libraft snapshots even after an apply failed: a node whose state
	 * is not the log's must not save it. */
	if (g->failed || g->stale)
		return RAFT_BUSY;
	state = g->ops.snapshot(g->arg, &len);
	if (state == NULL)
		return RAFT_NOMEM;
	*bufs = raft_malloc(sizeof(**bufs));
	p = raft_malloc(SNAP_HDR_LEN + len);
	if (*bufs == NULL || p == NULL) {
		raft_free(*bufs);
		raft_free(p);
		free(state);
		return RAFT_NOMEM;
	}
	kc_put_le32(p, SNAP_MAGIC);
	kc_put_le32(p + 4, KC_CGLUE_SHARDS_MAX);
	kc_put_le64(p + 8, len);
	for (uint32_t s = 0; s < KC_CGLUE_SHARDS_MAX; s++)
		kc_put_le64(p + 16 + 8 * s, g->next_seq[s]);
	memcpy(p + SNAP_HDR_LEN, state, len);
	free(state);
	(*bufs)[0].base = p;
	(*bufs)[0].len = SNAP_HDR_LEN + len;
	*n_bufs = 1;
	return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct kc_cglue *g = fsm->data;
	const uint8_t *p = buf->base;

	if (buf->len < SNAP_HDR_LEN || kc_get_le32(p) != SNAP_MAGIC ||
	    kc_get_le32(p + 4) != KC_CGLUE_SHARDS_MAX ||
	    kc_get_le64(p + 8) != buf->len - SNAP_HDR_LEN ||
	    g->ops.restore(g->arg, p + SNAP_HDR_LEN,
			   buf->len - SNAP_HDR_LEN) != 0)
		return RAFT_MALFORMED;
	/* Where the journal already is (kc_cglue_start_at) stays. */
	for (uint32_t s = 0; s < KC_CGLUE_SHARDS_MAX; s++)
		if (kc_get_le64(p + 16 + 8 * s) > g->next_seq[s])
			g->next_seq[s] = kc_get_le64(p + 16 + 8 * s);
	/* Ours now (raft frees it only on failure). */
	raft_free(buf->base);
	return 0;
}

/* ---- the role ---------------------------------------------------------------- */

static void barrier_done(struct raft_barrier *req, int status)
{
	struct kc_cglue *g = req->data;

	g->barrier_pending = false;
	if (status != 0 || g->failed || g->stale ||
	    raft_state(g->r) != RAFT_LEADER)
		return;
	/* Everything committed before this term is applied: serve, and
	 * number the next batches from where the log is. */
	memcpy(g->sub_next, g->next_seq, sizeof(g->sub_next));
	g->serving = true;
	g->term = g->r->current_term;
	g->ops.serving(g->arg, true, g->term);
}

static void transfer_done(struct raft_transfer *req)
{
	struct kc_cglue *g = req->data;

	g->transferring = false;
}

void kc_cglue_poll(struct kc_cglue *g)
{
	int state = raft_state(g->r);

	/* A leader that can serve no more hands the leadership on, so the
	 * others need not wait for it to restart. */
	if (state == RAFT_LEADER && (g->failed || g->stale) &&
	    !g->transferring) {
		g->transfer.data = g;
		if (raft_transfer(g->r, &g->transfer, 0, transfer_done) == 0)
			g->transferring = true;
	}

	if (g->serving && (state != RAFT_LEADER || g->failed || g->stale ||
			   g->r->current_term != g->term)) {
		g->serving = false;
		g->ops.serving(g->arg, false, g->r->current_term);
	}
	if (state == RAFT_LEADER && !g->serving && !g->barrier_pending &&
	    !g->failed && !g->stale) {
		g->barrier.data = g;
		if (raft_barrier(g->r, &g->barrier, barrier_done) == 0)
			g->barrier_pending = true;
	}
}

/* ---- life ------------------------------------------------------------------ */

struct kc_cglue *kc_cglue_create(const struct kc_cglue_ops *ops, void *arg,
				 uint64_t self, uint32_t max_inflight)
{
	struct kc_cglue *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->ring = calloc(max_inflight ? max_inflight : 1, sizeof(*g->ring));
	if (g->ring == NULL) {
		free(g);
		return NULL;
	}
	g->ops = *ops;
	g->arg = arg;
	g->self = self;
	g->cap = max_inflight ? max_inflight : 1;
	g->fsm.version = 1;
	g->fsm.data = g;
	g->fsm.apply = fsm_apply;
	g->fsm.snapshot = fsm_snapshot;
	g->fsm.restore = fsm_restore;
	return g;
}

void kc_cglue_free(struct kc_cglue *g)
{
	if (g == NULL)
		return;
	free(g->ring);
	free(g);
}

struct raft_fsm *kc_cglue_fsm(struct kc_cglue *g)
{
	return &g->fsm;
}

void kc_cglue_attach(struct kc_cglue *g, struct raft *r)
{
	g->r = r;
}

void kc_cglue_set_stale(struct kc_cglue *g)
{
	g->stale = true;
}

void kc_cglue_start_at(struct kc_cglue *g, uint16_t shard, uint64_t next_seq)
{
	if (shard < KC_CGLUE_SHARDS_MAX)
		g->next_seq[shard] = next_seq;
}

void kc_cglue_info(const struct kc_cglue *g, struct kc_cglue_info *info)
{
	memset(info, 0, sizeof(*info));
	info->serving = g->serving;
	info->failed = g->failed;
	info->stale = g->stale;
	info->skipped = g->skipped;
	info->term = g->term;
	info->applied = g->applied;
	info->inflight = g->nb;
	memcpy(info->next_seq, g->next_seq, sizeof(info->next_seq));
	info->submitted = g->submitted;
	info->released = g->released;
	info->lost = g->lost;
}
