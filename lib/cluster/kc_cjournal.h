/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A node's journal shards tied to its cluster node (docs/cluster.md): the
 * journals' I/O threads hand their groups to the node (the replicate of
 * kc_journal_repl), and the node's committed batches go back to the
 * journals' files (the apply of kc_cglue_ops). Set up before either
 * starts: the link first, the node with kc_cjournal_apply and the link as
 * its hooks' arg, the journals with kc_cjournal_repl(link), then
 * kc_cjournal_attach each.
 */
#ifndef KC_CJOURNAL_H
#define KC_CJOURNAL_H

#include <stdint.h>

#include "kc_cluster.h"
#include "kc_journal.h"

struct kc_cjournal {
	struct kc_cluster *node;
	struct kc_journal *j[KC_CGLUE_SHARDS_MAX];
	uint32_t wait_ms;	/* an apply waits this long for room in a
				 * journal's queue, then stops the node */
};

/* For kc_journal_cfg.repl. */
struct kc_journal_repl kc_cjournal_repl(struct kc_cjournal *link);

/* kc_cglue_ops.apply, arg the link: the batch to its shard's journal. */
int kc_cjournal_apply(void *arg, const struct kc_cbatch *b, bool own);

#endif /* KC_CJOURNAL_H */
