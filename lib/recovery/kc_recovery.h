/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recovery at start-up: each worker's journal shard replayed into its
 * empty state (docs/journal-format.md). Called by the appliance between
 * creating the pipeline and launching its lcores.
 */
#ifndef KC_RECOVERY_H
#define KC_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "kc_config.h"
#include "kc_worker.h"

/*
 * Recover each worker's journal shard into its store (docs/journal-format.md)
 * and open the shard for appending: sets ws[i]->j and the held-reply FIFO.
 * 0, or a negative errno with a message in err.
 */
int kc_recover_workers(const struct kc_config *cfg,
		       struct kc_worker_state **ws, uint32_t nb_workers,
		       int socket_id, char *err, size_t err_len);

#endif /* KC_RECOVERY_H */
