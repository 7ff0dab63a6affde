/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A node of the cluster (docs/cluster.md, issue 19): libraft on a thread
 * of its own ("kc-raft") running a libuv loop, with its disk layer in
 * dir and its TCP transport on this node's address; the glue
 * (kc_cglue.h) between it and the journal's batches.
 *
 * Other threads hand it batches (kc_cluster_submit: the journal writers)
 * and read what it publishes without a lock (kc_cluster_released, the
 * role): the lcores never call into libraft. The callbacks run on the
 * Raft thread.
 */
#ifndef KC_CLUSTER_H
#define KC_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "kc_cglue.h"

#define KC_CLUSTER_NODES_MAX 7u
#define KC_CLUSTER_ADDR_MAX 32u	/* "a.b.c.d:port" */

struct kc_cluster_cfg {
	uint64_t self;			/* this node's id, 1.. */
	char dir[4096];			/* the Raft log's directory (made) */
	struct {
		uint64_t id;
		char address[KC_CLUSTER_ADDR_MAX];
	} nodes[KC_CLUSTER_NODES_MAX];	/* every voter, this node too */
	uint32_t nb_nodes;
	uint32_t election_timeout_ms;
	uint32_t heartbeat_ms;
	uint32_t snapshot_threshold;	/* entries between snapshots */
	uint32_t snapshot_trailing;	/* entries kept after one */
	/* How long the leader waits for a follower to install a snapshot
	 * before it sends it again (libraft: 30 s; a snapshot sent to a
	 * node that was restarting is otherwise waited for that long). */
	uint32_t install_snapshot_timeout_ms;
	uint32_t max_inflight;		/* batches in flight on the leader */
	uint32_t max_queued;		/* batches waiting for the thread */
	/* Per shard, the seq after the journal's last record (0: empty):
	 * batches below it are in the journal already. */
	uint64_t next_seq[KC_CGLUE_SHARDS_MAX];
};

struct kc_cluster_hooks {
	/* As kc_cglue_ops: apply (every node, log order), lost, snapshot,
	 * restore. released and serving are published (below) and also
	 * told here when not NULL. */
	struct kc_cglue_ops ops;
	void *arg;
};

struct kc_cluster;

/*
 * Start the node: the Raft log in cfg->dir (bootstrapped with cfg->nodes
 * the first time), its thread, its listener. NULL with the reason in err.
 * Ignores SIGPIPE for the process (libuv writes to sockets without
 * MSG_NOSIGNAL: a dead peer would kill it).
 */
struct kc_cluster *kc_cluster_start(const struct kc_cluster_cfg *cfg,
				    const struct kc_cluster_hooks *hooks,
				    char *err, size_t err_len);
/* Close the node (its pending batches are not submitted) and free. Stop
 * the journals that hand it batches first; after it returns nothing may
 * call kc_cluster_submit (until then a hand-over answers -ENOTCONN). */
void kc_cluster_stop(struct kc_cluster *c);

/*
 * Any thread: hand a batch to the Raft thread (its records copied). 0;
 * -EAGAIN: max_queued waiting; -ENOTCONN: not serving as leader; -ENOMEM.
 * Its fate comes back as the shard's released seq or as a lost batch.
 */
int kc_cluster_submit(struct kc_cluster *c, const struct kc_cbatch *b);
/* The same with the records in pieces (b->records unused; the pieces
 * make b->len bytes): the journal's group as its I/O thread has it. */
int kc_cluster_submitv(struct kc_cluster *c, const struct kc_cbatch *b,
		       const struct iovec *iov, int nb_iov);

/* Any thread, no lock: the last seq of shard whose batch is committed
 * on this leader (0: none). */
uint64_t kc_cluster_released(const struct kc_cluster *c, uint16_t shard);

enum kc_cluster_role {
	KC_ROLE_UNAVAILABLE, KC_ROLE_FOLLOWER, KC_ROLE_CANDIDATE,
	KC_ROLE_LEADER,
};

struct kc_cluster_status {
	enum kc_cluster_role role;
	bool serving;			/* leader, everything applied */
	bool failed, stale;		/* must stop, must restart */
	uint64_t term;
	uint64_t leader_id;		/* 0: none known */
	char leader_address[KC_CLUSTER_ADDR_MAX];
	uint64_t commit_index, last_applied;
	uint64_t batches_applied, batches_released, batches_lost;
};
/* Any thread: as of the Raft thread's last turn (under a lock of its
 * own, never the data path's). */
void kc_cluster_status(struct kc_cluster *c, struct kc_cluster_status *st);
const char *kc_cluster_role_name(enum kc_cluster_role role);

#endif /* KC_CLUSTER_H */
