/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker stage: executes an authenticated request against the state it
 * owns (queues; on worker 0 the ledger) and turns its mbuf into the signed
 * REPLY. Op dispatch (the owner the op table names), the message-id index
 * (idempotency) and the replay window, journaling of each REQUEST, REPLY
 * and LEDGER record, REPLYs held until their group commit is durable,
 * queue and ledger snapshots, and the hand-off of TRAILs to the ledger's
 * control thread. Driven by the worker lcores (lib/pipeline); recovery
 * (lib/recovery) replays the journal through kc_ops_apply.
 */
#ifndef KC_WORKER_H
#define KC_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "kc_auth.h"
#include "kc_config.h"
#include "kc_journal.h"
#include "kc_ledger.h"
#include "kc_queue.h"
#include "kc_rx.h"
#include "kc_services.h"
#include "kc_stats.h"

/* ---- the message-id index (idempotency) ------------------------------- */

/* What tells a retry from another request under the same message id:
 * the first bytes of its tag, which signs the header and the payload (a
 * retry is the same datagram). Nothing to compute: the RX stage checked
 * the tag. */
static inline uint32_t kc_idem_req_tag(const uint8_t *kcp)
{
	uint32_t v;

	memcpy(&v, kcp + KC_OFF_TAG, sizeof(v));
	return v;
}

struct kc_idem_entry {
	uint8_t msg_id[KC_MSG_ID_LEN];
	uint64_t seq;		/* journal seq of the REPLY record */
	uint64_t arrival_ms;	/* when it was answered */
	uint32_t client;	/* keyring index of the client */
	uint32_t req_tag;	/* the request's tag, its first 4 bytes
				 * (kc_idem_req_tag) */
	uint16_t status;
	uint8_t len;		/* REPLY payload bytes */
	uint8_t op;		/* of the request */
	uint8_t reply[KC_IDEM_REPLY_MAX];
};
_Static_assert(sizeof(struct kc_idem_entry) == 128, "two cache lines");

struct kc_idem;

/* capacity entries; nb_clients horizons (one per keyring entry). NULL with
 * rte_errno set. name must be unique in the process. */
struct kc_idem *kc_idem_create(const char *name, uint32_t capacity,
			       uint32_t nb_clients, int socket_id);
void kc_idem_free(struct kc_idem *x);
/* Memory an index of this capacity takes, for start-up messages. */
uint64_t kc_idem_bytes(uint32_t capacity);
const struct kc_idem_entry *kc_idem_find(const struct kc_idem *x,
					 const uint8_t msg_id[KC_MSG_ID_LEN]);
/* Add an entry; the oldest leaves when full (*evicted_full set). False if
 * the REPLY is too long to keep (never for the ops of this version). */
bool kc_idem_insert(struct kc_idem *x, const struct kc_idem_entry *e,
		    bool *evicted_full);
/* Let up to max entries answered before before_ms leave; how many did. */
uint32_t kc_idem_expire(struct kc_idem *x, uint64_t before_ms, uint32_t max);
/* The newest message-id time of an entry of this client that left. */
uint64_t kc_idem_horizon(const struct kc_idem *x, uint32_t client);

_Static_assert(KC_HOPREC_MAX <= KC_JREC_PAYLOAD_MAX,
	       "a ledger hop record fits one journal record");

/*
 * TRAIL, second step, on the ledger's control thread (kc_trail.c; kcq
 * trail too): walk the coin's hops back through the journal from
 * last_hop_seq (kc_ledger_trail_from's), into hops (max of them), oldest
 * first. 0; -E2BIG (more than max), -ENOENT (the journal no longer has a
 * hop), -EILSEQ (a record is not the hop it should be), -ECANCELED (*stop
 * became non-zero: a long walk gives way to a shutdown; stop may be
 * NULL), with a message.
 */
int kc_trail_walk(struct kc_jlookup *x, uint64_t coin, uint64_t last_hop_seq,
		  struct kc_hop *hops, uint32_t max, uint32_t *nb,
		  const int *stop, char *err, size_t err_len);

/* Room in the held FIFO beyond journal.max_pending, for the packets the
 * worker sends of its own accord. */
#define KC_PEND_OWN 1024u

/* A REPLY waiting for the journal group holding it to be on disk; or a
 * DELIVER (own: dropped, not answered, when the journal fails). */
struct kc_pending {
	struct rte_mbuf *m;
	uint64_t seq;
	bool own;
};

/*
 * A TRAIL on its way through the ledger's control thread, which reads the
 * journal (kc_ledger_ctl.c). The worker hands the request's mbuf over and
 * takes it back with the page of hops written into it at
 * KC_TRAIL_SCRATCH_OFF after the request's payload; the request itself
 * stays where it was, to be journaled with the REPLY.
 */
#define KC_TRAIL_JOBS 64u
#define KC_TRAIL_SCRATCH_OFF 16u /* a TRAIL request payload is 12 bytes */
struct kc_trail_job {
	struct rte_mbuf *m;	/* NULL: free */
	uint64_t coin;
	uint64_t last_hop;	/* the walk starts here */
	uint32_t skip;
	uint32_t cap;		/* room for the reply payload */
	/* Set by the control thread. */
	enum kc_status status;
	uint32_t len;
	const char *reason;
};

/* What worker 0 knows of its ledger beyond the ledger itself. */
struct kc_ledger_ws {
	struct kc_ledger *l;
	uint32_t mint_authority;
	uint32_t trail_max_hops;
	uint8_t *hop;			/* KC_HOPREC_MAX: the op's hop record */
	uint8_t *snap_buf;		/* a whole ledger snapshot */
	uint64_t snap_cap;
	uint64_t snap_every;		/* mutations between snapshots */
	uint64_t snap_due;		/* mutations count that takes one */
	bool snap_deferred;		/* the due one waits for room */
	/* The newest snapshot appended, and the newest known durable:
	 * recovery may start from the latter, so retention keeps it. */
	uint64_t snap_seq0, snap_last, snap_origin;
	uint64_t durable_seq0, durable_origin;
	uint64_t hint_seq0;		/* published for the control thread */
	/* TRAIL jobs: a free stack on the worker, two rings to and from
	 * the control thread. */
	struct kc_trail_job jobs[KC_TRAIL_JOBS];
	struct kc_trail_job *free_jobs[KC_TRAIL_JOBS];
	uint32_t nb_free;
	struct rte_ring *to_ctl;
	struct rte_ring *from_ctl;
	struct kc_ledger_ctl *ctl;	/* the control thread, once started */
	/* What other threads may read of the ledger without a lock: a
	 * copy the worker republishes now and then, under a sequence
	 * count (odd while it writes). */
	uint32_t pub_seq;
	uint32_t pub_tick;
	uint64_t pub_mutations;
	struct kc_ledger_summary pub;
	uint64_t recovered_ops;		/* replayed at start (for messages) */
	/* Service calls (services.enabled), beside the ledger. */
	struct kc_services *svc;
	struct rte_mempool *mp;		/* for DELIVERs and callers' REPLYs */
	uint64_t svc_msg_seq;		/* of the appliance's own SETTLEs */
	uint8_t *svc_snap_buf;		/* their snapshot, beside the
					 * ledger's */
	uint64_t svc_snap_cap;
	bool svc_owed_done;		/* OUTCOMEs a torn tail cut: made */
};

/* The REPLYs of one burst, signed together (kc_ops_sign_flush). */
#define KC_SIGN_BATCH_MAX KC_BURST_MAX
struct kc_sign_batch {
	uint32_t n;
	const struct kc_key *keys[KC_SIGN_BATCH_MAX];
	uint8_t *kcp[KC_SIGN_BATCH_MAX];	/* its KCP part, in its mbuf */
	uint32_t len[KC_SIGN_BATCH_MAX];	/* header and payload */
	struct rte_mbuf *m[KC_SIGN_BATCH_MAX];
	uint8_t *rec[KC_SIGN_BATCH_MAX];	/* its open REPLY record, or
						 * NULL */
};

/* A worker's state: the queues it owns and its journal shard. */
struct kc_worker_state {
	const struct kc_pkt_ctx *pc;
	struct kc_queue_store *store;
	struct kc_lcore_stats *st;
	struct kc_journal *j;		/* NULL: no journal (unit tests) */
	struct kc_ledger_ws *ledger;	/* worker 0 when ledger.enabled */
	struct kc_idem *idem;		/* with the journal */
	struct kc_refl *refl;		/* NULL: no reflection limit */
	uint64_t window_ms;		/* idempotency.window_s */
	uint64_t skew_ms;		/* idempotency.max_clock_skew_s */
	bool reads_all;			/* journal.reads: all */
	struct kc_auth_mb *auth_mb;	/* the lcore's; NULL: one by one */
	struct kc_sign_batch sign;	/* this burst's REPLYs to sign */
	uint64_t now_ns;		/* wall clock of the current burst */
	struct kc_pending *pend;	/* FIFO of held REPLYs */
	uint32_t pend_size;		/* power of two */
	uint32_t pend_mask;
	uint32_t pend_limit;		/* journal.max_pending */
	/* Snapshots (kc_snapshot_poll): a cycle every snap_every bytes of
	 * request records, one queue a poll loop, round-robin, within a
	 * budget of a quarter of those bytes. */
	uint8_t *snap_buf;		/* one queue's snapshot, then a part */
	uint64_t snap_cap;
	uint64_t snap_every;
	uint64_t req_bytes;		/* of REQUEST and REPLY records */
	uint64_t snap_next_at;		/* req_bytes that starts a cycle */
	uint64_t snap_cycle_from;	/* req_bytes when the last began */
	uint64_t snap_budget;		/* bytes this cycle may still write */
	int64_t snap_slot;		/* next queue of the cycle; -1: none */
	uint32_t snap_rr;		/* where the next cycle begins */
	uint32_t snap_visited;
	uint32_t keep_tick;
	uint32_t pend_head;		/* free-running */
	uint32_t pend_tail;
};

/* What an op did: status, reply payload bytes, reason of an error, and
 * the bytes of the hop record a ledger mutation made (in env->hop). */
struct kc_op_result {
	enum kc_status status;
	uint32_t len;
	const char *reason;
	uint32_t hop_len;
	int32_t deliver;	/* a CALL accepted: its slot (kc_services) */
	int32_t done;		/* a call completed: its slot */
};

/* What an op runs against. */
struct kc_op_env {
	struct kc_queue_store *qs;
	struct kc_ledger *ledger;	/* NULL: not the ledger's worker */
	struct kc_lcore_stats *st;
	struct kc_ledger_caller caller;
	uint64_t now_ns;
	uint8_t *hop;			/* KC_HOPREC_MAX bytes */
	/* Service ops: the calls, and what they need of the request. */
	struct kc_services *svc;	/* NULL: services.enabled false */
	const uint8_t *msg_id;
	uint32_t src_ip;		/* host order */
	uint16_t src_port;
	bool internal;			/* the appliance's own (SETTLE) */
	const uint8_t *link;		/* where it is on the link (NULL:
					 * replay), KC_SVC_LINK_LEN bytes */
};

/*
 * Execute one op: request payload in (len bytes), reply payload written to
 * out (cap bytes; out may be in, the request is decoded first); seq is the
 * journal seq of its REQUEST record (0 without a journal): its REPLY gets
 * seq + 1 and a ledger mutation's hop record seq + 2. An error status
 * leaves its reason text in out and changed nothing. The only function
 * that changes queue and ledger state: the data path and journal recovery
 * both go through it.
 */
void kc_ops_apply(const struct kc_op_env *env, uint8_t op, const uint8_t *in,
		  uint32_t len, uint64_t seq, uint8_t *out, uint32_t cap,
		  struct kc_op_result *r);
/* Put the reason text of an error result into out (sets r->len). */
void kc_ops_error_text(struct kc_op_result *r, uint8_t *out);

/* Which worker a request belongs to: a hash of its queue name (or of the
 * message id for ops without one). */
uint32_t kc_ops_shard(const struct rte_mbuf *m);

enum kc_exec {
	KC_EXEC_SEND,	/* the REPLY is ready to go */
	KC_EXEC_HELD,	/* queued in w->pend until its group is durable */
	KC_EXEC_DROP,	/* the caller frees the mbuf (counted) */
	KC_EXEC_DEFERRED, /* a TRAIL handed to the ledger's control thread */
};

/*
 * Execute one request and turn its mbuf into the REPLY, journaling both
 * when the worker has a journal (reads only with journal.reads: all).
 * With durability batch the REPLY is held until the journal group holding
 * it is on disk. The REPLY is signed, and its frame and journal record
 * finished, by kc_ops_sign_flush, which the caller runs once per burst,
 * before it sends any of the burst's REPLYs or publishes the journal.
 */
enum kc_exec kc_ops_execute(struct kc_worker_state *w, struct rte_mbuf *m);
void kc_ops_sign_flush(struct kc_worker_state *w);

/*
 * Snapshots and retention, once per poll loop of a worker with a journal:
 * when a cycle is due, snapshot its next queue (kc_queue_snapshot, cut
 * into SNAPSHOT records); now and then, tell the journal which records
 * its state still needs (kc_journal_keep_from). No system call.
 */
void kc_snapshot_poll(struct kc_worker_state *w);

/* A TRAIL back from the control thread: journal it and make its REPLY,
 * like kc_ops_execute (never KC_EXEC_DEFERRED; kc_ops_sign_flush after).
 * The job is free after. */
enum kc_exec kc_ops_trail_done(struct kc_worker_state *w,
			       struct kc_trail_job *job);

/* The ledger's part of worker 0 (kc_ledger_ctl.c): create it and its
 * control thread's rings; start and stop the thread. */
int kc_ledger_ws_create(const struct kc_config *cfg, struct kc_worker_state *w,
			int socket_id, char *err, size_t err_len);
void kc_ledger_ws_free(struct kc_worker_state *w);
int kc_ledger_ctl_start(struct kc_worker_state *w, const char *journal_dir);
void kc_ledger_ctl_stop(struct kc_worker_state *w);
/* The ledger's snapshots and reaper, once per poll loop (kc_snapshot.c). */
void kc_ledger_poll(struct kc_worker_state *w);
/* The oldest record the ledger still needs (UINT64_MAX: none). */
uint64_t kc_ledger_keep_from(const struct kc_worker_state *w);

/*
 * The reflection limit (kc_refl.c): may a read REPLY extra bytes longer
 * than its request go to src_ip (host order) for client (its key index)?
 * NULL r: no limit. Charges both buckets when it may.
 */
struct kc_refl;
struct kc_refl *kc_refl_create(uint64_t per_source, uint64_t per_client,
			       uint32_t nb_clients, int socket_id);
void kc_refl_free(struct kc_refl *r);
bool kc_refl_allow(struct kc_refl *r, uint32_t src_ip, uint32_t client,
		   uint32_t extra, uint64_t now_ns);

/* A held REPLY whose journal write failed: turn it into STORAGE_FAILED. */
void kc_ops_fail_pending(struct kc_worker_state *w, struct rte_mbuf *m);

/*
 * Service calls on the worker (kc_calls.c, docs/services.md).
 * kc_calls_retry: a CALL whose id is a known call: absorbed while it is
 * in flight (true, *ex DROP), answered with its REPLY once it completed
 * (true, r and *seq set: the OUTCOME's seq). False: not a known call.
 * kc_calls_accepted: a CALL just journaled: its mbuf becomes the call's
 * first DELIVER, held until durable. kc_calls_completed: a call whose
 * caller's REPLY is ready: journal it (OUTCOME) and send it.
 * kc_calls_poll: once per poll loop on the ledger's worker: the SETTLEs
 * that fell due, and deliveries tried again; returns work done.
 */
/* Where the sender of m is on the link, for the services to keep. */
void kc_calls_link_of(const struct rte_mbuf *m, uint8_t *out);
bool kc_calls_retry(struct kc_worker_state *w, struct rte_mbuf *m,
		    struct kc_op_result *r, uint8_t *payload, uint64_t *seq,
		    enum kc_exec *ex);
enum kc_exec kc_calls_accepted(struct kc_worker_state *w, struct rte_mbuf *m,
			       int32_t slot, uint64_t seq);
void kc_calls_completed(struct kc_worker_state *w, int32_t slot);
unsigned int kc_calls_poll(struct kc_worker_state *w);
/* An arbiter's ruling on a call whose price is held (the admin API):
 * a SETTLE rule-pay or rule-refund of the appliance's own; its status,
 * and its result and reply payload in r and reply (KC_PAYLOAD_MAX). */
enum kc_status kc_calls_rule(struct kc_worker_state *w,
			     const uint8_t *call_id, bool pay,
			     struct kc_op_result *r, uint8_t *reply);
/* Room in the held FIFO for one the worker sends of its own accord (a
 * DELIVER, a caller's REPLY): under durability batch it is sent once
 * journal record seq is durable, otherwise with the next release. */
bool kc_ops_hold_own(struct kc_worker_state *w, struct rte_mbuf *m,
		     uint64_t seq, bool own);
/* The journal record of a KCP message the worker made itself. */
uint64_t kc_ops_journal_kcp(struct kc_worker_state *w, enum kc_jrec_type type,
			    const uint8_t *kcp, uint32_t kcp_len, uint64_t ref,
			    uint32_t ip, uint16_t port, uint8_t flags);
uint64_t kc_ops_journal_hop(struct kc_worker_state *w, const uint8_t *kcp,
			    uint64_t req_seq, uint32_t hop_len);

#endif /* KC_WORKER_H */
