/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The glue between the journal's group-commit batches and the Raft log
 * (docs/cluster.md, issue 19): one Raft entry per batch, a batch's REPLYs
 * released when its entry is committed, every committed batch applied on
 * every node in log order, and a new leader serving only once it has
 * applied everything committed before it (a barrier).
 *
 * Everything here runs on the Raft thread (libraft is not thread-safe):
 * the thread that runs the libuv loop in the appliance, the test's own in
 * the simulation test (tests/unit/test_cluster_glue.c, libraft's fixture).
 * The glue owns no thread and no I/O: it is given the struct raft the
 * caller made (raft_uv, or the fixture's) and tells the caller what
 * happened through its callbacks.
 *
 * An entry (little-endian like the journal's own fields, padded with
 * zeros to a multiple of 8 bytes: libraft 0.15 silently corrupts its log
 * otherwise):
 *
 *   0  u32  magic "KCRE"         24  u64  origin: the node that made it
 *   4  u16  format (1)           32  u32  len: bytes of records
 *   6  u16  shard                36  u32  CRC32C of bytes 0..35 and the
 *   8  u64  first_seq                     records
 *  16  u64  last_seq             40       the records, as the journal
 *                                         wrote them
 */
#ifndef KC_CGLUE_H
#define KC_CGLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>

#define KC_CENTRY_MAGIC 0x4552434bu	/* "KCRE" */
#define KC_CENTRY_FORMAT 1u
#define KC_CENTRY_HDR_LEN 40u
#define KC_CGLUE_SHARDS_MAX 64u

/* One group-commit batch of a journal shard: records first_seq..last_seq,
 * len bytes of them as the journal writes them. */
struct kc_cbatch {
	uint16_t shard;
	uint64_t first_seq, last_seq;
	uint64_t origin;		/* the node whose batch it is */
	uint32_t len;
	const uint8_t *records;
};

/* Encoded size of a batch of len bytes of records (padded). */
size_t kc_centry_size(uint32_t len);
/* Encode into out (kc_centry_size bytes). */
void kc_centry_encode(const struct kc_cbatch *b, uint8_t *out);
/* Decode and check an entry: 0, or -EBADMSG (magic, format, lengths,
 * CRC, padding, seqs) with b->records pointing into p. */
int kc_centry_decode(const uint8_t *p, size_t n, struct kc_cbatch *b);

struct kc_cglue_ops {
	/*
	 * Every node, in log order: a committed batch to apply (write to the
	 * journal, execute on the workers). own: this node's batch from
	 * this term, already executed here (the journal still gets it).
	 * Non-zero: the node must stop (the glue refuses everything after).
	 */
	int (*apply)(void *arg, const struct kc_cbatch *b, bool own);
	/* The leader: its batch is on a majority; the REPLYs of records up
	 * to last_seq of shard may go. */
	void (*released)(void *arg, uint16_t shard, uint64_t last_seq);
	/*
	 * The leader lost its leadership with this batch of its own in
	 * flight: the next leader may commit it or not. Its REPLYs must not
	 * go, and the node's state, which executed it, may no longer be the
	 * log's: from here the glue applies nothing, submits nothing and
	 * never serves (info.stale); the node must restart, rebuilding its
	 * state from its journal and the log.
	 */
	void (*lost)(void *arg, const struct kc_cbatch *b);
	/* Serving (leader, and everything committed applied) or not. */
	void (*serving)(void *arg, bool on, uint64_t term);
	/* The state after the last applied entry, for a snapshot: malloc'd
	 * bytes (the glue frees them) and their length; NULL on failure. */
	void *(*snapshot)(void *arg, size_t *len);
	/* Replace the state with a snapshot's. 0 or non-zero (failure). */
	int (*restore)(void *arg, const void *p, size_t len);
};

struct kc_cglue;

/* max_inflight: batches submitted and not yet committed or lost. NULL
 * if out of memory. */
struct kc_cglue *kc_cglue_create(const struct kc_cglue_ops *ops, void *arg,
				 uint64_t self, uint32_t max_inflight);
void kc_cglue_free(struct kc_cglue *g);

/* The FSM to give raft_init (or raft_fixture_grow); then attach the
 * struct raft it made. */
struct raft_fsm *kc_cglue_fsm(struct kc_cglue *g);
void kc_cglue_attach(struct kc_cglue *g, struct raft *r);
/* Before the log is applied: the journal already holds shard's records
 * below next_seq, so batches that end below it are skipped (a snapshot
 * restored later never moves it back). */
void kc_cglue_start_at(struct kc_cglue *g, uint16_t shard, uint64_t next_seq);
/* The caller executed a batch it could not submit: as after a lost one,
 * the node's state is no longer the log's (info.stale). */
void kc_cglue_set_stale(struct kc_cglue *g);

/*
 * The leader: replicate a batch (copied). 0; -ENOTCONN: not the leader
 * or not serving yet; -EAGAIN: max_inflight batches in flight; -EINVAL:
 * not the shard's next seq; -ENOMEM; -EIO: libraft refused it.
 */
int kc_cglue_submit(struct kc_cglue *g, const struct kc_cbatch *b);

/* Look at the node's role: call after every turn of the loop (or step of
 * the fixture). Starts the barrier of a new leader, says serving on and
 * off. */
void kc_cglue_poll(struct kc_cglue *g);

struct kc_cglue_info {
	bool serving;
	bool failed;		/* an apply failed: the node must stop */
	bool stale;		/* lost batches it executed: restart */
	uint64_t term;
	uint64_t applied;	/* batches applied */
	uint64_t skipped;	/* batches the journal had at start */
	uint32_t inflight;
	uint64_t next_seq[KC_CGLUE_SHARDS_MAX];	/* per shard, 0: none yet */
	uint64_t submitted, released, lost;	/* batches */
};
void kc_cglue_info(const struct kc_cglue *g, struct kc_cglue_info *info);

#endif /* KC_CGLUE_H */
