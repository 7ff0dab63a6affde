/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading a shard: its segments in index order, each mapped read-only, the
 * records checked one by one. Where the valid log ends, the reader decides
 * why (docs/journal-format.md, "Where the log ends"):
 * - the rest of a segment is unused and the next segment carries on with
 *   the next sequence number: the writer rolled over, read on;
 * - nothing valid follows anywhere: the end of the log, CLEAN when the
 *   bytes after it are zeros, TORN when some are not (a group whose write
 *   was interrupted; it was never acknowledged);
 * - valid records follow in a later segment, or further than a torn write
 *   can reach in the same one: CORRUPT.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_journal.h"
#include "kc_journal_priv.h"

struct seg {
	uint64_t index;
	uint64_t bytes;
	uint64_t first_seq;	/* of the records read in it; 0: none */
	uint64_t last_seq;
	uint64_t last_time_ns;
};

struct kc_jreader {
	char dir[KC_JPATH_MAX];
	struct seg *segs;
	uint32_t nb_segs;
	uint32_t cur;		/* segment being read */
	const uint8_t *map;	/* cur's mapping */
	uint64_t map_len;
	uint64_t off;		/* next record's offset in cur */
	uint64_t expected_seq;	/* 0: take the first record's */
	uint64_t shard_seen;	/* shard of the first segment + 1; 0 unknown */
	uint64_t done_bytes;	/* bytes of segments before cur */
	uint64_t total_bytes;
	uint64_t torn_limit;
	bool ended;
	struct kc_jreader_end end;
};

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

struct kc_jreader *kc_jreader_open(const char *shard_dir, char *err,
				   size_t err_len)
{
	struct kc_jreader *r = calloc(1, sizeof(*r));
	uint32_t cap = 0;
	struct dirent *e;
	DIR *d;

	if (r == NULL) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	snprintf(r->dir, sizeof(r->dir), "%s", shard_dir);
	d = opendir(shard_dir);
	if (d == NULL) {
		if (errno == ENOENT) {
			r->end.how = KC_JEND_CLEAN;
			return r; /* a shard never written: an empty log */
		}
		snprintf(err, err_len, "%s: %s", shard_dir, strerror(errno));
		free(r);
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		char path[KC_JPATH_MAX];
		struct stat st;
		uint64_t index;

		if (!kc_jseg_name_parse(e->d_name, &index))
			continue;
		if (r->nb_segs == cap) {
			struct seg *n;

			cap = cap ? 2 * cap : 16;
			n = realloc(r->segs, cap * sizeof(*n));
			if (n == NULL)
				goto oom;
			r->segs = n;
		}
		kc_jseg_path(path, sizeof(path), shard_dir, index);
		/* The file itself, not what a link points at: a segment is a
		 * regular file the writer made (a FIFO named like one once
		 * hung recovery and kcq). */
		if (lstat(path, &st) != 0) {
			snprintf(err, err_len, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, err_len, "%s: not a regular file (a "
				 "segment is one; a link or a device named like "
				 "one is not read)", path);
			goto fail;
		}
		memset(&r->segs[r->nb_segs], 0, sizeof(r->segs[0]));
		r->segs[r->nb_segs].index = index;
		r->segs[r->nb_segs].bytes = (uint64_t)st.st_size;
		r->total_bytes += (uint64_t)st.st_size;
		r->nb_segs++;
	}
	closedir(d);
	qsort(r->segs, r->nb_segs, sizeof(*r->segs), seg_cmp);
	r->end.segments = r->nb_segs;
	return r;
oom:
	snprintf(err, err_len, "out of memory");
fail:
	closedir(d);
	free(r->segs);
	free(r);
	return NULL;
}

void kc_jreader_set_torn_limit(struct kc_jreader *r, uint64_t bytes)
{
	r->torn_limit = bytes;
}

static void unmap(struct kc_jreader *r)
{
	if (r->map != NULL)
		munmap((void *)(uintptr_t)r->map, r->map_len);
	r->map = NULL;
	r->map_len = 0;
}

void kc_jreader_close(struct kc_jreader *r)
{
	if (r == NULL)
		return;
	unmap(r);
	free(r->segs);
	free(r);
}

/* Map segment i read-only; NULL on failure (errno set). */
static const uint8_t *map_seg(const struct kc_jreader *r, uint32_t i,
			      uint64_t *len)
{
	char path[KC_JPATH_MAX];
	struct stat st;
	void *m;
	int fd;

	*len = r->segs[i].bytes;
	if (*len == 0) {
		errno = ENODATA;
		return NULL;
	}
	kc_jseg_path(path, sizeof(path), r->dir, r->segs[i].index);
	/* Opened once, without following a link or waiting on a FIFO, and
	 * mapped as long as it is now: a file that shrank since the
	 * directory was read must not be mapped past its end (SIGBUS). */
	fd = kc_jopen(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if ((uint64_t)st.st_size < *len)
		*len = (uint64_t)st.st_size;
	if (*len == 0) {
		close(fd);
		errno = ENODATA;
		return NULL;
	}
	m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	return m == MAP_FAILED ? NULL : m;
}

/*
 * Check segment i's header; on success *first_off is where its records
 * start. why gets a reason on failure.
 */
static bool seg_header_ok(const struct kc_jreader *r, uint32_t i,
			  const uint8_t *m, uint64_t len, char *why,
			  size_t why_len, bool *unwritten)
{
	struct kc_jrec h;
	struct kc_jseg s;
	enum kc_jrec_check c = kc_jrec_decode(m, len, &h);

	/* Zeros, a short or a torn header: its writing never finished. */
	*unwritten = c == KC_JREC_ZERO || c == KC_JREC_SHORT ||
		     c == KC_JREC_BAD_CRC;
	if (c != KC_JREC_OK) {
		snprintf(why, why_len, "segment header: %s",
			 kc_jrec_check_text(c));
		return false;
	}
	if (h.type != KC_JREC_SEGMENT ||
	    !kc_jseg_decode(m + KC_JREC_HDR_LEN, h.payload_len, &s)) {
		snprintf(why, why_len, "first record is not a segment header");
		return false;
	}
	if (s.version != KC_JFORMAT_VERSION) {
		snprintf(why, why_len, "format version %u (this build reads "
			 "version %u)", s.version, KC_JFORMAT_VERSION);
		return false;
	}
	if (s.index != r->segs[i].index) {
		snprintf(why, why_len, "header says segment %" PRIx64,
			 s.index);
		return false;
	}
	if (r->shard_seen != 0 && s.shard + 1u != r->shard_seen) {
		snprintf(why, why_len, "header says shard %u, not %" PRIu64,
			 s.shard, r->shard_seen - 1);
		return false;
	}
	return true;
}

/* The first record of segment i, if its header and that record are valid
 * and the record's seq is want (0: any). */
static bool seg_starts_with(const struct kc_jreader *r, uint32_t i,
			    uint64_t want, uint32_t *first_size)
{
	char why[128];
	uint64_t len;
	const uint8_t *m = map_seg(r, i, &len);
	struct kc_jrec h;
	bool ok = false, unwritten;
	uint32_t hs;

	if (m == NULL)
		return false;
	if (seg_header_ok(r, i, m, len, why, sizeof(why), &unwritten)) {
		hs = kc_jrec_size(KC_JSEG_PAYLOAD_LEN);
		if (kc_jrec_decode(m + hs, len - hs, &h) == KC_JREC_OK &&
		    h.type != KC_JREC_SEGMENT && (want == 0 || h.seq == want)) {
			ok = true;
			*first_size = kc_jrec_size(h.payload_len);
		}
	}
	munmap((void *)(uintptr_t)m, len);
	return ok;
}

/* Whether segment i holds a non-zero byte at or after offset from: data a
 * reader that stops before it would lose. */
static bool seg_has_data_from(const struct kc_jreader *r, uint32_t i,
			      uint64_t from)
{
	uint64_t len;
	const uint8_t *m = map_seg(r, i, &len);
	bool found = false;

	if (m == NULL)
		return errno != ENODATA; /* unreadable: assume the worst */
	for (uint64_t o = from; o < len && !found; o++)
		found = m[o] != 0;
	munmap((void *)(uintptr_t)m, len);
	return found;
}

static void set_end(struct kc_jreader *r, enum kc_jend how,
		    enum kc_jrec_check why, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_end(struct kc_jreader *r, enum kc_jend how,
		    enum kc_jrec_check why, const char *fmt, ...)
{
	va_list ap;

	r->ended = true;
	r->end.how = how;
	r->end.why = why;
	r->end.next_seq = r->expected_seq;
	va_start(ap, fmt);
	vsnprintf(r->end.detail, sizeof(r->end.detail), fmt, ap);
	va_end(ap);
}

/*
 * The valid records of cur stop at r->off for reason c. Decide between a
 * roll-over to the next segment (true: read on) and the end of the log.
 */
static bool at_invalid(struct kc_jreader *r, enum kc_jrec_check c)
{
	char path[KC_JPATH_MAX];
	uint64_t last_nz = r->off, extent;
	uint32_t first = 0;

	kc_jseg_path(path, sizeof(path), r->dir, r->segs[r->cur].index);
	/* A roll-over: the next segment goes on with the next seq, and the
	 * record it starts with would not have fitted here. */
	if (r->cur + 1 < r->nb_segs &&
	    seg_starts_with(r, r->cur + 1, r->expected_seq, &first) &&
	    (r->expected_seq != 0 || c == KC_JREC_ZERO) &&
	    r->map_len - r->off < first)
		return true;
	/* Any later segment with records, or with data past its header
	 * (a spare has none), means data after a hole. */
	for (uint32_t i = r->cur + 1; i < r->nb_segs; i++)
		if (seg_starts_with(r, i, 0, &first) ||
		    seg_has_data_from(r, i, kc_jrec_size(KC_JSEG_PAYLOAD_LEN))) {
			set_end(r, KC_JEND_CORRUPT, c, "%s offset %" PRIu64
				": %s, and segment %016" PRIx64 " after it "
				"holds data", path, r->off,
				kc_jrec_check_text(c), r->segs[i].index);
			r->end.pos.segment = r->segs[r->cur].index;
			r->end.pos.offset = r->off;
			return false;
		}
	/* The tail: how far do non-zero bytes reach? */
	for (uint64_t o = r->map_len; o > r->off; o--)
		if (r->map[o - 1] != 0) {
			last_nz = o;
			break;
		}
	extent = last_nz - r->off;
	r->end.pos.segment = r->segs[r->cur].index;
	r->end.pos.offset = r->off;
	r->end.torn_bytes = extent;
	if (extent == 0) {
		set_end(r, KC_JEND_CLEAN, c, "%s offset %" PRIu64 ": end of "
			"the log", path, r->off);
	} else if (r->torn_limit != 0 && extent > r->torn_limit) {
		set_end(r, KC_JEND_CORRUPT, c, "%s offset %" PRIu64 ": %s, "
			"with %" PRIu64 " bytes of data after it (more than "
			"one unsynced write can leave)", path, r->off,
			kc_jrec_check_text(c), extent);
	} else {
		set_end(r, KC_JEND_TORN, c, "%s offset %" PRIu64 ": %s; %"
			PRIu64 " bytes after it from an interrupted write",
			path, r->off, kc_jrec_check_text(c), extent);
	}
	r->end.torn_bytes = extent;
	return false;
}

/* Make segment cur the mapped one, check its header. False at the end. */
static bool enter_segment(struct kc_jreader *r)
{
	char why[128], path[KC_JPATH_MAX];
	struct kc_jrec h;
	bool unwritten = false;

	unmap(r);
	if (r->cur >= r->nb_segs) {
		set_end(r, KC_JEND_CLEAN, KC_JREC_ZERO, "%s: end of the log",
			r->dir);
		return false;
	}
	kc_jseg_path(path, sizeof(path), r->dir, r->segs[r->cur].index);
	r->map = map_seg(r, r->cur, &r->map_len);
	if (r->map == NULL || !seg_header_ok(r, r->cur, r->map, r->map_len,
					     why, sizeof(why), &unwritten)) {
		if (r->map == NULL)
			snprintf(why, sizeof(why), "cannot map: %s",
				 strerror(errno));
		r->end.pos.segment = r->segs[r->cur].index;
		r->end.pos.offset = 0;
		/* The newest file, its header never fully written and
		 * nothing after it: a segment whose creation was
		 * interrupted, not part of the log yet (the writer makes it
		 * again). Anything else (a version this build does not
		 * know, data after a bad header) is not ours to cut. */
		if (r->cur + 1 == r->nb_segs && r->map != NULL && unwritten &&
		    !seg_has_data_from(r, r->cur,
				       kc_jrec_size(KC_JSEG_PAYLOAD_LEN))) {
			set_end(r, KC_JEND_TORN, KC_JREC_BAD_CRC, "%s: %s "
				"(a segment whose creation was interrupted)",
				path, why);
			return false;
		}
		set_end(r, KC_JEND_BAD_SEGMENT, KC_JREC_BAD_CRC, "%s: %s",
			path, why);
		return false;
	}
	kc_jrec_decode(r->map, r->map_len, &h);
	if (r->shard_seen == 0)
		r->shard_seen = h.shard + 1u;
	r->off = kc_jrec_size(KC_JSEG_PAYLOAD_LEN);
	return true;
}

bool kc_jreader_next(struct kc_jreader *r, struct kc_jrec *h,
		     const uint8_t **payload, struct kc_jpos *pos)
{
	if (r->ended)
		return false;
	if (r->map == NULL) {
		if (r->nb_segs == 0) {
			set_end(r, KC_JEND_CLEAN, KC_JREC_ZERO,
				"%s: no segment", r->dir);
			return false;
		}
		if (!enter_segment(r))
			return false;
	}
	for (;;) {
		enum kc_jrec_check c = kc_jrec_decode(r->map + r->off,
						      r->map_len - r->off, h);

		if (c == KC_JREC_OK && h->type == KC_JREC_SEGMENT)
			c = KC_JREC_BAD_TYPE;
		if (c == KC_JREC_OK && r->expected_seq != 0 &&
		    h->seq != r->expected_seq)
			c = KC_JREC_BAD_SEQ; /* stale: not part of the log */
		if (c == KC_JREC_OK) {
			if (r->expected_seq == 0)
				r->expected_seq = h->seq;
			*payload = r->map + r->off + KC_JREC_HDR_LEN;
			pos->segment = r->segs[r->cur].index;
			pos->offset = r->off;
			r->off += kc_jrec_size(h->payload_len);
			r->expected_seq++;
			r->end.records++;
			if (r->segs[r->cur].first_seq == 0)
				r->segs[r->cur].first_seq = h->seq;
			r->segs[r->cur].last_seq = h->seq;
			r->segs[r->cur].last_time_ns = h->time_ns;
			r->end.pos.segment = pos->segment;
			r->end.pos.offset = r->off;
			return true;
		}
		if (!at_invalid(r, c)) {
			r->end.next_seq = r->expected_seq;
			return false;
		}
		r->done_bytes += r->map_len;
		r->cur++;
		if (!enter_segment(r))
			return false;
	}
}

const struct kc_jreader_end *kc_jreader_end(const struct kc_jreader *r)
{
	return &r->end;
}

uint64_t kc_jreader_total_bytes(const struct kc_jreader *r)
{
	return r->total_bytes;
}

uint64_t kc_jreader_done_bytes(const struct kc_jreader *r)
{
	return r->done_bytes + r->off;
}

bool kc_jreader_seek(struct kc_jreader *r, const struct kc_jpos *pos,
		     uint64_t next_seq)
{
	uint32_t i;

	for (i = 0; i < r->nb_segs; i++)
		if (r->segs[i].index == pos->segment)
			break;
	if (i == r->nb_segs)
		return false;
	unmap(r);
	r->ended = false;
	r->done_bytes = 0;
	for (uint32_t k = 0; k < i; k++)
		r->done_bytes += r->segs[k].bytes;
	r->cur = i;
	if (!enter_segment(r))
		return false;
	if (pos->offset >= kc_jrec_size(KC_JSEG_PAYLOAD_LEN))
		r->off = pos->offset;
	r->expected_seq = next_seq;
	r->end.pos = *pos;
	return true;
}

uint32_t kc_jreader_segments(const struct kc_jreader *r)
{
	return r->nb_segs;
}

void kc_jreader_segment_info(const struct kc_jreader *r, uint32_t i,
			     struct kc_jseg_info *info)
{
	info->index = r->segs[i].index;
	info->bytes = r->segs[i].bytes;
	info->first_seq = r->segs[i].first_seq;
	info->last_seq = r->segs[i].last_seq;
	info->last_time_ns = r->segs[i].last_time_ns;
}
