/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The journal writer of one shard.
 *
 * The owning lcore appends records to a ring buffer in DPDK memory and
 * publishes how far it got (head); it never makes a system call. The I/O
 * thread, a control thread that may block, takes what was published as a
 * group, writes it into the current segment with pwritev, fdatasyncs, and
 * publishes the last sequence number that is now durable. While it waits
 * on the disk the lcore goes on filling the next group.
 *
 * Disk space is never a surprise: segments are preallocated
 * (posix_fallocate) and the I/O thread keeps one spare segment ready. It
 * publishes "room", the stream position up to which the preallocated space
 * is enough, and the lcore appends only below it; when no spare can be
 * made (disk full) room stops growing and the lcore answers STORAGE_FULL
 * before executing anything, so the state in memory never runs ahead of
 * what the journal can hold. A failed write or fdatasync is final for this
 * process (its data is not known to be durable, see PostgreSQL's
 * "fsyncgate"): the state becomes FAILED and stays so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <rte_debug.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "kc_journal.h"
#include "kc_journal_priv.h"

/* A skip marker: the rest of the ring buffer is unused, go to its start. */
#define SKIP_MARK 0xffffffffu
#define IOV_MAX_GROUP 64u
#define SPARE_RETRY_NS (200ull * 1000 * 1000)
#define IDLE_SLEEP_MIN_US 10u
#define IDLE_SLEEP_MAX_US 1000u
#define REPL_GROUPS 4096u	/* groups sent, not yet in the file */
#define COMMIT_QUEUE 1024u	/* committed batches for the file */

struct kc_journal {
	/* Set at open, read-only after. */
	char dir[KC_JPATH_MAX];
	uint16_t shard;
	enum kc_durability durability;
	uint64_t seg_bytes;
	uint64_t buf_size;
	uint32_t group_max;
	uint32_t group_wait_us;
	uint64_t reserve;
	uint64_t retention_bytes;
	uint64_t retention_age_ns;
	uint64_t keep_age_ns;
	uint8_t *buf;

	/* The lcore's own. */
	struct {
		uint64_t head;
		uint64_t last_seq;
	} lc __rte_cache_aligned;

	/* Written by the lcore, read by the I/O thread. */
	uint64_t head_pub __rte_cache_aligned;
	uint64_t keep_from;

	/* Written by the I/O thread, read by the lcore. */
	uint64_t written __rte_cache_aligned;
	uint64_t durable_seq;
	uint64_t room;
	int state;

	/* The I/O thread's own. */
	struct {
		int dir_fd;
		int seg_fd;
		uint64_t seg_index;
		uint64_t seg_off;
		uint64_t next_spare_try_ns;
		uint64_t next_retire_ns;
		uint32_t idle_us;
		/* Segments known to hold records, oldest first: [0] is the
		 * oldest still on disk, the last one the current segment. */
		struct kc_jseg_info *segs;
		uint32_t nb_segs;
		uint32_t segs_cap;
		uint64_t seg_bytes_total;
	} io __rte_cache_aligned;

	/*
	 * The spare segment, made ahead by the preallocation thread so the
	 * I/O thread never waits on posix_fallocate and the syncs of a new
	 * file. spare_ready (release/acquire) hands spare_fd over; the I/O
	 * thread takes it at a roll-over, clears spare_ready and sets
	 * spare_index to the one to make next.
	 */
	int spare_fd;
	int spare_ready;
	uint64_t spare_index;

	/*
	 * Cluster mode (cfg->repl; docs/cluster.md): the I/O thread hands
	 * the lcore's groups to repl.replicate (up to sent) and writes to
	 * the file only batches the log committed, which the Raft thread
	 * queues with kc_journal_commit (cq, single producer, single
	 * consumer). The lcore's buffer is freed (written) once its records
	 * are in the file, through the groups sent, oldest first.
	 */
	struct kc_journal_repl repl;
	bool clustered;
	struct kc_jcommitted {
		uint8_t *p;
		uint32_t len;
		uint32_t done;		/* bytes of it in the file */
		uint64_t first_seq, last_seq;
	} *cq;
	uint64_t cq_head, cq_tail;	/* consumer's, producer's */
	struct {
		uint64_t sent;			/* stream position */
		struct { uint64_t last_seq, pos; } groups[REPL_GROUPS];
		uint32_t g_head, g_nb;
		uint64_t file_seq;		/* last seq in the file */
	} rp;

	struct kc_journal_stats st;
	pthread_t thread;
	pthread_t prealloc;
	bool started;
	int quit;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(uint32_t us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- files ------------------------------------------------------------ */

/*
 * The write and sync calls as the journal makes them: interrupted ones
 * again, short writes continued; a write that takes nothing at all (which
 * the kernel should never do, and which would otherwise loop for ever) is
 * EIO. Any other failure is the caller's to make final.
 */
static int pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
	const uint8_t *b = p;

	while (len > 0) {
		ssize_t n = pwrite(fd, b, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int sync_fd(int fd)
{
	while (fdatasync(fd) != 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Create, preallocate and sync segment index (header included). */
static int segment_create(struct kc_journal *j, uint64_t index, int *out_fd)
{
	uint8_t hdr[KC_JREC_HDR_LEN + KC_JSEG_PAYLOAD_LEN];
	uint8_t payload[KC_JSEG_PAYLOAD_LEN];
	char path[KC_JPATH_MAX];
	struct kc_jseg s = {
		.magic = KC_JSEG_MAGIC,
		.version = KC_JFORMAT_VERSION,
		.shard = j->shard,
		.index = index,
		.segment_bytes = j->seg_bytes,
		.created_ns = wall_ns(),
	};
	struct kc_jrec h = {
		.type = KC_JREC_SEGMENT,
		.payload_len = KC_JSEG_PAYLOAD_LEN,
		.shard = (uint8_t)j->shard,
		.time_ns = s.created_ns,
	};
	int fd, rc;

	_Static_assert(sizeof(hdr) == KC_JREC_HDR_LEN + KC_JSEG_PAYLOAD_LEN,
		       "a segment header is one record");
	_Static_assert((KC_JREC_HDR_LEN + KC_JSEG_PAYLOAD_LEN) %
			       KC_JREC_ALIGN == 0,
		       "a segment header needs no padding");
	kc_jseg_path(path, sizeof(path), j->dir, index);
	kc_jseg_encode(payload, &s);
	kc_jrec_encode(hdr, &h, payload);
	fd = kc_jopen(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	/* A signal may interrupt a long preallocation (the VM suite saw it
	 * once in three starts): try again, as the write paths do. */
	do {
		rc = -posix_fallocate(fd, 0, (off_t)j->seg_bytes);
	} while (rc == -EINTR);
	if (rc == 0)
		rc = pwrite_all(fd, hdr, sizeof(hdr), 0);
	if (rc == 0)
		rc = sync_fd(fd);
	if (rc == 0 && fsync(j->io.dir_fd) != 0)
		rc = -errno;
	if (rc != 0) {
		close(fd);
		unlink(path);
		return rc;
	}
	j->st.segments_created++;
	*out_fd = fd;
	return 0;
}

/* Room: the stream position up to which preallocated space is enough.
 * A roll-over can waste up to one record's size at a segment's end. */
static void update_room(struct kc_journal *j)
{
	uint64_t hs = kc_jrec_size(KC_JSEG_PAYLOAD_LEN);
	uint64_t left = j->seg_bytes - j->io.seg_off;
	uint64_t room = left > KC_JREC_MAX_SIZE ? left - KC_JREC_MAX_SIZE : 0;

	if (__atomic_load_n(&j->spare_ready, __ATOMIC_ACQUIRE))
		room += j->seg_bytes - hs - KC_JREC_MAX_SIZE;
	__atomic_store_n(&j->room, j->written + room, __ATOMIC_RELEASE);
}

/* The preallocation thread's step: make the spare if there is none.
 * True if it made one. */
static bool make_spare(struct kc_journal *j)
{
	uint64_t t = now_ns();
	int rc, fd = -1;

	if (__atomic_load_n(&j->spare_ready, __ATOMIC_ACQUIRE) ||
	    t < j->io.next_spare_try_ns)
		return false;
	rc = segment_create(j, __atomic_load_n(&j->spare_index,
					       __ATOMIC_ACQUIRE), &fd);
	if (rc != 0) {
		j->io.next_spare_try_ns = t + SPARE_RETRY_NS;
		j->st.last_errno = -rc;
		/* Disk full, or the directory unwritable: no more room
		 * than the current segment has; the lcore will answer
		 * STORAGE_FULL when it is used up. */
		__atomic_compare_exchange_n(&j->state, &(int){ KC_JOURNAL_OK },
					    KC_JOURNAL_FULL, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
		return false;
	}
	j->spare_fd = fd;
	__atomic_store_n(&j->spare_ready, 1, __ATOMIC_RELEASE);
	__atomic_compare_exchange_n(&j->state, &(int){ KC_JOURNAL_FULL },
				    KC_JOURNAL_OK, false, __ATOMIC_RELEASE,
				    __ATOMIC_RELAXED);
	return true;
}

static void *prealloc_main(void *arg)
{
	struct kc_journal *j = arg;

	while (!__atomic_load_n(&j->quit, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&j->state, __ATOMIC_RELAXED) !=
		    KC_JOURNAL_FAILED)
			make_spare(j);
		sleep_us(IDLE_SLEEP_MAX_US);
	}
	return NULL;
}

static void fail(struct kc_journal *j, int err)
{
	j->st.write_errors++;
	j->st.last_errno = err;
	__atomic_store_n(&j->state, KC_JOURNAL_FAILED, __ATOMIC_RELEASE);
}

/* ---- the I/O thread ---------------------------------------------------- */

struct group {
	struct iovec iov[IOV_MAX_GROUP];
	int nb_iov;
	uint64_t file_off;	/* where iov[0] goes */
	uint64_t bytes;
};

static int group_flush(struct kc_journal *j, struct group *g)
{
	uint64_t off = g->file_off;
	int i = 0;

	while (i < g->nb_iov) {
		ssize_t n = pwritev(j->io.seg_fd, g->iov + i, g->nb_iov - i,
				    (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		/* Partial write: skip what went out, go on. */
		while (i < g->nb_iov && (size_t)n >= g->iov[i].iov_len) {
			n -= (ssize_t)g->iov[i].iov_len;
			i++;
		}
		if (i < g->nb_iov) {
			g->iov[i].iov_base = (uint8_t *)g->iov[i].iov_base + n;
			g->iov[i].iov_len -= (size_t)n;
		}
	}
	j->st.bytes_written += g->bytes;
	g->nb_iov = 0;
	g->bytes = 0;
	g->file_off = j->io.seg_off;
	return 0;
}

static void group_add(struct group *g, uint8_t *p, uint32_t len)
{
	struct iovec *last = g->nb_iov ? &g->iov[g->nb_iov - 1] : NULL;

	if (last != NULL && (uint8_t *)last->iov_base + last->iov_len == p)
		last->iov_len += len;
	else
		g->iov[g->nb_iov++] = (struct iovec){ p, len };
	g->bytes += len;
}

/* The bookkeeping of the segment being written: a new one at the end. */
static int seg_push(struct kc_journal *j, uint64_t index)
{
	if (j->io.nb_segs == j->io.segs_cap) {
		uint32_t cap = j->io.segs_cap ? 2 * j->io.segs_cap : 64;
		struct kc_jseg_info *n = realloc(j->io.segs, cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		j->io.segs = n;
		j->io.segs_cap = cap;
	}
	j->io.segs[j->io.nb_segs++] = (struct kc_jseg_info){
		.index = index, .bytes = j->seg_bytes,
	};
	j->io.seg_bytes_total += j->seg_bytes;
	return 0;
}

/*
 * Retention: delete the oldest segments while every record in them is
 * below what the lcore still needs, older than the idempotency window,
 * and the shard is over retention_bytes or the segment over
 * retention_age_s. Never the segment being written.
 */
static void retire(struct kc_journal *j)
{
	uint64_t keep = __atomic_load_n(&j->keep_from, __ATOMIC_ACQUIRE);
	uint64_t now = wall_ns(), t = now_ns();

	if (t < j->io.next_retire_ns)
		return;
	j->io.next_retire_ns = t + 100ull * 1000 * 1000;
	while (j->io.nb_segs > 1) {
		struct kc_jseg_info *s = &j->io.segs[0];
		char path[KC_JPATH_MAX];
		bool over;

		if (s->last_seq == 0 || s->last_seq >= keep ||
		    s->last_time_ns + j->keep_age_ns > now)
			break;
		over = (j->retention_bytes != 0 &&
			j->io.seg_bytes_total > j->retention_bytes) ||
		       (j->retention_age_ns != 0 &&
			s->last_time_ns + j->retention_age_ns <= now);
		if (!over)
			break;
		kc_jseg_path(path, sizeof(path), j->dir, s->index);
		if (unlink(path) != 0 && errno != ENOENT) {
			j->st.last_errno = errno;
			break;
		}
		fsync(j->io.dir_fd);
		j->st.segments_deleted++;
		j->st.bytes_deleted += s->bytes;
		j->io.seg_bytes_total -= s->bytes;
		memmove(j->io.segs, j->io.segs + 1,
			(j->io.nb_segs - 1) * sizeof(*j->io.segs));
		j->io.nb_segs--;
	}
}

/* Switch to the spare segment; the old one's fd goes to *old_fd for the
 * fdatasync of this group. */
static int roll(struct kc_journal *j, int *old_fd)
{
	/* Room counts the spare only once it is ready: the lcore cannot
	 * have appended past the current segment without it. */
	if (!__atomic_load_n(&j->spare_ready, __ATOMIC_ACQUIRE))
		return -ENOSPC;
	*old_fd = j->io.seg_fd;
	j->io.seg_fd = j->spare_fd;
	j->spare_fd = -1;
	j->io.seg_index++;
	__atomic_store_n(&j->spare_index, j->io.seg_index + 1,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&j->spare_ready, 0, __ATOMIC_RELEASE);
	if (seg_push(j, j->io.seg_index) != 0)
		return -ENOMEM;
	j->io.seg_off = kc_jrec_size(KC_JSEG_PAYLOAD_LEN);
	j->st.current_segment = j->io.seg_index;
	return 0;
}

/* Where the records of a group come from: the lcore's ring buffer (its
 * skip marks jumped), or a committed batch's bytes in a row. */
struct src {
	const uint8_t *base;
	uint64_t pos, end;
	uint64_t mask;		/* ring: buffer size - 1; 0: in a row */
};

/* The next record of s (its bytes and size), false at the end. */
static bool src_next(struct src *s, uint8_t **p, uint32_t *size)
{
	while (s->pos < s->end) {
		uint64_t off = s->mask ? s->pos & s->mask : s->pos;
		uint64_t rem = s->mask ? s->mask + 1 - off : s->end - s->pos;
		uint32_t plen;

		*p = (uint8_t *)s->base + off;
		if (!s->mask && rem < KC_JREC_HDR_LEN)
			return false;	/* a committed batch cut short */
		memcpy(&plen, *p + 4, sizeof(plen));
		if (s->mask && (rem < KC_JREC_HDR_LEN || plen == SKIP_MARK)) {
			s->pos += rem;
			continue;
		}
		*size = kc_jrec_size(rte_le_to_cpu_32(plen));
		return s->mask || *size <= rem;
	}
	return false;
}

/*
 * Write the records of s (at most group_max, one roll-over) as one group,
 * fdatasync. The seq of the last written goes to *last_seq (0: none);
 * with ring, the buffer up to where it stopped is freed before the sync.
 * 0 or a negative errno.
 */
static int write_records(struct kc_journal *j, struct src *s, bool ring,
			 uint64_t *last_seq)
{
	struct group g = { .nb_iov = 0, .file_off = j->io.seg_off };
	uint32_t records = 0, size;
	int old_fd = -1, rc;
	uint64_t t0;
	uint8_t *p;

	*last_seq = 0;
	while (records < j->group_max && g.nb_iov < (int)IOV_MAX_GROUP &&
	       src_next(s, &p, &size)) {
		if (j->io.seg_off + size > j->seg_bytes) {
			if (old_fd >= 0)
				break; /* one roll per group */
			rc = group_flush(j, &g);
			if (rc == 0)
				rc = roll(j, &old_fd);
			if (rc != 0)
				return rc;
			g.file_off = j->io.seg_off;
		}
		group_add(&g, p, size);
		memcpy(last_seq, p + 8, sizeof(*last_seq));
		*last_seq = rte_le_to_cpu_64(*last_seq);
		{
			struct kc_jseg_info *cur =
				&j->io.segs[j->io.nb_segs - 1];
			uint64_t t;

			memcpy(&t, p + 40, sizeof(t));
			if (cur->first_seq == 0)
				cur->first_seq = *last_seq;
			cur->last_seq = *last_seq;
			cur->last_time_ns = rte_le_to_cpu_64(t);
		}
		j->io.seg_off += size;
		s->pos += size;
		records++;
	}
	rc = group_flush(j, &g);
	if (rc != 0)
		return rc;
	/* The buffer up to pos may be reused: it is in the page cache. */
	if (ring)
		__atomic_store_n(&j->written, s->pos, __ATOMIC_RELEASE);
	t0 = now_ns();
	if (old_fd >= 0 && (rc = sync_fd(old_fd)) != 0)
		return rc;
	if ((rc = sync_fd(j->io.seg_fd)) != 0)
		return rc;
	j->st.fsync_ns_last = now_ns() - t0;
	if (j->st.fsync_ns_last > j->st.fsync_ns_max)
		j->st.fsync_ns_max = j->st.fsync_ns_last;
	j->st.fsyncs += old_fd >= 0 ? 2 : 1;
	if (old_fd >= 0)
		close(old_fd);
	j->st.groups++;
	j->st.group_records_last = records;
	if (records > j->st.group_records_max)
		j->st.group_records_max = records;
	return 0;
}

/*
 * Write the published records from written up to at most head as one
 * group (group_max records), fdatasync, publish. 0 or a negative errno.
 */
static int write_group(struct kc_journal *j, uint64_t head)
{
	struct src s = { .base = j->buf, .pos = j->written, .end = head,
			 .mask = j->buf_size - 1 };
	uint64_t last_seq;
	int rc = write_records(j, &s, true, &last_seq);

	if (rc != 0)
		return rc;
	if (last_seq != 0)
		__atomic_store_n(&j->durable_seq, last_seq, __ATOMIC_RELEASE);
	update_room(j);
	return 0;
}

/* ---- cluster mode ------------------------------------------------------ */

/*
 * Hand the next group of published records, from sent up to at most
 * head, to repl.replicate. 0 (sent, or nothing to send), -EAGAIN (not
 * taken now), or another negative errno.
 */
static int send_group(struct kc_journal *j, uint64_t head)
{
	struct src s = { .base = j->buf, .pos = j->rp.sent, .end = head,
			 .mask = j->buf_size - 1 };
	struct iovec iov[IOV_MAX_GROUP];
	uint64_t first = 0, last = 0, bytes = 0;
	uint32_t records = 0, size;
	int nb = 0, rc;
	uint8_t *p;

	if (j->rp.g_nb == REPL_GROUPS)
		return -EAGAIN;
	while (records < j->group_max && src_next(&s, &p, &size)) {
		if (nb != 0 && (uint8_t *)iov[nb - 1].iov_base +
		    iov[nb - 1].iov_len == p) {
			iov[nb - 1].iov_len += size;
		} else {
			if (nb == (int)IOV_MAX_GROUP)
				break;
			iov[nb++] = (struct iovec){ p, size };
		}
		memcpy(&last, p + 8, sizeof(last));
		last = rte_le_to_cpu_64(last);
		if (first == 0)
			first = last;
		bytes += size;
		s.pos += size;
		records++;
	}
	if (records == 0) {
		j->rp.sent = s.pos;	/* a skip mark at the end */
		return 0;
	}
	rc = j->repl.replicate(j->repl.arg, j->shard, first, last, iov, nb,
			       bytes);
	if (rc != 0)
		return rc;
	j->rp.groups[(j->rp.g_head + j->rp.g_nb) % REPL_GROUPS] =
		(typeof(j->rp.groups[0])){ .last_seq = last, .pos = s.pos };
	j->rp.g_nb++;
	j->rp.sent = s.pos;
	return 0;
}

/*
 * Write one committed batch to the file; the lcore's groups it holds free
 * their buffer. A batch may take more than one segment: when the spare
 * segment is not ready for the next one yet, -EAGAIN, and the next turn
 * goes on where this one stopped (c->done). 0 or a negative errno.
 */
static int write_committed(struct kc_journal *j, struct kc_jcommitted *c)
{
	struct src s = { .base = c->p, .pos = c->done, .end = c->len,
			 .mask = 0 };
	uint64_t last = 0, first;
	uint8_t *p;
	uint32_t size;
	int rc;

	/* The batch goes on from the file's last record. */
	if (c->done == 0) {
		if (!src_next(&s, &p, &size))
			return -EBADMSG;
		memcpy(&first, p + 8, sizeof(first));
		first = rte_le_to_cpu_64(first);
		if (first != c->first_seq || first != j->rp.file_seq + 1)
			return -EBADMSG;
	}
	while (s.pos < s.end) {
		uint64_t from = s.pos;

		if (!src_next(&s, &p, &size))
			return -EBADMSG;
		rc = write_records(j, &s, false, &last);
		c->done = (uint32_t)s.pos;
		if (last != 0)
			j->rp.file_seq = last;
		if (rc == -ENOSPC && s.pos == from)
			return -EAGAIN;	/* no spare yet: later */
		if (rc == -ENOSPC)
			continue;	/* part written: the roll again */
		if (rc != 0)
			return rc;
	}
	if (j->rp.file_seq != c->last_seq)
		return -EBADMSG;
	__atomic_store_n(&j->durable_seq, c->last_seq, __ATOMIC_RELEASE);
	/* The lcore's own groups now in the file. */
	while (j->rp.g_nb != 0 &&
	       j->rp.groups[j->rp.g_head].last_seq <= c->last_seq) {
		__atomic_store_n(&j->written, j->rp.groups[j->rp.g_head].pos,
				 __ATOMIC_RELEASE);
		j->rp.g_head = (j->rp.g_head + 1) % REPL_GROUPS;
		j->rp.g_nb--;
	}
	update_room(j);
	return 0;
}

/* One turn of the I/O thread in cluster mode: true if it did anything. */
static bool cluster_turn(struct kc_journal *j, uint64_t head)
{
	uint64_t tail = __atomic_load_n(&j->cq_tail, __ATOMIC_ACQUIRE);
	bool did = false;
	int rc;

	while (j->cq_head != tail) {
		struct kc_jcommitted *c = &j->cq[j->cq_head % COMMIT_QUEUE];

		rc = write_committed(j, c);
		if (rc == -EAGAIN)
			break;		/* the spare segment, next turn */
		free(c->p);
		c->p = NULL;
		__atomic_store_n(&j->cq_head, j->cq_head + 1,
				 __ATOMIC_RELEASE);
		if (rc != 0) {
			fail(j, -rc);
			return true;
		}
		did = true;
	}
	if (did)
		retire(j);
	if (j->rp.sent != head) {
		rc = send_group(j, head);
		if (rc == 0)
			did = true;
		else if (rc != -EAGAIN)
			fail(j, -rc);
	}
	return did;
}

int kc_journal_commit(struct kc_journal *j, const uint8_t *records,
		      uint32_t len, uint64_t first_seq, uint64_t last_seq)
{
	uint64_t tail = j->cq_tail;
	struct kc_jcommitted *c;

	if (!j->clustered)
		return -EINVAL;
	if (tail - __atomic_load_n(&j->cq_head, __ATOMIC_ACQUIRE) ==
	    COMMIT_QUEUE)
		return -EAGAIN;
	c = &j->cq[tail % COMMIT_QUEUE];
	c->p = malloc(len ? len : 1);
	if (c->p == NULL)
		return -ENOMEM;
	memcpy(c->p, records, len);
	c->len = len;
	c->done = 0;
	c->first_seq = first_seq;
	c->last_seq = last_seq;
	__atomic_store_n(&j->cq_tail, tail + 1, __ATOMIC_RELEASE);
	return 0;
}

/* Records published but not written, up to group_max. */
static uint32_t pending_records(const struct kc_journal *j, uint64_t head)
{
	const uint64_t mask = j->buf_size - 1;
	uint64_t pos = j->written;
	uint32_t n = 0;

	while (pos < head && n < j->group_max) {
		const uint8_t *p = j->buf + (pos & mask);
		uint64_t rem = j->buf_size - (pos & mask);
		uint32_t plen;

		memcpy(&plen, p + 4, sizeof(plen));
		if (rem < KC_JREC_HDR_LEN || plen == SKIP_MARK) {
			pos += rem;
			continue;
		}
		pos += kc_jrec_size(rte_le_to_cpu_32(plen));
		n++;
	}
	return n;
}

/* Nothing to write: the spare may have become ready (room grows), old
 * segments may go; sleep a little longer each time. */
static void idle(struct kc_journal *j)
{
	update_room(j);
	retire(j);
	sleep_us(j->io.idle_us);
	if (j->io.idle_us < IDLE_SLEEP_MAX_US)
		j->io.idle_us *= 2;
}

static void *io_main(void *arg)
{
	struct kc_journal *j = arg;

	for (;;) {
		uint64_t head = __atomic_load_n(&j->head_pub, __ATOMIC_ACQUIRE);
		int quit = __atomic_load_n(&j->quit, __ATOMIC_ACQUIRE);
		int rc;

		if (__atomic_load_n(&j->state, __ATOMIC_RELAXED) ==
		    KC_JOURNAL_FAILED) {
			if (quit)
				break;
			sleep_us(IDLE_SLEEP_MAX_US);
			continue;
		}
		if (j->clustered) {
			if (cluster_turn(j, head))
				j->io.idle_us = IDLE_SLEEP_MIN_US;
			else if (quit)
				break;
			else
				idle(j);
			continue;
		}
		if (head == j->written) {
			if (quit)
				break;
			idle(j);
			continue;
		}
		j->io.idle_us = IDLE_SLEEP_MIN_US;
		/* A group is forming: give it group_wait_us to fill. */
		if (j->group_wait_us != 0 && !quit) {
			uint64_t until = now_ns() + j->group_wait_us * 1000ull;
			uint32_t step = RTE_MAX(1u, j->group_wait_us / 4);

			while (pending_records(j, head) < j->group_max &&
			       now_ns() < until) {
				sleep_us(RTE_MIN(step, 20u));
				head = __atomic_load_n(&j->head_pub,
						       __ATOMIC_ACQUIRE);
			}
		}
		rc = write_group(j, head);
		if (rc != 0) {
			fail(j, -rc);
			continue;
		}
		/* Under steady load the thread may never be idle. */
		retire(j);
	}
	return NULL;
}

/* ---- open and close ---------------------------------------------------- */

int kc_jdir_make(const char *path)
{
	char tmp[KC_JPATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Remove the shard's segments with an index above keep (all of them with
 * keep_none). */
static int remove_after(struct kc_journal *j, uint64_t keep, bool keep_none)
{
	struct dirent *e;
	int rc = 0;
	DIR *d = opendir(j->dir);

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		char path[KC_JPATH_MAX];
		uint64_t index;

		if (!kc_jseg_name_parse(e->d_name, &index) ||
		    (!keep_none && index <= keep))
			continue;
		kc_jseg_path(path, sizeof(path), j->dir, index);
		if (unlink(path) != 0 && errno != ENOENT)
			rc = -errno;
	}
	closedir(d);
	if (rc == 0 && fsync(j->io.dir_fd) != 0)
		rc = -errno;
	return rc;
}

/* Zero len bytes of fd from off: no stale record may follow new ones. */
static int zero_range(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[65536];

	while (len > 0) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		int rc = pwrite_all(fd, zeros, n, off);

		if (rc != 0)
			return rc;
		off += n;
		len -= n;
	}
	return sync_fd(fd);
}

struct kc_journal *kc_journal_open(const struct kc_journal_cfg *cfg,
				   const struct kc_jreader_end *end, char *err,
				   size_t err_len)
{
	char path[KC_JPATH_MAX];
	struct kc_journal *j;
	bool fresh;
	int rc;

	if (end->how != KC_JEND_CLEAN && end->how != KC_JEND_TORN) {
		snprintf(err, err_len, "journal shard %u cannot be appended "
			 "to: %s", cfg->shard, end->detail);
		return NULL;
	}
	if ((cfg->buffer_bytes & (cfg->buffer_bytes - 1)) != 0 ||
	    cfg->buffer_bytes < 2 * KC_JREC_MAX_SIZE) {
		snprintf(err, err_len, "journal buffer of %" PRIu64 " bytes "
			 "(expected a power of two of at least %u)",
			 cfg->buffer_bytes, 2 * KC_JREC_MAX_SIZE);
		return NULL;
	}
	j = rte_zmalloc_socket("kc_journal", sizeof(*j), RTE_CACHE_LINE_SIZE,
			       cfg->socket_id);
	if (j == NULL) {
		snprintf(err, err_len, "cannot allocate the journal of shard "
			 "%u", cfg->shard);
		return NULL;
	}
	j->io.dir_fd = j->io.seg_fd = j->spare_fd = -1;
	j->io.idle_us = IDLE_SLEEP_MIN_US;
	if (kc_jshard_path(j->dir, sizeof(j->dir), cfg->dir, cfg->shard)) {
		snprintf(err, err_len, "journal directory %s: name too long",
			 cfg->dir);
		goto fail;
	}
	j->shard = cfg->shard;
	j->durability = cfg->durability;
	j->seg_bytes = cfg->segment_bytes;
	j->buf_size = cfg->buffer_bytes;
	j->group_max = cfg->group_max;
	j->group_wait_us = cfg->group_wait_us;
	j->reserve = cfg->reserve_bytes;
	j->retention_bytes = cfg->retention_bytes;
	j->retention_age_ns = cfg->retention_age_s * 1000000000ull;
	j->keep_age_ns = cfg->keep_age_s * 1000000000ull;
	j->buf = rte_zmalloc_socket("kc_journal_buf", j->buf_size,
				    RTE_CACHE_LINE_SIZE, cfg->socket_id);
	if (j->buf == NULL) {
		snprintf(err, err_len, "cannot allocate a journal buffer of "
			 "%" PRIu64 " bytes on socket %d", j->buf_size,
			 cfg->socket_id);
		goto fail;
	}
	rc = kc_jdir_make(j->dir);
	if (rc == 0) {
		j->io.dir_fd = kc_jopen(j->dir, O_RDONLY | O_DIRECTORY |
					O_CLOEXEC, 0);
		rc = j->io.dir_fd < 0 ? -errno : 0;
	}
	if (rc != 0) {
		snprintf(err, err_len, "journal directory %s: %s", j->dir,
			 strerror(-rc));
		goto fail;
	}

	/* An empty log, or one whose newest segment was never finished:
	 * (re)make that segment. Otherwise append where the log ends. */
	fresh = end->segments == 0 || end->pos.offset == 0;
	j->io.seg_index = end->segments == 0 ? 0 : end->pos.segment;
	if (fresh) {
		rc = remove_after(j, 0, true);
		if (rc == 0)
			rc = segment_create(j, j->io.seg_index, &j->io.seg_fd);
		j->io.seg_off = kc_jrec_size(KC_JSEG_PAYLOAD_LEN);
	} else {
		kc_jseg_path(path, sizeof(path), j->dir, j->io.seg_index);
		j->io.seg_fd = kc_jopen(path, O_RDWR | O_CLOEXEC, 0);
		rc = j->io.seg_fd < 0 ? -errno : 0;
		if (rc == 0)
			rc = zero_range(j->io.seg_fd, end->pos.offset,
					end->torn_bytes);
		if (rc == 0)
			rc = remove_after(j, j->io.seg_index, false);
		j->io.seg_off = end->pos.offset;
	}
	if (rc != 0) {
		snprintf(err, err_len, "journal shard %s: cannot prepare "
			 "segment %016" PRIx64 ": %s", j->dir, j->io.seg_index,
			 strerror(-rc));
		goto fail;
	}
	if (seg_push(j, j->io.seg_index) != 0) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	j->spare_index = j->io.seg_index + 1;
	j->lc.last_seq = end->next_seq == 0 ? 0 : end->next_seq - 1;
	j->durable_seq = j->lc.last_seq;
	if (cfg->repl != NULL) {
		j->repl = *cfg->repl;
		j->clustered = true;
		j->rp.file_seq = j->lc.last_seq;
		j->cq = calloc(COMMIT_QUEUE, sizeof(*j->cq));
		if (j->cq == NULL) {
			snprintf(err, err_len, "out of memory");
			goto fail;
		}
	}
	j->st.current_segment = j->io.seg_index;
	update_room(j);
	return j;
fail:
	kc_journal_close(j);
	return NULL;
}

int kc_journal_start(struct kc_journal *j)
{
	char name[RTE_MAX_THREAD_NAME_LEN];
	int rc;

	snprintf(name, sizeof(name), "kc-jrnl-%u", j->shard % 1000u);
	rc = rte_ctrl_thread_create(&j->thread, name, NULL, io_main, j);
	if (rc != 0)
		return -rc;
	snprintf(name, sizeof(name), "kc-spare-%u", j->shard % 1000u);
	rc = rte_ctrl_thread_create(&j->prealloc, name, NULL, prealloc_main,
				    j);
	if (rc != 0) {
		__atomic_store_n(&j->quit, 1, __ATOMIC_RELEASE);
		pthread_join(j->thread, NULL);
		return -rc;
	}
	j->started = true;
	return 0;
}

void kc_journal_stop(struct kc_journal *j)
{
	if (!j->started)
		return;
	__atomic_store_n(&j->quit, 1, __ATOMIC_RELEASE);
	pthread_join(j->thread, NULL);
	pthread_join(j->prealloc, NULL);
	j->started = false;
}

void kc_journal_close(struct kc_journal *j)
{
	if (j == NULL)
		return;
	kc_journal_stop(j);
	if (j->io.seg_fd >= 0)
		close(j->io.seg_fd);
	if (j->spare_fd >= 0)
		close(j->spare_fd);
	if (j->io.dir_fd >= 0)
		close(j->io.dir_fd);
	free(j->io.segs);
	for (uint64_t i = j->cq_head; j->cq != NULL && i != j->cq_tail; i++)
		free(j->cq[i % COMMIT_QUEUE].p);
	free(j->cq);
	rte_free(j->buf);
	rte_free(j);
}

/* ---- the data path ------------------------------------------------------ */

enum kc_journal_room kc_journal_room_why(const struct kc_journal *j,
					 uint64_t bytes, bool grows)
{
	/* A record may also cost a skip to the buffer's start. */
	uint64_t end = j->lc.head + bytes + KC_JREC_MAX_SIZE;

	if (__atomic_load_n(&j->state, __ATOMIC_ACQUIRE) == KC_JOURNAL_FAILED)
		return KC_ROOM_FAILED;
	if (end - __atomic_load_n(&j->written, __ATOMIC_ACQUIRE) > j->buf_size)
		return KC_ROOM_BUFFER;
	if (end + (grows ? j->reserve : 0) >
	    __atomic_load_n(&j->room, __ATOMIC_ACQUIRE))
		return KC_ROOM_DISK;
	return KC_ROOM_OK;
}

bool kc_journal_room(const struct kc_journal *j, uint64_t bytes, bool grows)
{
	return kc_journal_room_why(j, bytes, grows) == KC_ROOM_OK;
}

uint64_t kc_journal_append(struct kc_journal *j, struct kc_jrec *h,
			   const void *payload)
{
	uint8_t *rec;
	uint64_t seq = kc_journal_append_open(j, h, payload, &rec);

	kc_jrec_seal(rec);
	return seq;
}

uint64_t kc_journal_append_open(struct kc_journal *j, struct kc_jrec *h,
				const void *payload, uint8_t **rec)
{
	const uint64_t mask = j->buf_size - 1;
	uint32_t size = kc_jrec_size(h->payload_len);
	uint64_t at = j->lc.head & mask;

	/* A record right before it is appended (docs/architecture.md,
	 * "Assertions"): a type the reader knows (SEGMENT records are the
	 * writer's own), a payload one record holds, a ref to this record
	 * or an earlier one. */
	RTE_VERIFY(h->type - 1u < KC_JREC_TYPE_MAX);
	RTE_VERIFY(h->type != KC_JREC_SEGMENT);
	RTE_VERIFY(h->payload_len <= KC_JREC_PAYLOAD_MAX);
	RTE_VERIFY(h->ref <= j->lc.last_seq + 1);
	if (j->buf_size - at < size) {
		uint32_t mark = SKIP_MARK;

		/* Records are 8-byte aligned: the mark always fits. */
		memcpy(j->buf + at + 4, &mark, sizeof(mark));
		j->lc.head += j->buf_size - at;
		at = 0;
	}
	/* The room the caller made sure of (kc_journal_room): the buffer
	 * never overwrites bytes not yet written. */
	RTE_VERIFY(j->lc.head + size -
		   __atomic_load_n(&j->written, __ATOMIC_RELAXED) <=
		   j->buf_size);
	h->seq = ++j->lc.last_seq;
	h->shard = (uint8_t)j->shard;
	*rec = j->buf + at;
	kc_jrec_encode_open(*rec, h, payload);
	j->lc.head += size;
	return h->seq;
}

void kc_journal_publish(struct kc_journal *j)
{
	__atomic_store_n(&j->head_pub, j->lc.head, __ATOMIC_RELEASE);
}

uint64_t kc_journal_durable_seq(const struct kc_journal *j)
{
	return __atomic_load_n(&j->durable_seq, __ATOMIC_ACQUIRE);
}

uint64_t kc_journal_last_seq(const struct kc_journal *j)
{
	return j->lc.last_seq;
}

uint64_t kc_journal_appended(const struct kc_journal *j)
{
	return j->lc.head;
}

void kc_journal_keep_from(struct kc_journal *j, uint64_t seq)
{
	if (seq > __atomic_load_n(&j->keep_from, __ATOMIC_RELAXED))
		__atomic_store_n(&j->keep_from, seq, __ATOMIC_RELEASE);
}

int kc_journal_add_history(struct kc_journal *j,
			   const struct kc_jseg_info *segs, uint32_t n)
{
	struct kc_jseg_info cur = j->io.segs[j->io.nb_segs - 1];

	/* The history goes before the segment being written; the segment
	 * being appended to is in it too, with its records so far. */
	j->io.nb_segs--;
	j->io.seg_bytes_total -= cur.bytes;
	for (uint32_t i = 0; i < n; i++) {
		if (segs[i].index >= cur.index) {
			if (segs[i].index == cur.index)
				cur = segs[i];
			continue;
		}
		if (seg_push(j, segs[i].index) != 0)
			return -ENOMEM;
		j->io.segs[j->io.nb_segs - 1] = segs[i];
		j->io.seg_bytes_total += segs[i].bytes - j->seg_bytes;
	}
	if (seg_push(j, cur.index) != 0)
		return -ENOMEM;
	j->io.segs[j->io.nb_segs - 1] = cur;
	j->io.seg_bytes_total += cur.bytes - j->seg_bytes;
	return 0;
}

enum kc_journal_state kc_journal_state(const struct kc_journal *j)
{
	return (enum kc_journal_state)__atomic_load_n(&j->state,
						      __ATOMIC_ACQUIRE);
}

enum kc_durability kc_journal_durability(const struct kc_journal *j)
{
	return j->durability;
}

void kc_journal_stats(const struct kc_journal *j, struct kc_journal_stats *s)
{
	*s = j->st;
}
