/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * lib/proto (the one definition of KCP) is written against the C library's
 * <stdint.h>, <stdbool.h>, <stddef.h> and <string.h>. The kernel has no C
 * library; these four headers map those names onto the kernel's own, so the
 * module compiles lib/proto/kc_proto.[ch] unchanged (docs/kmod.md).
 */
#ifndef KC_COMPAT_STDDEF_H
#define KC_COMPAT_STDDEF_H

#include <linux/stddef.h>
#include <linux/types.h>

#endif /* KC_COMPAT_STDDEF_H */
