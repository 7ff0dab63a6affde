/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The EAL --lcores syntax of eal.lcores, and the kernel's CPU lists it
 * embeds: one parser for the config (which lcore ids exist) and the
 * preflight (which CPUs each one runs on, against sysfs's CPU lists).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_lcores.h"

/* "N" or "N-M"; *s advances past it. -ERANGE: an id of limit or more. */
static int range_parse(const char **s, uint32_t limit, uint32_t *a,
		       uint32_t *b)
{
	char *end;
	unsigned long v;

	if (**s < '0' || **s > '9')
		return -EINVAL;
	v = strtoul(*s, &end, 10);
	if (v >= limit)
		return -ERANGE;
	*a = *b = (uint32_t)v;
	*s = end;
	if (**s == '-') {
		(*s)++;
		if (**s < '0' || **s > '9')
			return -EINVAL;
		v = strtoul(*s, &end, 10);
		if (v >= limit)
			return -ERANGE;
		if (v < *a)
			return -EINVAL;
		*b = (uint32_t)v;
		*s = end;
	}
	return 0;
}

int kc_cpulist_parse(const char **s, struct kc_cpuset *out)
{
	uint32_t a, b;
	int rc;

	for (;;) {
		rc = range_parse(s, KC_CPUS_MAX, &a, &b);
		if (rc != 0)
			return rc;
		for (uint32_t c = a; c <= b; c++)
			kc_cpuset_add(out, c);
		if (**s != ',')
			return 0;
		(*s)++;
	}
}

/* The CPUs after '@': "N", "N-M" (the comma after it ends the element)
 * or "(list)". -EOVERFLOW: a CPU id of KC_CPUS_MAX or more. */
static int at_parse(const char **s, struct kc_cpuset *at)
{
	uint32_t a, b;
	int rc;

	if (**s == '(') {
		(*s)++;
		rc = kc_cpulist_parse(s, at);
		if (rc == 0 && *(*s)++ != ')')
			rc = -EINVAL;
	} else {
		rc = range_parse(s, KC_CPUS_MAX, &a, &b);
		for (uint32_t c = a; rc == 0 && c <= b; c++)
			kc_cpuset_add(at, c);
	}
	return rc == -ERANGE ? -EOVERFLOW : rc;
}

int kc_lcores_parse(const char *s, struct kc_cpuset cpus[KC_LCORES_MAX])
{
	memset(cpus, 0, sizeof(cpus[0]) * KC_LCORES_MAX);
	for (;;) {
		struct kc_cpuset ids = { { 0 } }, at = { { 0 } };
		bool group = *s == '(';
		uint32_t a, b;
		int rc;

		if (group)
			s++;
		for (;;) {
			rc = range_parse(&s, KC_LCORES_MAX, &a, &b);
			if (rc != 0)
				return rc;
			for (uint32_t l = a; l <= b; l++)
				kc_cpuset_add(&ids, l);
			if (!group || *s != ',')
				break;
			s++;
		}
		if (group && *s++ != ')')
			return -EINVAL;
		if (*s == '@') {
			s++;
			rc = at_parse(&s, &at);
			if (rc != 0)
				return rc;
		}
		for (uint32_t l = 0; l < KC_LCORES_MAX; l++) {
			if (!kc_cpuset_has(&ids, l))
				continue;
			if (!kc_cpuset_empty(&at))
				cpus[l] = at;
			else if (group)
				cpus[l] = ids;
			else
				kc_cpuset_add(&cpus[l], l);
		}
		if (*s == '\0')
			return 0;
		if (*s++ != ',')
			return -EINVAL;
	}
}
