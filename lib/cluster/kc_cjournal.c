/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The journal's groups to the cluster node, its committed batches back to
 * the journal (kc_cjournal.h, docs/cluster.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kc_cjournal.h"

/* The I/O thread's group to the node, which copies it. -EAGAIN when its
 * queue is full (or out of memory: again later); -ENOTCONN when it is
 * not a serving leader: this node executed records the log will never
 * have (the journal fails, and the node must restart). */
static int replicate(void *arg, uint16_t shard, uint64_t first_seq,
		     uint64_t last_seq, const struct iovec *iov, int nb_iov,
		     uint64_t bytes)
{
	struct kc_cjournal *link = arg;
	const struct kc_cbatch b = { .shard = shard, .first_seq = first_seq,
				     .last_seq = last_seq,
				     .len = (uint32_t)bytes };
	int rc = kc_cluster_submitv(link->node, &b, iov, nb_iov);

	return rc == -ENOMEM ? -EAGAIN : rc;
}

struct kc_journal_repl kc_cjournal_repl(struct kc_cjournal *link)
{
	return (struct kc_journal_repl){ .replicate = replicate,
					 .arg = link };
}

int kc_cjournal_apply(void *arg, const struct kc_cbatch *b, bool own)
{
	struct kc_cjournal *link = arg;
	struct kc_journal *j = b->shard < KC_CGLUE_SHARDS_MAX ?
			       link->j[b->shard] : NULL;
	const struct timespec pause = { .tv_nsec = 200 * 1000 };
	uint32_t waited_us = 0;
	int rc;

	(void)own;	/* the file gets every committed batch */
	if (j == NULL)
		return -ENOENT;
	/* libraft offers a put-off entry again only when the commit index
	 * moves (docs/cluster.md): wait here for the I/O thread instead. */
	while ((rc = kc_journal_commit(j, b->records, b->len, b->first_seq,
				       b->last_seq)) == -EAGAIN &&
	       waited_us / 1000u < link->wait_ms) {
		nanosleep(&pause, NULL);
		waited_us += 200;
	}
	return rc == -EAGAIN ? -ETIMEDOUT : rc;
}
