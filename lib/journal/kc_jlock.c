/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One appliance per journal: DIR/kingcobra.lock, locked (flock, exclusive)
 * by the appliance that writes DIR from before recovery until it exits,
 * and holding its PID. The kernel drops the lock when the process ends,
 * however it ends, so a crash leaves no stale lock; the PID in the file is
 * for the message only. Two appliances on one journal both write its
 * segments and lose each other's acknowledged records (issue 23).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "kc_journal.h"
#include "kc_journal_priv.h"

/* The PID the lock file holds (0: none readable). */
static long lock_pid(int fd)
{
	char b[32];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	b[n] = '\0';
	pid = strtol(b, &end, 10);
	return end != b && pid > 0 ? pid : 0;
}

int kc_journal_lock(const char *dir, char *err, size_t err_len)
{
	char path[KC_JPATH_MAX + 32];
	char pid[32];
	int fd, rc, n;

	rc = kc_jdir_make(dir);
	if (rc != 0) {
		snprintf(err, err_len, "cannot create journal directory %s: "
			 "%s", dir, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, KC_JLOCK_NAME);
	fd = kc_jopen(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "cannot open %s: %s", path,
			 strerror(errno));
		return rc;
	}
	do {
		rc = flock(fd, LOCK_EX | LOCK_NB);
	} while (rc != 0 && errno == EINTR);
	if (rc != 0) {
		long holder = lock_pid(fd);

		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY)
			snprintf(err, err_len, "journal %s is in use by "
				 "kingcobra PID %ld (it holds %s): stop that "
				 "one first, or give this one another "
				 "journal.dir", dir, holder, path);
		else
			snprintf(err, err_len, "cannot lock %s: %s", path,
				 strerror(-rc));
		close(fd);
		return rc;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		rc = -errno;
		snprintf(err, err_len, "cannot write %s: %s", path,
			 strerror(errno));
		close(fd);
		return rc;
	}
	/* Held until the process exits: the descriptor is never closed. */
	return fd;
}

long kc_journal_lock_holder(const char *dir)
{
	char path[KC_JPATH_MAX + 32];
	long holder = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, KC_JLOCK_NAME);
	fd = kc_jopen(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return 0;
	/* A shared lock is refused while an appliance holds it (and
	 * released with the descriptor when it is not). */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		holder = lock_pid(fd);
		if (holder == 0)
			holder = -1;
	}
	close(fd);
	return holder;
}
