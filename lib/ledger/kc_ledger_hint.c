/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DIR/ledger.snapshot (docs/journal-format.md): the seq of the ledger
 * snapshot recovery starts from, one decimal line. The kc-ledger thread
 * writes it, recovery and kcq read it: the one place its format lives.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_ledger.h"

int kc_ledger_hint_path(char *out, size_t len, const char *journal_dir)
{
	int n = snprintf(out, len, "%s/%s", journal_dir, KC_LEDGER_HINT_NAME);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

uint64_t kc_ledger_hint_read(const char *path, bool *present)
{
	char text[32] = "";
	FILE *f = fopen(path, "re");
	uint64_t v = 0;
	size_t n, i;

	*present = f != NULL;
	if (f == NULL)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	/*
	 * Exactly what kc_ledger_hint_write writes: decimal digits, then a
	 * newline or the end. Anything else (a sign, blanks, junk after the
	 * number, a number past 2^64 - 1) is a damaged file, which recovery
	 * ignores as documented: it then replays the ledger from further
	 * back, slower but right (strtoull took "-1" as 2^64 - 1 and "12x"
	 * as 12, and the start stopped on a snapshot that is not there).
	 */
	for (i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(text[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	if (i == 0 || (i < n && !(text[i] == '\n' && i + 1 == n)))
		return 0;
	return v;
}

int kc_ledger_hint_write(const char *path, uint64_t seq0)
{
	char tmp[4096], dir[4096], *slash;
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (f == NULL)
		return -errno;
	fprintf(f, "%" PRIu64 "\n", seq0);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = errno;

		fclose(f);
		return -e;
	}
	fclose(f);
	if (rename(tmp, path) != 0)
		return -errno;
	/* The rename itself must survive a crash. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
}
