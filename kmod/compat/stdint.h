/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * lib/proto (the one definition of KCP) is written against the C library's
 * <stdint.h>, <stdbool.h>, <stddef.h> and <string.h>. The kernel has no C
 * library; these four headers map those names onto the kernel's own, so the
 * module compiles lib/proto/kc_proto.[ch] unchanged (docs/kmod.md).
 */
#ifndef KC_COMPAT_STDINT_H
#define KC_COMPAT_STDINT_H

#include <linux/limits.h>
#include <linux/types.h>

#define UINT8_MAX U8_MAX
#define UINT16_MAX U16_MAX
#define UINT32_MAX U32_MAX
#define UINT64_MAX U64_MAX
#define UINT64_C(c) (c##ULL)

#endif /* KC_COMPAT_STDINT_H */
