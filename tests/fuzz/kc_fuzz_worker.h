/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the targets with a worker and a journal (fuzz_kcp, fuzz_journal)
 * share: the clients' keys, a work folder, and a small config.
 */
#ifndef KC_FUZZ_WORKER_H
#define KC_FUZZ_WORKER_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_config.h"

/* Client 1 is the mint authority; 2 and 3 hold accounts. */
static const char kc_fuzz_keys_text[] =
	"1 6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303031\n"
	"2 6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303032\n"
	"3 6b696e67636f6272612d6465762d6b65792d6c6f63616c2d6f6e6c792d303033\n";

/* A new folder for journals: under the run's KC_FUZZ_WORK, which
 * tests/fuzz/run removes afterwards, or /dev/shm. Aborts on failure. */
static inline void kc_fuzz_workdir(char *dir, size_t len, const char *name)
{
	const char *base = getenv("KC_FUZZ_WORK");

	snprintf(dir, len, "%s/kc-fuzz-%s-XXXXXX",
		 base != NULL ? base : "/dev/shm", name);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		abort();
	}
}

/* Small limits, so that every input runs against small stores and
 * reaches them; the journal in dir, durability batch, the ledger and
 * service calls on. */
static inline void kc_fuzz_worker_cfg(struct kc_config *cfg, const char *dir)
{
	cfg->queues.max_queues = 4;
	cfg->queues.max_bytes_per_queue = 64u << 10;
	cfg->queues.max_messages_per_queue = 256;
	cfg->queues.max_consumers_per_queue = 4;
	cfg->journal.durability = KC_CFG_DURABILITY_BATCH;
	cfg->journal.segment_bytes = 1u << 20;
	cfg->journal.buffer_bytes = 256u << 10;
	cfg->journal.group_max = 16;
	cfg->journal.group_wait_us = 0;
	cfg->journal.max_pending = 8;
	cfg->journal.reserve_bytes = 0;
	cfg->journal.snapshot_bytes = 256u << 10;
	cfg->idempotency.window_s = 60;
	cfg->idempotency.entries = 256;
	cfg->idempotency.max_clock_skew_s = 30;
	cfg->ledger.enabled = true;
	cfg->ledger.mint_authority = 1;
	cfg->ledger.max_accounts = 16;
	cfg->ledger.max_coins = 512;
	cfg->ledger.reap_after_s = 600;
	cfg->ledger.snapshot_every_ops = 64;
	cfg->ledger.trail_max_hops = 64;
	/* Service calls, small: few calls, a short hold, a quick arbiter. */
	cfg->services.enabled = true;
	cfg->services.max_services = 8;
	cfg->services.max_types = 4;
	cfg->services.max_calls = 32;
	cfg->services.max_payload = 256;
	cfg->services.max_deadline_ms = 60000;
	cfg->services.report_window_s = 60;
	cfg->services.settle_hold_s = 2;
	cfg->arbiter.quarantine_below_ppm = 500000;
	cfg->arbiter.min_calls = 4;
	cfg->arbiter.quarantine_s = 30;
	snprintf(cfg->kcp.keys_file, sizeof(cfg->kcp.keys_file), "inline");
	snprintf(cfg->journal.dir, sizeof(cfg->journal.dir), "%s", dir);
}

#endif /* KC_FUZZ_WORKER_H */
