/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading one record of a shard by its seq, for the money trail (a coin's
 * hops point back to each other by seq). Runs on a control thread, never
 * on a data-path lcore: it reads files.
 *
 * Segments are found by the seq of their first record (files are in seq
 * order); inside a segment the records are walked from the start, and
 * every 64th record's offset is remembered on the way, so the next lookup
 * in that segment starts at most 64 records before what it wants. Memory
 * is 16 bytes per 64 records of the segments looked into.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_journal.h"
#include "kc_journal_priv.h"

#define INDEX_EVERY 64u
#define WINDOW_BYTES (256u * 1024u)

struct mark {
	uint64_t seq;
	uint64_t off;
};

struct seg {
	uint64_t index;
	uint64_t first_seq;	/* 0: not known yet, or empty */
	struct mark *marks;	/* every INDEX_EVERY-th record walked */
	uint32_t nb_marks;
	uint32_t cap_marks;
	uint64_t walked_off;	/* the walk has checked records up to here */
	uint64_t walked_seq;	/* the seq expected at walked_off */
};

struct kc_jlookup {
	char dir[KC_JPATH_MAX];
	struct seg *segs;
	uint32_t nb_segs;
	/* One open segment and a window of it. */
	int fd;
	uint64_t fd_index;
	uint8_t *win;
	uint64_t win_off;
	uint64_t win_len;
};

struct kc_jlookup *kc_jlookup_open(const char *shard_dir)
{
	struct kc_jlookup *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->win = malloc(WINDOW_BYTES + KC_JREC_MAX_SIZE);
	if (x->win == NULL) {
		free(x);
		return NULL;
	}
	snprintf(x->dir, sizeof(x->dir), "%s", shard_dir);
	x->fd = -1;
	return x;
}

static void seg_clear(struct seg *s)
{
	free(s->marks);
	memset(s, 0, sizeof(*s));
}

void kc_jlookup_close(struct kc_jlookup *x)
{
	if (x == NULL)
		return;
	for (uint32_t i = 0; i < x->nb_segs; i++)
		seg_clear(&x->segs[i]);
	free(x->segs);
	if (x->fd >= 0)
		close(x->fd);
	free(x->win);
	free(x);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* List the segment files again, keeping what is known of those still
 * there (retention deletes from the front, the writer adds at the end). */
static int refresh(struct kc_jlookup *x)
{
	uint64_t *idx = NULL;
	uint32_t n = 0, cap = 0;
	struct seg *segs;
	struct dirent *e;
	DIR *d = opendir(x->dir);

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		uint64_t i;

		if (!kc_jseg_name_parse(e->d_name, &i))
			continue;
		if (n == cap) {
			uint64_t *m = realloc(idx, (cap ? 2 * cap : 64) * 8);

			if (m == NULL) {
				free(idx);
				closedir(d);
				return -ENOMEM;
			}
			idx = m;
			cap = cap ? 2 * cap : 64;
		}
		idx[n++] = i;
	}
	closedir(d);
	if (n != 0)
		qsort(idx, n, sizeof(*idx), cmp_u64);
	segs = calloc(n ? n : 1, sizeof(*segs));
	if (segs == NULL) {
		free(idx);
		return -ENOMEM;
	}
	for (uint32_t i = 0, j = 0; i < n; i++) {
		while (j < x->nb_segs && x->segs[j].index < idx[i])
			seg_clear(&x->segs[j++]);
		if (j < x->nb_segs && x->segs[j].index == idx[i]) {
			segs[i] = x->segs[j];
			memset(&x->segs[j++], 0, sizeof(struct seg));
		} else {
			segs[i].index = idx[i];
		}
	}
	for (uint32_t j = 0; j < x->nb_segs; j++)
		seg_clear(&x->segs[j]);
	free(x->segs);
	free(idx);
	x->segs = segs;
	x->nb_segs = n;
	return 0;
}

/* Make bytes [off, off + len) of segment s readable at the return value;
 * NULL past the end of the file or on error (errno set). The window
 * reaches back as far as forward: a trail is walked towards older
 * records, a segment's index towards newer ones. */
static const uint8_t *fetch(struct kc_jlookup *x, const struct seg *s,
			    uint64_t off, uint32_t len)
{
	uint64_t start;
	ssize_t n;

	if (x->fd < 0 || x->fd_index != s->index) {
		char path[KC_JPATH_MAX];
		struct stat st;

		if (x->fd >= 0)
			close(x->fd);
		x->win_len = 0;
		kc_jseg_path(path, sizeof(path), x->dir, s->index);
		/* A segment is a regular file: not a link, nor a FIFO to
		 * wait on (pread reads what is there, never past it). */
		x->fd = kc_jopen(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
				 O_NONBLOCK, 0);
		if (x->fd < 0)
			return NULL;
		if (fstat(x->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(x->fd);
			x->fd = -1;
			errno = EINVAL;
			return NULL;
		}
		x->fd_index = s->index;
	}
	if (off >= x->win_off && off + len <= x->win_off + x->win_len)
		return x->win + (off - x->win_off);
	start = off > WINDOW_BYTES / 2 ? (off - WINDOW_BYTES / 2) & ~4095ull : 0;
	n = pread(x->fd, x->win, WINDOW_BYTES + KC_JREC_MAX_SIZE, (off_t)start);
	if (n < 0)
		return NULL;
	x->win_off = start;
	x->win_len = (uint64_t)n;
	if ((uint64_t)n < off - start + len) {
		errno = ENOENT;
		return NULL;
	}
	return x->win + (off - start);
}

/* The record at off of s: 0 with its header, or a negative errno
 * (-ENOENT: nothing written there yet). */
static int record_at(struct kc_jlookup *x, const struct seg *s, uint64_t off,
		     struct kc_jrec *h, const uint8_t **rec)
{
	for (int fresh = 0; fresh < 2; fresh++) {
		const uint8_t *p = fetch(x, s, off, KC_JREC_HDR_LEN);
		enum kc_jrec_check c;
		uint32_t plen;

		if (p == NULL)
			return errno == ENOENT ? -ENOENT : -errno;
		memcpy(&plen, p + 4, 4);
		plen = le32toh(plen);
		if (plen > KC_JREC_PAYLOAD_MAX)
			plen = KC_JREC_PAYLOAD_MAX;
		p = fetch(x, s, off, kc_jrec_size(plen));
		if (p == NULL)
			return errno == ENOENT ? -ENOENT : -errno;
		c = kc_jrec_decode(p, kc_jrec_size(plen), h);
		if (c == KC_JREC_OK) {
			*rec = p;
			return 0;
		}
		/* The window may predate the writer: read again. */
		if (fresh == 0) {
			x->win_len = 0;
			continue;
		}
		return c == KC_JREC_ZERO ? -ENOENT : -EILSEQ;
	}
	return -EILSEQ;
}

static uint64_t first_off(void)
{
	return kc_jrec_size(KC_JSEG_PAYLOAD_LEN);
}

static int learn_first(struct kc_jlookup *x, struct seg *s)
{
	const uint8_t *rec;
	struct kc_jrec h;
	int rc;

	if (s->first_seq != 0)
		return 0;
	rc = record_at(x, s, first_off(), &h, &rec);
	if (rc != 0)
		return rc;
	s->first_seq = h.seq;
	s->walked_off = first_off();
	s->walked_seq = h.seq;
	return 0;
}

static int mark_add(struct seg *s, uint64_t seq, uint64_t off)
{
	if (s->nb_marks == s->cap_marks) {
		uint32_t cap = s->cap_marks ? 2 * s->cap_marks : 256;
		struct mark *m = realloc(s->marks, cap * sizeof(*m));

		if (m == NULL)
			return -ENOMEM;
		s->marks = m;
		s->cap_marks = cap;
	}
	s->marks[s->nb_marks++] = (struct mark){ seq, off };
	return 0;
}

/* Walk s from the best known place to the record seq. */
static int find_in(struct kc_jlookup *x, struct seg *s, uint64_t seq,
		   struct kc_jrec *h, const uint8_t **rec)
{
	uint64_t off = first_off(), at = s->first_seq;
	int rc;

	if (seq >= s->walked_seq) {
		off = s->walked_off;
		at = s->walked_seq;
	} else {
		uint32_t lo = 0, hi = s->nb_marks;

		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;

			if (s->marks[mid].seq <= seq)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0) {
			off = s->marks[lo - 1].off;
			at = s->marks[lo - 1].seq;
		}
	}
	for (;;) {
		rc = record_at(x, s, off, h, rec);
		if (rc != 0)
			return rc;
		if (h->seq != at)
			return -EILSEQ;
		if (off == s->walked_off) {
			if ((at - s->first_seq) % INDEX_EVERY == 0 &&
			    mark_add(s, at, off) != 0)
				return -ENOMEM;
			s->walked_off = off + kc_jrec_size(h->payload_len);
			s->walked_seq = at + 1;
		}
		if (at == seq)
			return 0;
		off += kc_jrec_size(h->payload_len);
		at++;
	}
}

int kc_jlookup_read(struct kc_jlookup *x, uint64_t seq, struct kc_jrec *h,
		    uint8_t *payload, uint32_t cap)
{
	const uint8_t *rec;
	int64_t i;
	int rc;

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 || x->nb_segs == 0) {
			rc = refresh(x);
			if (rc != 0)
				return rc;
		}
		/* The last segment whose first record is at or before seq. */
		for (i = (int64_t)x->nb_segs - 1; i >= 0; i--) {
			rc = learn_first(x, &x->segs[i]);
			if (rc == -ENOENT)
				continue; /* an empty spare */
			if (rc != 0)
				return rc;
			if (x->segs[i].first_seq <= seq)
				break;
		}
		if (i < 0)
			continue;
		rc = find_in(x, &x->segs[i], seq, h, &rec);
		/* Past the end of a segment that was not the last when
		 * listed: look again. */
		if (rc == -ENOENT && pass == 0)
			continue;
		if (rc != 0)
			return rc;
		if (h->payload_len > cap)
			return -ENOBUFS;
		memcpy(payload, rec + KC_JREC_HDR_LEN, h->payload_len);
		return 0;
	}
	return -ENOENT;
}
