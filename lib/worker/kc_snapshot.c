/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshots of a worker's queues into its journal shard, and what the
 * shard must keep (docs/journal-format.md, "Snapshots and retention").
 *
 * Every journal.snapshot_bytes that requests append to the journal, a
 * cycle snapshots the worker's queues round-robin, one queue per poll loop
 * so no loop stalls for long: the queue's whole state (kc_queue_snapshot)
 * goes into consecutive SNAPSHOT records. A cycle may write a quarter of
 * what requests wrote since the previous one; the queues it has no budget
 * left for come first in the next. So snapshots never cost more than a
 * fifth of the journal, however many and however large the queues, and
 * large queues (lagging consumers, none at all) are rewritten more slowly,
 * which is what delays retention. A queue's newest snapshot on disk stands for every
 * record of it before, so recovery can start from it and the journal can
 * forget what came before, as long as no registered consumer still has to
 * read a message published there.
 */
#include <string.h>

#include "kc_worker.h"

/* Tell the journal the oldest record any queue still needs. */
static void publish_keep(struct kc_worker_state *w)
{
	uint64_t durable = kc_journal_durable_seq(w->j);
	uint64_t keep = kc_journal_last_seq(w->j) + 1;
	uint32_t n = kc_queue_count(w->store);

	for (uint32_t slot = 0; slot < n; slot++) {
		uint64_t need = kc_queue_needed_from(w->store, slot, durable);

		if (need < keep)
			keep = need;
	}
	if (w->ledger != NULL && kc_ledger_keep_from(w) < keep)
		keep = kc_ledger_keep_from(w);
	kc_journal_keep_from(w->j, keep);
}

/*
 * Append a snapshot of len bytes at buf as consecutive SNAPSHOT records,
 * cut into parts in part (KC_JREC_PAYLOAD_MAX bytes of scratch). The seq
 * of its first part, or 0 if the journal has no room for it now.
 */
static uint64_t append_snapshot(struct kc_worker_state *w, uint8_t kind,
				const uint8_t *buf, size_t len, uint8_t *part)
{
	uint32_t parts = (uint32_t)((len + KC_JSNAP_CHUNK_MAX - 1) /
				    KC_JSNAP_CHUNK_MAX);
	uint64_t bytes = 0, seq0 = kc_journal_last_seq(w->j) + 1;

	if (parts == 0)
		parts = 1;
	for (uint32_t i = 0; i < parts; i++) {
		size_t chunk = RTE_MIN((size_t)KC_JSNAP_CHUNK_MAX,
				       len - (size_t)i * KC_JSNAP_CHUNK_MAX);

		bytes += kc_jrec_size((uint32_t)(KC_JSNAP_HDR_LEN + chunk));
	}
	if (!kc_journal_room(w->j, bytes, false))
		return 0;
	for (uint32_t i = 0; i < parts; i++) {
		size_t chunk = RTE_MIN((size_t)KC_JSNAP_CHUNK_MAX,
				       len - (size_t)i * KC_JSNAP_CHUNK_MAX);
		struct kc_jsnap sh = {
			.part = i, .parts = parts, .total_len = (uint32_t)len,
			.kind = kind,
		};
		struct kc_jrec h = {
			.type = KC_JREC_SNAPSHOT,
			.payload_len = (uint32_t)(KC_JSNAP_HDR_LEN + chunk),
			.time_ns = w->now_ns,
			.ref = seq0,
		};

		kc_jsnap_encode(part, &sh);
		memcpy(part + KC_JSNAP_HDR_LEN,
		       buf + (size_t)i * KC_JSNAP_CHUNK_MAX, chunk);
		kc_journal_append(w->j, &h, part);
		w->st->c[KC_CTR_journal_records]++;
	}
	kc_journal_publish(w->j);
	return seq0;
}

/* Append one queue's snapshot; false if the journal has no room now. */
static bool snapshot_queue(struct kc_worker_state *w, uint32_t slot)
{
	uint8_t *part = w->snap_buf + w->snap_cap - KC_JREC_PAYLOAD_MAX;
	size_t len = kc_queue_snapshot(w->store, slot, w->snap_buf,
				       w->snap_cap - KC_JREC_PAYLOAD_MAX);
	uint64_t seq0;

	/* The buffer is sized from the same limits as the store: a
	 * snapshot always fits; never write an empty one if not. */
	if (len == 0)
		return false;
	seq0 = append_snapshot(w, KC_JSNAP_QUEUE, w->snap_buf, len, part);
	if (seq0 == 0)
		return false;
	kc_queue_snapshot_taken(w->store, slot, seq0,
				kc_journal_last_seq(w->j));
	w->st->c[KC_CTR_snapshots]++;
	return true;
}

static void end_cycle(struct kc_worker_state *w)
{
	w->snap_slot = -1;
	w->snap_next_at = w->req_bytes + w->snap_every;
	publish_keep(w);
}

void kc_snapshot_poll(struct kc_worker_state *w)
{
	uint32_t n, slot;
	uint64_t len;

	if (w->j == NULL || kc_journal_state(w->j) == KC_JOURNAL_FAILED)
		return;
	if (w->ledger != NULL)
		kc_ledger_poll(w);
	/* Now and then, whatever a cycle is doing. */
	if ((++w->keep_tick & 1023u) == 0)
		publish_keep(w);
	n = kc_queue_count(w->store);
	if (w->snap_slot < 0) {
		if (w->req_bytes < w->snap_next_at || n == 0)
			return;
		/* The budget: a quarter of what requests wrote since the
		 * last cycle. Snapshots never cost more than that. */
		w->snap_budget = (w->req_bytes - w->snap_cycle_from) / 4;
		w->snap_cycle_from = w->req_bytes;
		w->snap_visited = 0;
		w->snap_slot = w->snap_rr % n;
		return;
	}
	if (w->snap_visited >= n) {
		end_cycle(w);
		return;
	}
	slot = (uint32_t)w->snap_slot;
	len = kc_queue_snapshot_len(w->store, slot);
	/* Over the budget: the queues from here on are first next time
	 * (at least one a cycle, so a large queue is not starved). */
	if (w->snap_visited != 0 && len > w->snap_budget) {
		end_cycle(w);
		return;
	}
	/* One the journal cannot take now (a full disk) waits too. */
	if (!snapshot_queue(w, slot))
		w->st->c[KC_CTR_snapshots_deferred]++;
	w->snap_budget -= RTE_MIN(len, w->snap_budget);
	w->snap_visited++;
	w->snap_rr = (slot + 1) % n;
	w->snap_slot = w->snap_rr;
}

/* ---- the ledger ---------------------------------------------------------- */

uint64_t kc_ledger_keep_from(const struct kc_worker_state *w)
{
	const struct kc_ledger_ws *lw = w->ledger;
	struct kc_ledger_summary s;

	kc_ledger_summary(lw->l, &s);
	/* An empty ledger (nothing ever minted) needs nothing. */
	if (s.next_coin == 1)
		return UINT64_MAX;
	/* Recovery starts from the newest durable snapshot, and every LIVE
	 * coin's trail goes back to its origin: both stay. Before the first
	 * snapshot, everything does. */
	if (lw->durable_seq0 == 0)
		return 1;
	return lw->durable_origin != 0 && lw->durable_origin < lw->durable_seq0 ?
	       lw->durable_origin : lw->durable_seq0;
}

/*
 * Once per poll loop of the ledger's worker: promote the newest snapshot
 * to durable when it is; take the next one when snapshot_every_ops
 * mutations went by; reap DEAD coins, a few at a time.
 */
void kc_ledger_poll(struct kc_worker_state *w)
{
	struct kc_ledger_ws *lw = w->ledger;
	struct kc_ledger_summary s;
	uint64_t seq0;
	size_t len, svc_len;

	if (lw->snap_seq0 != 0 && lw->snap_seq0 != lw->durable_seq0 &&
	    kc_journal_durable_seq(w->j) >= lw->snap_last) {
		lw->durable_seq0 = lw->snap_seq0;
		lw->durable_origin = lw->snap_origin;
		__atomic_store_n(&lw->hint_seq0, lw->durable_seq0,
				 __ATOMIC_RELEASE);
	}
	if (w->now_ns != 0)
		w->st->c[KC_CTR_ledger_reaped] +=
			kc_ledger_reap(lw->l, w->now_ns, 16);
	kc_ledger_summary(lw->l, &s);
	/* For other threads: on a change, and now and then (the reaper). */
	if (s.mutations != lw->pub_mutations || (++lw->pub_tick & 4095) == 0) {
		__atomic_store_n(&lw->pub_seq, lw->pub_seq + 1,
				 __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		lw->pub = s;
		__atomic_store_n(&lw->pub_seq, lw->pub_seq + 1,
				 __ATOMIC_RELEASE);
		lw->pub_mutations = s.mutations;
	}
	if (s.mutations < lw->snap_due ||
	    kc_journal_state(w->j) == KC_JOURNAL_FAILED)
		return;
	/* Room first: a snapshot is large (the calls kept, every coin), and
	 * one the journal cannot take now waits without being written. */
	if (!kc_journal_room(w->j, kc_jsnap_bytes_max(
				kc_ledger_snapshot_len(lw->l)) +
			     (lw->svc == NULL ? 0 : kc_jsnap_bytes_max(
				kc_services_snapshot_bound(lw->svc))),
			     false)) {
		if (!lw->snap_deferred)
			w->st->c[KC_CTR_ledger_snapshots_deferred]++;
		lw->snap_deferred = true;
		return;
	}
	len = kc_ledger_snapshot(lw->l, lw->snap_buf,
				 lw->snap_cap - KC_JREC_PAYLOAD_MAX);
	/* The services' state is part of the ledger's: both, right after
	 * each other, or neither. */
	if (lw->svc != NULL) {
		svc_len = kc_services_snapshot(lw->svc, lw->svc_snap_buf,
					       lw->svc_snap_cap);
		RTE_VERIFY(svc_len != 0);
		seq0 = kc_journal_room(w->j, kc_jsnap_bytes_max(len) +
					     kc_jsnap_bytes_max(svc_len),
				       false) ?
		       append_snapshot(w, KC_JSNAP_LEDGER, lw->snap_buf, len,
				       lw->snap_buf + lw->snap_cap -
					       KC_JREC_PAYLOAD_MAX) : 0;
		/* Room was checked for both; should the second still not
		 * fit, the first is an orphan no recovery starts from (the
		 * hint never names it) and the pair is tried again. */
		if (seq0 != 0 &&
		    append_snapshot(w, KC_JSNAP_SERVICES, lw->svc_snap_buf,
				    svc_len, lw->snap_buf + lw->snap_cap -
					     KC_JREC_PAYLOAD_MAX) == 0)
			seq0 = 0;
	} else {
		seq0 = append_snapshot(w, KC_JSNAP_LEDGER, lw->snap_buf, len,
				       lw->snap_buf + lw->snap_cap -
					       KC_JREC_PAYLOAD_MAX);
	}
	if (seq0 == 0) {
		/* No room now: the next loop tries again (counted once). */
		if (!lw->snap_deferred)
			w->st->c[KC_CTR_ledger_snapshots_deferred]++;
		lw->snap_deferred = true;
		return;
	}
	lw->snap_deferred = false;
	kc_ledger_summary(lw->l, &s);
	lw->snap_seq0 = seq0;
	lw->snap_last = kc_journal_last_seq(w->j);
	lw->snap_origin = s.min_origin;
	lw->snap_due = s.mutations + lw->snap_every;
	w->st->c[KC_CTR_ledger_snapshots]++;
}
