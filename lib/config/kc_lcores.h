/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CPU sets and the EAL --lcores syntax (kc_lcores.c), part of lib/config's
 * public header kc_config.h, which includes this one.
 */
#ifndef KC_LCORES_H
#define KC_LCORES_H

#include <stdbool.h>
#include <stdint.h>

#include "kc_limits.h"

/* A set of CPU ids. */
struct kc_cpuset {
	uint64_t w[KC_CPUS_MAX / 64u];
};

static inline void kc_cpuset_add(struct kc_cpuset *s, uint32_t cpu)
{
	s->w[cpu / 64u] |= 1ull << (cpu % 64u);
}

static inline bool kc_cpuset_has(const struct kc_cpuset *s, uint32_t cpu)
{
	return (s->w[cpu / 64u] >> (cpu % 64u)) & 1u;
}

static inline bool kc_cpuset_empty(const struct kc_cpuset *s)
{
	for (uint32_t i = 0; i < KC_CPUS_MAX / 64u; i++)
		if (s->w[i] != 0)
			return false;
	return true;
}

/*
 * A kernel CPU list ("0-3,8,10-11", as in eal.lcores and sysfs) at *s,
 * added to out; *s advances to the first character that does not continue
 * it. 0, -EINVAL (not a list, or a range backwards) or -ERANGE (a CPU id
 * of KC_CPUS_MAX or more).
 */
int kc_cpulist_parse(const char **s, struct kc_cpuset *out);

/*
 * The EAL --lcores syntax of eal.lcores: comma-separated elements, each an
 * lcore id, a range "N-M" or a parenthesised list of them, optionally
 * "@CPU", "@N-M" or "@(CPU list)". cpus[l] is the set of CPUs lcore l runs
 * on, as the EAL places it: "N" and "N-M" put lcore N on CPU N; "(group)"
 * without '@' lets each lcore of the group float over the group's ids as
 * CPUs; "...@CPUS" puts every lcore of the element on CPUS. Empty for the
 * lcore ids the list does not name. 0, -EINVAL (bad syntax), -ERANGE (an
 * lcore id of KC_LCORES_MAX or more) or -EOVERFLOW (a CPU id of
 * KC_CPUS_MAX or more).
 */
int kc_lcores_parse(const char *s, struct kc_cpuset cpus[KC_LCORES_MAX]);

#endif /* KC_LCORES_H */
