/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to lib/journal. */
#ifndef KC_JOURNAL_PRIV_H
#define KC_JOURNAL_PRIV_H

#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>

#define KC_JPATH_MAX 512u

/* open(2) as every file of the journal is opened: made again when a
 * signal interrupts it (a FIFO, or a slow filesystem, can block). */
static inline int kc_jopen(const char *path, int flags, mode_t mode)
{
	int fd;

	do {
		fd = open(path, flags, mode);
	} while (fd < 0 && errno == EINTR);
	return fd;
}

#endif /* KC_JOURNAL_PRIV_H */
