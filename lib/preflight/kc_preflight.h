/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host preflight: what the loaded config needs from the host, checked
 * against sysfs and procfs before rte_eal_init() (docs/operations.md,
 * "Host preflight"). Hugepages and hugetlbfs only with eal.hugepages: true;
 * the IOMMU and the devices only for pci ports; the lcores' CPUs always.
 *
 * Every check gives one line, "OUTCOME: CHECK: what was found", and a
 * warning or failure ends with "; fix: " and the exact command, kernel
 * parameter or config change that fixes it. The paths in the lines are the
 * host's (/sys/..., /proc/...) whatever root the files were read under.
 *
 * No DPDK dependency: it runs before the EAL and in unit tests.
 */
#ifndef KC_PREFLIGHT_H
#define KC_PREFLIGHT_H

#include <stdint.h>

#include "kc_config.h"

#define KC_PREFLIGHT_LINE_MAX 512u /* one line, NUL included */

enum kc_preflight_outcome {
	KC_PREFLIGHT_OK,
	KC_PREFLIGHT_WARNING, /* printed; the start goes on */
	KC_PREFLIGHT_FAILURE, /* the start stops (exit 1) */
};

struct kc_preflight_result {
	uint32_t oks;
	uint32_t warnings;
	uint32_t failures;
};

/* Called once per line, in check order; line has no newline. */
typedef void kc_preflight_emit_fn(void *arg, enum kc_preflight_outcome o,
				  const char *line);

/*
 * Run every check that cfg asks for. root is prefixed to /sys and /proc
 * ("/" for the host, a directory a test built otherwise). Returns the worst
 * outcome; res (may be NULL) gets the count of each.
 */
enum kc_preflight_outcome kc_preflight_run(const struct kc_config *cfg,
					   const char *root,
					   kc_preflight_emit_fn *emit,
					   void *arg,
					   struct kc_preflight_result *res);

/* "ok", "warning", "failure": the first word of each line. */
const char *kc_preflight_outcome_name(enum kc_preflight_outcome o);

#endif /* KC_PREFLIGHT_H */
