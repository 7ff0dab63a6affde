/* SPDX-License-Identifier: BSD-3-Clause */
/* The kernel functions kc_kshim.h declares, as the kernel defines them. */
#include "kc_kshim.h"
#include "kc_gw.h"

struct kc_stats kc_stats;

int kstrtou64(const char *s, unsigned int base, u64 *res)
{
	u64 v = 0;
	const char *p = s;

	if (base != 10)
		return -EINVAL;
	if (*p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		u64 d = (u64)(*p - '0');

		if (v > (U64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*p == '\n')
		p++;
	if (*p != '\0')
		return -EINVAL;
	*res = v;
	return 0;
}

int vscnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n;

	if (size == 0)
		return 0;
	n = vsnprintf(buf, size, fmt, ap);
	if (n < 0)
		return 0;
	return (size_t)n < size ? n : (int)(size - 1);
}
