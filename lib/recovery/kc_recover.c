/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recovery at start-up, before any lcore runs: each worker's journal shard
 * is read from its oldest segment. Every state-changing request (an op
 * the op table marks KC_OPF_MUTATES) that succeeded is executed again
 * through kc_ops_apply, and the REPLY it gives is checked against the one
 * the journal recorded; a ledger mutation waits for its LEDGER record,
 * whose hop is checked too. A request that failed changed nothing and a
 * read changes nothing, so neither is executed. Every state-changing
 * request's REPLY goes back into the message-id index. Then the shard is
 * opened for appending where its valid log ends.
 *
 * Snapshots: when retention has deleted the start of the journal (its
 * first record is not seq 1), a queue's state is known only from its first
 * snapshot on, or from its creation (a PUBLISH that got offset 0); its
 * records before that are skipped, and the snapshot restores it. When
 * nothing was deleted, each snapshot is compared with the replayed queue:
 * a difference is a divergence and stops the start.
 *
 * A REQUEST is applied only together with its REPLY record: a REQUEST at
 * the very end without one was never answered, and the log is cut before
 * it. A torn tail is cut and reported; corruption (valid data after an
 * invalid record) stops the start, naming the segment and offset.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "kc_recovery.h"

#define PROGRESS_NS 1000000000ull

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct replay {
	struct kc_worker_state *w;
	struct kc_lcore_stats st;	/* replayed ops count here, not live */
	uint32_t shard;
	bool started;
	bool truncated;			/* the journal's start was deleted */
	/* The pair being applied: the walk's REQUEST. */
	struct kc_jrec req;
	const uint8_t *req_kcp;
	uint64_t applied;
	uint64_t skipped;		/* of queues known only later */
	/* The whole snapshot being restored or checked (the walk's). */
	const uint8_t *snap;
	uint64_t snap_len;
	uint64_t snap_seq0;
	uint64_t snap_seq_last;
	uint64_t restored;		/* snapshots that made a queue */
	uint64_t checked;		/* snapshots compared with one */
	/* The ledger (shard 0). */
	struct kc_ledger_ws *lw;
	uint8_t hop[KC_HOPREC_MAX];
	uint64_t ledger_from;		/* DIR/ledger.snapshot: start there */
	bool ledger_known;		/* the ledger state is valid so far */
	bool ledger_seen;		/* any ledger record or snapshot */
	uint64_t ledger_applied;
	uint64_t ledger_skipped;	/* before the snapshot restored */
	uint64_t ledger_after_snap;	/* applied since the last snapshot */
	uint64_t ledger_restored;	/* seq of the snapshot restored */
	uint64_t ledger_checked;
	uint64_t ledger_snap_seq0;	/* the newest ledger snapshot */
	uint64_t ledger_snap_last;
	uint64_t ledger_ns;		/* spent applying and restoring */
	/* Service calls (shard 0, beside the ledger). */
	bool services_seen;
	uint64_t services_applied;
	uint64_t outcomes;
	/* The services' snapshot goes with the ledger's just before it. */
	uint64_t svc_snap_next;		/* its seq0 when it pairs with one */
	bool svc_restore;		/* restore it: the ledger just was */
	uint8_t *svc_snap;		/* scratch to compare one with */
	uint64_t svc_snap_cap;
};

static void progress(const char *dir, uint32_t shard, uint64_t records,
		     uint64_t done, uint64_t total, uint64_t t0)
{
	double s = (double)(mono_ns() - t0) / 1e9;

	printf("kingcobra: journal recovery %s shard %u: %" PRIu64
	       " records, %.1f%% of %" PRIu64 " bytes, %.0f records/s\n",
	       dir, shard, records, total ? 100.0 * (double)done /
	       (double)total : 100.0, total, s > 0 ? (double)records / s : 0);
	fflush(stdout);
}

/* Rebuild the message-id index as the data path built it: every PUBLISH
 * and COMMIT REPLY, whatever its status. */
static void remember(struct replay *rp, const struct kc_jrec *rep,
		     const uint8_t *rep_kcp, uint64_t seq)
{
	const uint8_t *kcp = rp->req_kcp;
	uint32_t rep_len = rep->payload_len - KC_HDR_LEN;
	const struct kc_key *k;
	struct kc_idem_entry e = {
		.seq = seq,
		.arrival_ms = rep->time_ns / 1000000u,
		.status = rep->status,
		.len = (uint8_t)rep_len,
		.op = rp->req.op,
	};
	bool evicted;

	/* A CALL is remembered by its call (the services' table). */
	if (!kc_op_mutates(rp->req.op) || rep_len > KC_IDEM_REPLY_MAX ||
	    (kc_op_info(rp->req.op)->flags & KC_OPF_HELD))
		return;
	/* A client no longer in the keys file cannot retry. */
	k = kc_keyring_find(rp->w->pc->keys, rp->req.client_id);
	if (k == NULL)
		return;
	e.client = (uint32_t)(k - rp->w->pc->keys->keys);
	e.req_tag = kc_idem_req_tag(kcp);
	memcpy(e.msg_id, kcp + KC_OFF_MSG_ID, KC_MSG_ID_LEN);
	memcpy(e.reply, rep_kcp + KC_HDR_LEN, rep_len);
	kc_idem_insert(rp->w->idem, &e, &evicted);
}

/*
 * In a journal whose start was deleted: is the queue this PUBLISH or
 * COMMIT names known yet (restored from a snapshot, or created in what is
 * left)? A PUBLISH that got offset 0 created its queue.
 */
static bool queue_known(struct replay *rp, uint8_t op, const uint8_t *p,
			uint32_t len, const uint8_t *rep, uint32_t rep_len)
{
	struct kc_name q;
	uint64_t off;

	if (len < 1 || p[0] == 0 || p[0] >= len || p[0] > KC_NAME_MAX)
		return false;
	q.len = p[0];
	memcpy(q.s, p + 1, q.len);
	q.s[q.len] = '\0';
	if (kc_queue_slot(rp->w->store, &q) >= 0)
		return true;
	return op == KC_OP_PUBLISH && kc_dec_u64_reply(rep, rep_len, &off) &&
	       off == 0;
}

/*
 * A ledger mutation that succeeded, with its LEDGER record: apply it
 * (unless the ledger is known only from a later snapshot) and check the
 * REPLY and the hop record it gives against the journal's.
 */
static int ledger_pair(struct replay *rp, const struct kc_jitem *it,
		       char *err, size_t err_len)
{
	uint8_t out[KC_PAYLOAD_MAX];
	const uint8_t *kcp = rp->req_kcp;
	const struct kc_jrec *rep = &it->rep.h, *h = &it->hop.h;
	uint32_t plen = rp->req.payload_len - KC_HDR_LEN;
	uint32_t rep_len = rep->payload_len - KC_HDR_LEN;
	struct kc_op_result r;
	uint64_t t0;

	rp->ledger_seen = true;
	remember(rp, rep, it->rep.p, h->seq);
	if (rp->lw == NULL)
		return 0; /* refused at the end (ledger_end) */
	if (!rp->ledger_known) {
		rp->ledger_skipped++;
		return 0;
	}
	t0 = mono_ns();
	{
		const struct kc_op_env env = {
			.ledger = rp->lw->l,
			.st = &rp->st,
			/* Admission was decided when it was accepted: the
			 * journal says it succeeded. */
			.caller = {
				.client_id = rp->req.client_id,
				.mint_authority = true,
			},
			.now_ns = h->time_ns,
			.hop = rp->hop,
		};

		kc_ops_apply(&env, kcp[KC_OFF_OP], kcp + KC_HDR_LEN, plen,
			     rp->req.seq, out, sizeof(out), &r);
	}
	rp->ledger_ns += mono_ns() - t0;
	rp->ledger_applied++;
	rp->ledger_after_snap++;
	if (r.status != KC_STATUS_OK || r.len != rep_len ||
	    memcmp(out, it->rep.p + KC_HDR_LEN, r.len) != 0 ||
	    r.hop_len != h->payload_len ||
	    memcmp(rp->hop, it->hop.p, r.hop_len) != 0) {
		snprintf(err, err_len, "journal shard %u, seq %" PRIu64 " (%s "
			 "of client %u): replaying it gives %s and another "
			 "hop than the journal recorded (a divergence; the "
			 "ledger limits must be what they were)", rp->shard,
			 rp->req.seq, kc_op_name(kcp[KC_OFF_OP]),
			 rp->req.client_id, kc_status_name(r.status));
		return -EILSEQ;
	}
	return 0;
}

/*
 * A service op that succeeded (with its LEDGER record when it moved
 * coins): apply it with the request's own time and address, as the data
 * path did, and check the REPLY and the hop against the journal's.
 */
static int services_pair(struct replay *rp, const struct kc_jitem *it,
			 char *err, size_t err_len)
{
	uint8_t out[KC_PAYLOAD_MAX];
	const uint8_t *kcp = rp->req_kcp;
	const struct kc_jrec *rep = &it->rep.h;
	uint32_t plen = rp->req.payload_len - KC_HDR_LEN;
	uint32_t rep_len = rep->payload_len - KC_HDR_LEN;
	uint32_t hop_len = it->has_hop ? it->hop.h.payload_len : 0;
	struct kc_op_result r;

	rp->services_seen = true;
	rp->ledger_seen = true;
	remember(rp, rep, it->rep.p, it->has_hop ? it->hop.h.seq : rep->seq);
	if (rp->lw == NULL || rp->lw->svc == NULL)
		return 0; /* refused at the end (ledger_end) */
	if (!rp->ledger_known) {
		rp->ledger_skipped++;
		return 0;
	}
	{
		const struct kc_op_env env = {
			.ledger = rp->lw->l,
			.st = &rp->st,
			.caller = { .client_id = rp->req.client_id },
			.now_ns = rp->req.time_ns,
			.hop = rp->hop,
			.svc = rp->lw->svc,
			.msg_id = kcp + KC_OFF_MSG_ID,
			.src_ip = rp->req.client_ip,
			.src_port = rp->req.client_port,
			.internal = rp->req.client_id == 0,
		};

		kc_ops_apply(&env, kcp[KC_OFF_OP], kcp + KC_HDR_LEN, plen,
			     rp->req.seq, out, sizeof(out), &r);
	}
	rp->services_applied++;
	rp->ledger_applied++;
	rp->ledger_after_snap += it->has_hop;
	if (r.status != KC_STATUS_OK || r.len != rep_len ||
	    memcmp(out, it->rep.p + KC_HDR_LEN, r.len) != 0 ||
	    r.hop_len != hop_len ||
	    (hop_len != 0 && memcmp(rp->hop, it->hop.p, hop_len) != 0)) {
		snprintf(err, err_len, "journal shard %u, seq %" PRIu64 " (%s "
			 "of client %u): replaying it gives %s and another "
			 "REPLY or hop than the journal recorded (a "
			 "divergence; the services and arbiter limits must be "
			 "what they were)", rp->shard, rp->req.seq,
			 kc_op_name(kcp[KC_OFF_OP]), rp->req.client_id,
			 kc_status_name(r.status));
		return -EILSEQ;
	}
	return 0;
}

/*
 * A call's OUTCOME record: the REPLY its caller got, which the replayed
 * call must have made the same. A retried CALL gets it once it is
 * durable. (One cut off a torn tail is journaled again at start:
 * kc_calls_poll.)
 */
static int outcome(struct replay *rp, const struct kc_jitem *it, char *err,
		   size_t err_len)
{
	const struct kc_jrec *h = &it->rec.h;
	struct kc_call_view v;
	uint16_t status, len;
	const uint8_t *p;
	int32_t slot;

	rp->services_seen = true;
	if (rp->lw == NULL || rp->lw->svc == NULL || !rp->ledger_known)
		return 0;
	slot = kc_services_find(rp->lw->svc, h->msg_id);
	if (slot < 0 || !kc_services_call(rp->lw->svc, slot, &v) ||
	    v.state == KC_CALL_PENDING || v.outcome_seq != 0) {
		snprintf(err, err_len, "journal shard %u, seq %" PRIu64 ": an "
			 "OUTCOME record of a call that is not completed, or "
			 "was answered before", rp->shard, h->seq);
		return -EILSEQ;
	}
	kc_services_outcome(rp->lw->svc, slot, &status, &p, &len);
	if (status != h->status || len != h->payload_len - KC_HDR_LEN ||
	    memcmp(p, it->rec.p + KC_HDR_LEN, len) != 0) {
		snprintf(err, err_len, "journal shard %u, seq %" PRIu64 ": the "
			 "OUTCOME of a call differs from the REPLY its replay "
			 "gives (a divergence)", rp->shard, h->seq);
		return -EILSEQ;
	}
	kc_services_set_outcome_seq(rp->lw->svc, slot, h->seq);
	rp->outcomes++;
	return 0;
}

/* A REQUEST and its REPLY (and LEDGER record): replay what it changed
 * and compare with what the journal recorded. */
static int apply_pair(struct replay *rp, const struct kc_jitem *it,
		      char *err, size_t err_len)
{
	uint8_t out[KC_PAYLOAD_MAX];
	const struct kc_jrec *rep = &it->rep.h;
	const uint8_t *rep_kcp = it->rep.p;
	const uint8_t *kcp = it->req.p;
	uint32_t plen = it->req.h.payload_len - KC_HDR_LEN;
	uint32_t rep_len = rep->payload_len - KC_HDR_LEN;
	struct kc_op_result r = { .status = KC_STATUS_OK };
	uint8_t op = kcp[KC_OFF_OP];

	rp->req = it->req.h;
	rp->req_kcp = kcp;
	if (kc_op_info(op)->owner == KC_OWNER_SERVICES &&
	    rep->status == KC_STATUS_OK)
		return services_pair(rp, it, err, err_len);
	if (it->has_hop)
		return ledger_pair(rp, it, err, err_len);
	remember(rp, rep, rep_kcp, rep->seq);
	/* An op this build does not know succeeded: what it changed cannot
	 * be replayed. */
	if (!kc_op_known(op) && rep->status == KC_STATUS_OK) {
		snprintf(err, err_len, "journal shard %u, seq %" PRIu64 ": op "
			 "%u, unknown to this build, succeeded; a newer build "
			 "wrote this journal", rp->shard, rp->req.seq, op);
		return -EILSEQ;
	}
	/* Only a state-changing op that succeeded changed anything. */
	if (!kc_op_mutates(op) || rep->status != KC_STATUS_OK)
		return 0;
	if (rp->truncated && !queue_known(rp, op, kcp + KC_HDR_LEN, plen,
					  rep_kcp + KC_HDR_LEN, rep_len)) {
		rp->skipped++;
		return 0;
	}
	{
		const struct kc_op_env env = {
			.qs = rp->w->store,
			.st = &rp->st,
		};

		kc_ops_apply(&env, op, kcp + KC_HDR_LEN, plen, rp->req.seq,
			     out, sizeof(out), &r);
	}
	rp->applied++;
	if (r.status != rep->status || r.len != rep_len ||
	    memcmp(out, rep_kcp + KC_HDR_LEN, r.len) != 0) {
		snprintf(err, err_len, "journal shard %u, seq %" PRIu64 " (%s "
			 "of client %u): replaying it gives %s, the journal "
			 "recorded %s; the queue limits or the lcore map "
			 "must be what they were when it was written",
			 rp->shard, rp->req.seq,
			 kc_op_name(op) ? kc_op_name(op) : "?",
			 rp->req.client_id, kc_status_name(r.status),
			 kc_status_name(rep->status));
		return -EILSEQ;
	}
	return 0;
}

/* A complete ledger snapshot: where the ledger starts, or a check. */
static int ledger_snapshot(struct replay *rp, char *err, size_t err_len)
{
	uint8_t a[KC_LEDGER_DIGEST_LEN], b[KC_LEDGER_DIGEST_LEN];
	uint64_t t0 = mono_ns();
	int rc;

	rp->ledger_seen = true;
	if (rp->lw == NULL)
		return 0; /* refused at the end */
	if (!rp->ledger_known) {
		/* Before the one recovery starts from: ignored. */
		if (rp->ledger_from != 0 && rp->snap_seq0 != rp->ledger_from)
			return 0;
		rc = kc_ledger_restore(rp->lw->l, rp->snap, rp->snap_len);
		if (rc != 0) {
			snprintf(err, err_len, "journal shard %u, seq %" PRIu64
				 ": the ledger snapshot cannot be restored: "
				 "%s", rp->shard, rp->snap_seq0, rc == -ENOSPC ?
				 "larger than ledger.max_coins or "
				 "max_accounts allow" : "it does not decode");
			return -EILSEQ;
		}
		rp->ledger_known = true;
		rp->ledger_restored = rp->snap_seq0;
	} else {
		if (!kc_ledger_snapshot_digest(rp->snap, rp->snap_len, a)) {
			snprintf(err, err_len, "journal shard %u, seq %" PRIu64
				 ": a ledger snapshot that does not decode",
				 rp->shard, rp->snap_seq0);
			return -EILSEQ;
		}
		kc_ledger_digest(rp->lw->l, b);
		if (memcmp(a, b, sizeof(a)) != 0) {
			snprintf(err, err_len, "journal shard %u, seq %" PRIu64
				 ": the ledger snapshot differs from the "
				 "ledger the journal replays to (a divergence)",
				 rp->shard, rp->snap_seq0);
			return -EILSEQ;
		}
		rp->ledger_checked++;
	}
	rp->ledger_snap_seq0 = rp->snap_seq0;
	rp->ledger_snap_last = rp->snap_seq_last;
	rp->svc_snap_next = rp->snap_seq_last + 1;
	rp->svc_restore = rp->ledger_restored == rp->snap_seq0;
	rp->ledger_after_snap = 0;
	rp->ledger_ns += mono_ns() - t0;
	return 0;
}

/*
 * A snapshot of the services, right after the ledger's: restored with
 * it, or compared byte for byte with the state replayed to there (the
 * encoding is deterministic). One that pairs with no ledger snapshot
 * (its ledger one taken while the journal had no room for both) is left
 * alone.
 */
static int services_snapshot(struct replay *rp, char *err, size_t err_len)
{
	struct kc_services *svc = rp->lw != NULL ? rp->lw->svc : NULL;
	bool paired = rp->snap_seq0 == rp->svc_snap_next;
	bool restore = rp->svc_restore;
	size_t n;
	int rc;

	rp->svc_restore = false;
	rp->svc_snap_next = 0;
	/* Services with anything in them: not to be dropped by a config
	 * without them (ledger_end refuses). */
	if (rp->snap_len > 8 + 6 * 8 + 12 &&
	    (kc_get_u32(rp->snap + 56) != 0 || kc_get_u32(rp->snap + 60) != 0 ||
	     kc_get_u32(rp->snap + 64) != 0))
		rp->services_seen = true;
	if (svc == NULL || !paired || !rp->ledger_known)
		return 0;
	if (restore) {
		rc = kc_services_restore(svc, rp->snap, rp->snap_len);
		if (rc != 0) {
			snprintf(err, err_len, "journal shard %u, seq %" PRIu64
				 ": the services' snapshot cannot be restored: "
				 "%s", rp->shard, rp->snap_seq0, rc == -ENOSPC ?
				 "larger than the services limits allow" :
				 "it does not decode");
			return -EILSEQ;
		}
		return 0;
	}
	n = kc_services_snapshot(svc, rp->svc_snap, rp->svc_snap_cap);
	if (n != rp->snap_len || memcmp(rp->svc_snap, rp->snap, n) != 0) {
		snprintf(err, err_len, "journal shard %u, seq %" PRIu64 ": the "
			 "services' snapshot differs from the services the "
			 "journal replays to (a divergence)", rp->shard,
			 rp->snap_seq0);
		return -EILSEQ;
	}
	return 0;
}

/* A complete snapshot: restore its queue, or check it against the
 * replayed one. */
static int snapshot_done(struct replay *rp, char *err, size_t err_len)
{
	struct kc_worker_state *w = rp->w;
	struct kc_name q;
	int slot;
	size_t n;

	if (!kc_queue_snapshot_name(rp->snap, rp->snap_len, &q)) {
		snprintf(err, err_len, "journal shard %u, seq %" PRIu64 ": a "
			 "snapshot that does not decode", rp->shard,
			 rp->snap_seq0);
		return -EILSEQ;
	}
	slot = kc_queue_slot(w->store, &q);
	if (slot < 0 && rp->truncated) {
		enum kc_status st = kc_queue_restore(w->store, rp->snap,
						     rp->snap_len);

		if (st != KC_STATUS_OK) {
			snprintf(err, err_len, "journal shard %u, seq %" PRIu64
				 ": the snapshot of queue %s cannot be "
				 "restored: %s (the queue limits must be what "
				 "they were)", rp->shard, rp->snap_seq0, q.s,
				 kc_status_name(st));
			return -EILSEQ;
		}
		slot = kc_queue_slot(w->store, &q);
		rp->restored++;
	} else {
		n = slot < 0 ? 0 : kc_queue_snapshot(w->store, (uint32_t)slot,
						     w->snap_buf, w->snap_cap);
		if (n != rp->snap_len || memcmp(w->snap_buf, rp->snap, n) != 0) {
			snprintf(err, err_len, "journal shard %u, seq %" PRIu64
				 ": the snapshot of queue %s differs from the "
				 "queue the journal replays to (a divergence)",
				 rp->shard, rp->snap_seq0, q.s);
			return -EILSEQ;
		}
		rp->checked++;
	}
	kc_queue_snapshot_taken(w->store, (uint32_t)slot, rp->snap_seq0,
				rp->snap_seq_last);
	return 0;
}

/* One item of the walk (kc_jwalk: the journal's reading rules). */
static int replay_item(struct replay *rp, const struct kc_jwalk *walk,
		       const struct kc_jitem *it, char *err, size_t err_len)
{
	if (!rp->started) {
		uint64_t first = kc_jwalk_first_seq(walk);

		rp->started = true;
		rp->truncated = first > 1;
		/* A hint older than the journal's start names a snapshot
		 * retention deleted: the first one left will do. */
		if (rp->ledger_from < first)
			rp->ledger_from = 0;
		rp->ledger_known = !rp->truncated && rp->ledger_from == 0;
	}
	switch (it->kind) {
	case KC_JITEM_PAIR:
		return apply_pair(rp, it, err, err_len);
	case KC_JITEM_SNAPSHOT:
		rp->snap = it->snap;
		rp->snap_len = it->snap_len;
		rp->snap_seq0 = it->snap_seq0;
		rp->snap_seq_last = it->snap_seq_last;
		if (it->snap_kind == KC_JSNAP_LEDGER)
			return ledger_snapshot(rp, err, err_len);
		if (it->snap_kind == KC_JSNAP_SERVICES)
			return services_snapshot(rp, err, err_len);
		return snapshot_done(rp, err, err_len);
	case KC_JITEM_HEADLESS:
		/* Its REQUEST went with a segment retention deleted. */
		if (it->rec.h.type == KC_JREC_LEDGER)
			rp->ledger_seen = true;
		return 0;
	case KC_JITEM_OUTCOME:
		return outcome(rp, it, err, err_len);
	case KC_JITEM_PROBLEM:
		break;
	}
	snprintf(err, err_len, "journal shard %u, seq %" PRIu64 ": %s",
		 rp->shard, it->rec.h.seq, it->text);
	return -EILSEQ;
}

/* The seq in DIR/ledger.snapshot, or 0 (none, or unreadable: then the
 * ledger replays from further back, which is slower but right). */
static uint64_t read_hint(const char *dir)
{
	char path[KC_CFG_PATH_MAX + 32];
	bool present;

	if (kc_ledger_hint_path(path, sizeof(path), dir) != 0)
		return 0;
	return kc_ledger_hint_read(path, &present);
}

/* After the last record of shard 0: is the ledger whole? Say what it is
 * and set the worker's snapshot bookkeeping. */
static int ledger_end(const struct kc_config *cfg, struct replay *rp,
		      char *err, size_t err_len)
{
	struct kc_ledger_ws *lw = rp->lw;
	struct kc_ledger_summary s;

	if (rp->services_seen && (lw == NULL || lw->svc == NULL)) {
		snprintf(err, err_len, "journal %s holds service calls and "
			 "they are off (services.enabled: false): calls in "
			 "flight would never settle; turn them on",
			 cfg->journal.dir);
		return -EINVAL;
	}
	if (lw == NULL) {
		if (!rp->ledger_seen)
			return 0;
		snprintf(err, err_len, "journal %s holds ledger records and "
			 "the ledger is off (ledger.enabled: false): the coins "
			 "would be lost; turn it on", cfg->journal.dir);
		return -EINVAL;
	}
	if (!rp->ledger_known && (rp->ledger_skipped != 0 ||
				  rp->ledger_from != 0)) {
		snprintf(err, err_len, "journal shard 0: the ledger cannot be "
			 "rebuilt: %s", rp->ledger_from != 0 ?
			 "the snapshot named by ledger.snapshot in the "
			 "journal directory is not in the journal (remove that "
			 "file to replay the ledger from the journal's start)" :
			 "the journal's start was deleted and no ledger "
			 "snapshot is left");
		return -EILSEQ;
	}
	if (rp->ledger_snap_seq0 != 0) {
		/* min_origin of the state now, for retention. */
		kc_ledger_snapshot(lw->l, lw->snap_buf,
				   lw->snap_cap - KC_JREC_PAYLOAD_MAX);
		kc_ledger_summary(lw->l, &s);
		lw->snap_seq0 = lw->durable_seq0 = rp->ledger_snap_seq0;
		lw->snap_last = rp->ledger_snap_last;
		lw->snap_origin = lw->durable_origin = s.min_origin;
		lw->hint_seq0 = rp->ledger_from == rp->ledger_snap_seq0 ?
				rp->ledger_from : 0;
	}
	kc_ledger_summary(lw->l, &s);
	lw->snap_due = s.mutations + lw->snap_every -
		       RTE_MIN(rp->ledger_after_snap, lw->snap_every);
	lw->recovered_ops = rp->ledger_applied;
	printf("kingcobra: ledger recovered: %u account(s), %" PRIu64 " live "
	       "coin(s), supply %" PRIu64 "; %s%" PRIu64 ", %" PRIu64
	       " mutation(s) replayed, %" PRIu64 " before it skipped, %"
	       PRIu64 " snapshot(s) checked; %.3f s of ledger work\n",
	       s.accounts, s.live_coins, s.supply, rp->ledger_restored ?
	       "from the snapshot at seq " : "from the journal's start, seq ",
	       rp->ledger_restored ? rp->ledger_restored : 1,
	       rp->ledger_applied, rp->ledger_skipped, rp->ledger_checked,
	       (double)rp->ledger_ns / 1e9);
	if (lw->svc != NULL) {
		struct kc_services_summary ss;
		const char *what;

		/* Every open call's price in escrow, and nothing else. */
		if (kc_services_audit(lw->svc, lw->l, &what) != 0) {
			snprintf(err, err_len, "journal shard 0: the service "
				 "calls recovered do not agree with the ledger: "
				 "%s", what);
			return -EILSEQ;
		}
		kc_services_summary(lw->svc, &ss);
		printf("kingcobra: services recovered: %u service(s) of %u "
		       "type(s), %u call(s) open, %" PRIu64 " in escrow; %"
		       PRIu64 " service request(s) replayed, %" PRIu64
		       " OUTCOME(s) checked\n", ss.services, ss.types,
		       ss.calls_open, ss.escrow, rp->services_applied,
		       rp->outcomes);
	}
	return 0;
}

/* Recover one shard into w's store; fill end for kc_journal_open and
 * segs (malloc'd) with what the reader saw of each segment. */
static int recover_shard(const struct kc_config *cfg, uint32_t shard,
			 struct kc_worker_state *w, struct kc_jreader_end *end,
			 struct kc_jseg_info **segs, uint32_t *nb_segs,
			 char *err, size_t err_len)
{
	struct replay *rp = rte_zmalloc("kc_replay", sizeof(*rp), 0);
	uint64_t snap_cap = RTE_MAX(kc_config_snapshot_bytes_max(cfg),
				    kc_config_ledger_snapshot_bytes_max(cfg));
	char sd[KC_CFG_PATH_MAX + 16];
	struct kc_jreader *r = NULL;
	struct kc_jwalk *walk = NULL;
	struct kc_jitem *it = NULL;
	struct kc_jpos upos;
	uint64_t useq;
	uint64_t t0 = mono_ns(), next = t0 + PROGRESS_NS;
	int rc = 0;

	*segs = NULL;
	*nb_segs = 0;
	it = malloc(sizeof(*it));
	if (rp == NULL || it == NULL) {
		snprintf(err, err_len, "out of memory for recovery");
		rte_free(rp);
		free(it);
		return -ENOMEM;
	}
	rp->w = w;
	rp->shard = shard;
	rp->lw = w->ledger;
	if (shard == 0)
		rp->ledger_from = read_hint(cfg->journal.dir);
	if (shard == 0 && rp->lw != NULL && rp->lw->svc != NULL) {
		rp->svc_snap = rp->lw->svc_snap_buf;
		rp->svc_snap_cap = rp->lw->svc_snap_cap;
	}
	kc_jshard_path(sd, sizeof(sd), cfg->journal.dir, (uint16_t)shard);
	r = kc_jreader_open(sd, err, err_len);
	walk = r != NULL ? kc_jwalk_open(r, snap_cap) : NULL;
	if (walk == NULL) {
		if (r != NULL)
			snprintf(err, err_len, "out of memory for recovery");
		kc_jreader_close(r);
		rte_free(rp);
		free(it);
		return r != NULL ? -ENOMEM : -EIO;
	}
	/* The writer never has more than its buffer unsynced. */
	kc_jreader_set_torn_limit(r, cfg->journal.buffer_bytes +
				     KC_JREC_MAX_SIZE);
	while (kc_jwalk_next(walk, it)) {
		rc = replay_item(rp, walk, it, err, err_len);
		if (rc != 0)
			break;
		if ((kc_jreader_end(r)->records & 4095) == 0 &&
		    mono_ns() >= next) {
			progress(cfg->journal.dir, shard,
				 kc_jreader_end(r)->records,
				 kc_jreader_done_bytes(r),
				 kc_jreader_total_bytes(r), t0);
			next = mono_ns() + PROGRESS_NS;
		}
	}
	*end = *kc_jreader_end(r);
	if (rc == 0 && (end->how == KC_JEND_CORRUPT ||
			end->how == KC_JEND_BAD_SEGMENT)) {
		snprintf(err, err_len, "journal shard %u is corrupt: %s "
			 "(kcq verify %s says more; the appliance does not "
			 "start on a journal it cannot trust)", shard,
			 end->detail, cfg->journal.dir);
		rc = -EILSEQ;
	}
	if (rc == 0 && kc_jwalk_unanswered(walk, &upos, &useq)) {
		/* A REQUEST without its REPLY (or a ledger REPLY without its
		 * hop): never answered. Cut before it; everything from
		 * there to the end is zeroed. */
		uint64_t extent = end->pos.segment == upos.segment ?
			end->pos.offset + end->torn_bytes - upos.offset :
			cfg->journal.segment_bytes - upos.offset;

		printf("kingcobra: journal shard %u: seq %" PRIu64 " was "
		       "journaled but never answered: cut\n", shard, useq);
		end->pos = upos;
		end->torn_bytes = extent;
		end->next_seq = useq;
		end->how = KC_JEND_TORN;
	}
	if (rc == 0)
		rc = ledger_end(cfg, rp, err, err_len);
	if (rc == 0) {
		double s = (double)(mono_ns() - t0) / 1e9;

		printf("kingcobra: journal shard %u recovered: %" PRIu64
		       " requests replayed, %" PRIu64 " queue(s) restored from "
		       "a snapshot, %" PRIu64 " snapshot(s) checked, %" PRIu64
		       " request(s) before a queue's snapshot skipped, from "
		       "%" PRIu64 " segment(s) in %.3f s; next seq %" PRIu64
		       "; %s%s\n", shard, rp->applied, rp->restored,
		       rp->checked, rp->skipped, end->segments,
		       s, end->next_seq ? end->next_seq : 1,
		       end->how == KC_JEND_TORN ? "cut a torn tail: " :
						  "clean end",
		       end->how == KC_JEND_TORN ? end->detail : "");
		fflush(stdout);
		*nb_segs = kc_jreader_segments(r);
		*segs = calloc(*nb_segs ? *nb_segs : 1, sizeof(**segs));
		for (uint32_t i = 0; *segs != NULL && i < *nb_segs; i++)
			kc_jreader_segment_info(r, i, &(*segs)[i]);
	}
	kc_jwalk_close(walk);
	kc_jreader_close(r);
	rte_free(rp);
	free(it);
	return rc;
}

/*
 * The number of shards is part of the journal: a queue's history is in the
 * shard of the worker its name hashes to, so another worker count would
 * split it. DIR/shards holds the count, written when the journal is first
 * made; a config with another count of workers is refused.
 */
static int check_shards(const struct kc_config *cfg, uint32_t nb_workers,
			char *err, size_t err_len)
{
	char path[KC_CFG_PATH_MAX + 16], tmp[KC_CFG_PATH_MAX + 24];
	unsigned int have = 0, dirs = 0;
	struct dirent *e;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/shards", cfg->journal.dir);
	f = fopen(path, "re");
	if (f == NULL && errno != ENOENT) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (f != NULL) {
		int ok = fscanf(f, "%u", &have) == 1;

		fclose(f);
		if (!ok) {
			snprintf(err, err_len, "%s: unreadable (expected the "
				 "number of shards)", path);
			return -EINVAL;
		}
	} else {
		/* No count yet: a new journal (or shards without one). */
		d = opendir(cfg->journal.dir);
		while (d != NULL && (e = readdir(d)) != NULL) {
			unsigned int n;
			char tail;

			if (sscanf(e->d_name, "shard-%u%c", &n, &tail) == 1)
				dirs++;
		}
		if (d != NULL)
			closedir(d);
		have = dirs != 0 ? dirs : nb_workers;
	}
	if (have != nb_workers) {
		snprintf(err, err_len, "journal %s was written by %u worker "
			 "lcore(s) (%u shard(s)) and the config has %u: a "
			 "queue's history is in its worker's shard, so the "
			 "worker count cannot change under a journal",
			 cfg->journal.dir, have, have, nb_workers);
		return -EEXIST;
	}
	if (f != NULL)
		return 0;
	/* Record it, durably, before the first record is written. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (kc_jdir_make(cfg->journal.dir) != 0)
		goto fail;
	f = fopen(tmp, "we");
	if (f == NULL)
		goto fail;
	fprintf(f, "%u\n", nb_workers);
	if (fflush(f) != 0 || fdatasync(fileno(f)) != 0) {
		fclose(f);
		goto fail;
	}
	fclose(f);
	if (rename(tmp, path) != 0)
		goto fail;
	d = opendir(cfg->journal.dir);
	if (d != NULL) {
		fsync(dirfd(d));
		closedir(d);
	}
	return 0;
fail:
	snprintf(err, err_len, "journal %s: cannot record the shard count: %s",
		 cfg->journal.dir, strerror(errno));
	return -errno;
}

int kc_recover_workers(const struct kc_config *cfg,
		       struct kc_worker_state **ws, uint32_t nb_workers,
		       int socket_id, char *err, size_t err_len)
{
	int rc = check_shards(cfg, nb_workers, err, err_len);

	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, err_len, "journal %s: %s",
				 cfg->journal.dir, strerror(-rc));
		return rc;
	}
	for (uint32_t i = 0; i < nb_workers; i++) {
		struct kc_worker_state *w = ws[i];
		struct kc_journal_cfg jc = {
			.dir = cfg->journal.dir,
			.shard = (uint16_t)i,
			.durability = cfg->journal.durability ==
					KC_CFG_DURABILITY_BATCH ?
					KC_DURABILITY_BATCH :
					KC_DURABILITY_NONE,
			.segment_bytes = cfg->journal.segment_bytes,
			.buffer_bytes = cfg->journal.buffer_bytes,
			.group_max = cfg->journal.group_max,
			.group_wait_us = cfg->journal.group_wait_us,
			.reserve_bytes = cfg->journal.reserve_bytes,
			.retention_bytes = cfg->journal.retention_bytes,
			.retention_age_s = cfg->journal.retention_age_s,
			/* A REPLY answers retries for the window; a message
			 * id may be ahead of the clock by the skew. */
			.keep_age_s = cfg->idempotency.window_s +
				      cfg->idempotency.max_clock_skew_s,
			.socket_id = socket_id,
		};
		struct kc_jreader_end end;
		struct kc_jseg_info *segs;
		uint32_t nb_segs;
		struct timespec now;
		char name[32];

		snprintf(name, sizeof(name), "kc_idem_%u", i);
		w->idem = kc_idem_create(name, cfg->idempotency.entries,
					 w->pc->keys->count, socket_id);
		if (w->idem == NULL) {
			snprintf(err, err_len, "cannot allocate the message-id "
				 "index of worker %u: %" PRIu64 " bytes: %s",
				 i, kc_idem_bytes(cfg->idempotency.entries),
				 rte_strerror(rte_errno));
			return -ENOMEM;
		}
		w->window_ms = cfg->idempotency.window_s * 1000ull;
		w->skew_ms = cfg->idempotency.max_clock_skew_s * 1000ull;
		w->reads_all = cfg->journal.reads == KC_CFG_READS_ALL;
		w->snap_cap = kc_config_snapshot_bytes_max(cfg) +
			      KC_JREC_PAYLOAD_MAX;
		w->snap_every = cfg->journal.snapshot_bytes;
		w->snap_slot = -1;
		w->snap_buf = rte_malloc_socket("kc_snap", w->snap_cap,
						RTE_CACHE_LINE_SIZE, socket_id);
		if (w->snap_buf == NULL) {
			snprintf(err, err_len, "cannot allocate %" PRIu64
				 " bytes for snapshots", w->snap_cap);
			return -ENOMEM;
		}
		rc = recover_shard(cfg, i, w, &end, &segs, &nb_segs, err,
				   err_len);
		if (rc != 0)
			return rc;
		clock_gettime(CLOCK_REALTIME, &now);
		kc_idem_expire(w->idem, (uint64_t)now.tv_sec * 1000u +
			       (uint64_t)now.tv_nsec / 1000000u - w->window_ms,
			       UINT32_MAX);
		w->j = kc_journal_open(&jc, &end, err, err_len);
		/* Retention may consider what was there before. */
		if (w->j != NULL && segs != NULL &&
		    kc_journal_add_history(w->j, segs, nb_segs) != 0) {
			snprintf(err, err_len, "out of memory");
			free(segs);
			return -ENOMEM;
		}
		free(segs);
		if (w->j == NULL)
			return -EIO;
		w->snap_next_at = w->snap_every;
		/* Beyond journal.max_pending, room for what the worker
		 * sends of its own accord (DELIVERs, callers' REPLYs). */
		w->pend_size = (uint32_t)rte_align32pow2(
			cfg->journal.max_pending + KC_PEND_OWN);
		w->pend_mask = w->pend_size - 1;
		w->pend_limit = cfg->journal.max_pending;
		w->pend = rte_zmalloc_socket("kc_pending", sizeof(*w->pend) *
					     w->pend_size, RTE_CACHE_LINE_SIZE,
					     socket_id);
		if (w->pend == NULL) {
			snprintf(err, err_len, "cannot allocate %u held "
				 "replies", w->pend_size);
			return -ENOMEM;
		}
	}
	return 0;
}
