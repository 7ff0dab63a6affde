/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Just enough of the kernel's headers, mapped onto the C library, to
 * compile the module's text protocol (kmod/kc_cmd.c) unchanged in user
 * space for fuzz_kmod_line. Every linux/X.h beside this file includes it.
 * WARN_ON_ONCE aborts: in the kernel it marks a bug, here it is a crash
 * the fuzzer keeps.
 */
#ifndef KC_KSHIM_H
#define KC_KSHIM_H

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define U8_MAX UINT8_MAX
#define U16_MAX UINT16_MAX
#define U32_MAX UINT32_MAX
#define U64_MAX UINT64_MAX
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define WARN_ON_ONCE(c)                                                     \
	({                                                                  \
		bool warn_ = !!(c);                                         \
		if (warn_) {                                                \
			fprintf(stderr, "WARN_ON_ONCE(%s) at %s:%d\n", #c,  \
				__FILE__, __LINE__);                        \
			abort();                                            \
		}                                                           \
		warn_;                                                      \
	})

struct completion { int done; };
struct kref { int refcount; };
struct list_head { struct list_head *next, *prev; };
struct work_struct { int pending; };
struct socket;
struct sock;
struct workqueue_struct;
typedef int spinlock_t;

#define DECLARE_PER_CPU(type, name) extern type name
#define this_cpu_inc(x) ((x)++)

/* lib/kstrtox.c's rules: an optional '+', digits, one optional newline. */
int kstrtou64(const char *s, unsigned int base, u64 *res);
/* The characters written, not those that would have been. */
int vscnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif /* KC_KSHIM_H */
