/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The journal: CRC32C, the record codec, the writer with its I/O thread
 * (group commit, roll-over to preallocated segments), the reader, and
 * recovery of a log cut at every byte of its last record or corrupted in
 * the middle.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_hash_crc.h>
#include <rte_cycles.h>

#include "kc_journal.h"
#include "kc_test_eal.h"

static char dir[64];

/*
 * posix_fallocate, wrapped at link time (tests/unit/meson.build): the next
 * fallocate_eintr calls fail with EINTR, as a signal can make them.
 */
static int fallocate_eintr;
static int fallocate_enospc;	/* the next calls fail with ENOSPC */
int __real_posix_fallocate64(int fd, off_t off, off_t len);
int __wrap_posix_fallocate64(int fd, off_t off, off_t len);

int __wrap_posix_fallocate64(int fd, off_t off, off_t len)
{
	if (fallocate_eintr > 0) {
		fallocate_eintr--;
		return EINTR;
	}
	if (fallocate_enospc > 0) {
		fallocate_enospc--;
		return ENOSPC;
	}
	return __real_posix_fallocate64(fd, off, len);
}

/*
 * The journal's writes and syncs fail on demand (-Wl,--wrap): the next
 * eintr_* calls are interrupted; pwritev writes at most short_bytes a call
 * while short_calls lasts; after fail_after more pwritev calls (-1: never)
 * it fails with fail_errno having written fail_partial bytes of what it was
 * given, or returns 0 when zero_write is set.
 */
static struct {
	int eintr_pwritev, eintr_fdatasync, eintr_open;
	size_t short_bytes;
	int short_calls;
	int fail_after;
	int fail_errno;
	size_t fail_partial;
	bool zero_write;
} fault = { .fail_after = -1 };

ssize_t __real_pwritev64(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_pwritev64(int fd, const struct iovec *iov, int n, off_t off);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);

ssize_t __wrap_pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
	if (fault.eintr_pwritev > 0) {
		fault.eintr_pwritev--;
		errno = EINTR;
		return -1;
	}
	if (fault.fail_after == 0) {
		struct iovec one = iov[0];

		if (fault.zero_write)
			return 0;
		if (fault.fail_partial > 0) {
			one.iov_len = fault.fail_partial < one.iov_len ?
				      fault.fail_partial : one.iov_len;
			fault.fail_partial = 0;
			return __real_pwritev64(fd, &one, 1, off);
		}
		errno = fault.fail_errno;
		return -1;
	}
	if (fault.fail_after > 0)
		fault.fail_after--;
	if (fault.short_calls > 0) {
		struct iovec one = iov[0];

		fault.short_calls--;
		if (one.iov_len > fault.short_bytes)
			one.iov_len = fault.short_bytes;
		return __real_pwritev64(fd, &one, 1, off);
	}
	return __real_pwritev64(fd, iov, n, off);
}

int __wrap_fdatasync(int fd)
{
	if (fault.eintr_fdatasync > 0) {
		fault.eintr_fdatasync--;
		errno = EINTR;
		return -1;
	}
	return __real_fdatasync(fd);
}

int __wrap_open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	if (fault.eintr_open > 0) {
		fault.eintr_open--;
		errno = EINTR;
		return -1;
	}
	return __real_open64(path, flags, mode);
}

static void rm_rf(const char *path)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kc-test-journal-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

static struct kc_journal_cfg cfg_of(uint64_t seg_bytes)
{
	struct kc_journal_cfg c = {
		.dir = dir,
		.shard = 0,
		.durability = KC_DURABILITY_BATCH,
		.segment_bytes = seg_bytes,
		.buffer_bytes = 1u << 20,
		.group_max = 64,
		.group_wait_us = 50,
		.socket_id = 0,
	};
	return c;
}

static void shard_dir(char *out, size_t len)
{
	assert_int_equal(kc_jshard_path(out, len, dir, 0), 0);
}

/* Read the whole shard: count, check payloads, return the end. */
static uint64_t read_all(struct kc_jreader_end *end, uint64_t torn_limit)
{
	char sd[256], err[256];
	struct kc_jreader *r;
	struct kc_jrec h;
	const uint8_t *p;
	struct kc_jpos pos;
	uint64_t n = 0;

	shard_dir(sd, sizeof(sd));
	r = kc_jreader_open(sd, err, sizeof(err));
	assert_non_null(r);
	kc_jreader_set_torn_limit(r, torn_limit);
	while (kc_jreader_next(r, &h, &p, &pos)) {
		char want[64];

		n++;
		assert_int_equal(h.seq, n);
		snprintf(want, sizeof(want), "record %llu",
			 (unsigned long long)n);
		assert_int_equal(h.payload_len, strlen(want) + (n % 300));
		assert_memory_equal(p, want, strlen(want));
		assert_int_equal(h.type, n % 2 ? KC_JREC_REQUEST : KC_JREC_REPLY);
	}
	*end = *kc_jreader_end(r);
	kc_jreader_close(r);
	return n;
}

static struct kc_journal *open_journal(uint64_t seg_bytes)
{
	struct kc_journal_cfg c = cfg_of(seg_bytes);
	struct kc_jreader_end end;
	char err[256];
	struct kc_journal *j;

	read_all(&end, 0);
	j = kc_journal_open(&c, &end, err, sizeof(err));
	if (j == NULL)
		fail_msg("kc_journal_open: %s", err);
	assert_int_equal(kc_journal_start(j), 0);
	return j;
}

/* Record n as append() writes it: "record N" padded to vary. */
static struct kc_jrec record(uint64_t n, uint8_t payload[512])
{
	struct kc_jrec h = {
		.type = n % 2 ? KC_JREC_REQUEST : KC_JREC_REPLY,
		.op = KC_OP_PUBLISH,
		.client_id = 1,
	};
	int len = snprintf((char *)payload, 512, "record %llu",
			   (unsigned long long)n);

	memset(payload + len, 'x', n % 300);
	h.payload_len = (uint32_t)len + (uint32_t)(n % 300);
	return h;
}

/* Append records first..last (payload "record N" padded to vary), wait
 * until they are durable. */
static void append(struct kc_journal *j, uint64_t first, uint64_t last)
{
	uint8_t payload[512];
	uint64_t deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();

	for (uint64_t n = first; n <= last; n++) {
		struct kc_jrec h = record(n, payload);

		while (!kc_journal_room(j, kc_jrec_size(h.payload_len), false)) {
			kc_journal_publish(j);
			assert_true(rte_get_timer_cycles() < deadline);
			rte_delay_us_sleep(100);
		}
		assert_int_equal(kc_journal_append(j, &h, payload), n);
		if (n % 16 == 0)
			kc_journal_publish(j);
	}
	kc_journal_publish(j);
	while (kc_journal_durable_seq(j) < last) {
		assert_true(rte_get_timer_cycles() < deadline);
		rte_delay_us_sleep(100);
	}
	assert_int_equal(kc_journal_durable_seq(j), last);
	assert_int_equal(kc_journal_state(j), KC_JOURNAL_OK);
}

static void test_crc32c(void **state)
{
	(void)state;
	/* The check value of CRC-32C (Castagnoli). */
	assert_int_equal(kc_crc32c("123456789", 9), 0xe3069283u);
	assert_int_equal(kc_crc32c("", 0), 0);
	/* The same value as DPDK's rte_hash_crc (CRC32C without the final
	 * inversion) for every length 0..300 at every alignment. */
	{
		uint8_t b[320];

		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(i * 131u + 7u);
		for (size_t off = 0; off < 8; off++)
			for (size_t len = 0; len <= 300; len++)
				assert_int_equal(kc_crc32c(b + off, len),
						 ~rte_hash_crc(b + off,
							       (uint32_t)len,
							       0xffffffffu));
	}
}

static void test_record_codec(void **state)
{
	uint8_t buf[256];
	struct kc_jrec h = {
		.payload_len = 5, .seq = 42, .type = KC_JREC_REPLY,
		.op = KC_OP_FETCH, .status = 3, .client_id = 7,
		.time_ns = 1717243200000000001ull, .client_ip = 0x0a4d0001,
		.client_port = 40000, .shard = 2, .ref = 41,
	};
	struct kc_jrec d;

	(void)state;
	for (unsigned int i = 0; i < KC_MSG_ID_LEN; i++)
		h.msg_id[i] = (uint8_t)i;
	assert_int_equal(kc_jrec_size(5), 72);
	assert_int_equal(kc_jrec_size(0), 64);
	memset(buf, 0xee, sizeof(buf));
	kc_jrec_encode(buf, &h, "hello");
	/* Padding is zeroed. */
	assert_int_equal(buf[69], 0);
	assert_int_equal(buf[71], 0);
	assert_int_equal(kc_jrec_decode(buf, 72, &d), KC_JREC_OK);
	assert_int_equal(d.seq, 42);
	assert_int_equal(d.type, KC_JREC_REPLY);
	assert_int_equal(d.op, KC_OP_FETCH);
	assert_int_equal(d.status, 3);
	assert_int_equal(d.client_id, 7);
	assert_int_equal(d.time_ns, h.time_ns);
	assert_int_equal(d.client_ip, h.client_ip);
	assert_int_equal(d.client_port, 40000);
	assert_int_equal(d.shard, 2);
	assert_int_equal(d.ref, 41);
	assert_memory_equal(d.msg_id, h.msg_id, KC_MSG_ID_LEN);
	/* Little-endian on disk. */
	assert_int_equal(buf[8], 42);
	assert_int_equal(buf[4], 5);
	/* Every single flipped bit of header or payload is caught. */
	for (int i = 0; i < 69; i++)
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(kc_jrec_decode(buf, 72, &d),
					     KC_JREC_OK);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	assert_int_equal(kc_jrec_decode(buf, 71, &d), KC_JREC_SHORT);
	assert_int_equal(kc_jrec_decode(buf, 30, &d), KC_JREC_SHORT);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(kc_jrec_decode(buf, 72, &d), KC_JREC_ZERO);
	assert_int_equal(kc_jrec_decode(buf, 30, &d), KC_JREC_ZERO);
	h.payload_len = KC_JREC_PAYLOAD_MAX + 1;
	kc_jrec_encode(buf, &(struct kc_jrec){ .payload_len = 0,
					       .type = KC_JREC_REQUEST }, "");
	buf[4] = 0xff;
	buf[5] = 0xff;
	assert_int_equal(kc_jrec_decode(buf, sizeof(buf), &d),
			 KC_JREC_BAD_LENGTH);
	kc_jrec_encode(buf, &(struct kc_jrec){ .type = 9 }, "");
	assert_int_equal(kc_jrec_decode(buf, 64, &d), KC_JREC_BAD_TYPE);
}

static void test_segment_names(void **state)
{
	char p[128];
	uint64_t i;

	(void)state;
	assert_int_equal(kc_jseg_path(p, sizeof(p), "/j/shard-00", 0x1f), 0);
	assert_string_equal(p, "/j/shard-00/000000000000001f.kcj");
	assert_true(kc_jseg_name_parse("000000000000001f.kcj", &i));
	assert_int_equal(i, 0x1f);
	assert_false(kc_jseg_name_parse("000000000000001F.kcj", &i));
	assert_false(kc_jseg_name_parse("00000000000001f.kcj", &i));
	assert_false(kc_jseg_name_parse("000000000000001f.kcj~", &i));
	assert_int_equal(kc_jshard_path(p, sizeof(p), "/j", 3), 0);
	assert_string_equal(p, "/j/shard-03");
}

static void test_write_read_and_reopen(void **state)
{
	struct kc_jreader_end end;
	struct kc_journal_stats st;
	struct kc_journal *j;

	(void)state;
	j = open_journal(KC_JSEG_BYTES_MIN);
	append(j, 1, 1000);
	kc_journal_stats(j, &st);
	assert_true(st.groups >= 1);
	assert_true(st.fsyncs >= st.groups);
	assert_true(st.group_records_max <= 64);
	kc_journal_close(j);
	assert_int_equal(read_all(&end, 0), 1000);
	assert_int_equal(end.how, KC_JEND_CLEAN);
	assert_int_equal(end.next_seq, 1001);

	/* Reopen and go on from 1001. */
	j = open_journal(KC_JSEG_BYTES_MIN);
	append(j, 1001, 1500);
	kc_journal_close(j);
	assert_int_equal(read_all(&end, 0), 1500);
	assert_int_equal(end.how, KC_JEND_CLEAN);
}

static void test_roll_over(void **state)
{
	struct kc_jreader_end end;
	struct kc_journal_stats st;
	struct kc_journal *j;

	(void)state;
	/* About 330 bytes a record: 20,000 fill several 1 MiB segments. */
	j = open_journal(KC_JSEG_BYTES_MIN);
	append(j, 1, 20000);
	kc_journal_stats(j, &st);
	assert_true(st.current_segment >= 3);
	kc_journal_close(j);
	assert_int_equal(read_all(&end, 0), 20000);
	assert_int_equal(end.how, KC_JEND_CLEAN);
	/* The writer had made a spare segment, which holds no record. */
	assert_int_equal(end.segments, st.current_segment + 2);
}

/* Segment file of the log's last record, and that record's extent. */
static void last_record(char *path, size_t len, uint64_t *off,
			uint64_t *size, uint32_t *payload_len)
{
	char sd[256], err[256];
	struct kc_jreader *r;
	struct kc_jrec h;
	const uint8_t *p;
	struct kc_jpos pos = { 0 }, last = { 0 };

	shard_dir(sd, sizeof(sd));
	r = kc_jreader_open(sd, err, sizeof(err));
	assert_non_null(r);
	while (kc_jreader_next(r, &h, &p, &pos)) {
		last = pos;
		*size = kc_jrec_size(h.payload_len);
		*payload_len = h.payload_len;
	}
	kc_jreader_close(r);
	kc_jseg_path(path, len, sd, last.segment);
	*off = last.offset;
}

static void pwrite_byte_range(const char *path, uint64_t off,
			      const uint8_t *data, size_t n)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static void pread_range(const char *path, uint64_t off, uint8_t *data,
			size_t n)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, data, n, (off_t)off), (ssize_t)n);
	close(fd);
}

/*
 * A write cut at every byte of the last record (those the CRC covers; the
 * padding after them is not part of the record), with zeros or with
 * garbage after the cut: each recovers to the record before it.
 */
static void test_cut_at_every_byte(void **state)
{
	uint8_t saved[1024], junk[1024];
	struct kc_jreader_end end;
	char path[256];
	uint64_t off, size;
	uint32_t plen;
	struct kc_journal *j;

	(void)state;
	j = open_journal(KC_JSEG_BYTES_MIN);
	append(j, 1, 299); /* the last one has 299 bytes of filler */
	kc_journal_close(j);
	last_record(path, sizeof(path), &off, &size, &plen);
	assert_int_equal(plen, 10 + 299);
	assert_true(size <= sizeof(saved));
	pread_range(path, off, saved, size);
	memset(junk, 0xa5, sizeof(junk));

	for (uint64_t cut = 0; cut < KC_JREC_HDR_LEN + plen; cut++) {
		static const uint8_t zeros[1024];

		/* Zeros after the cut (the write never reached them). */
		pwrite_byte_range(path, off + cut, zeros, size - cut);
		assert_int_equal(read_all(&end, 0), 298);
		assert_int_equal(end.pos.offset, off);
		assert_int_equal(end.next_seq, 299);
		assert_int_equal(end.how, cut == 0 ? KC_JEND_CLEAN :
						    KC_JEND_TORN);
		/* Garbage after the cut (sectors of something else). */
		pwrite_byte_range(path, off + cut, junk, size - cut);
		assert_int_equal(read_all(&end, 0), 298);
		assert_int_equal(end.how, KC_JEND_TORN);
		assert_int_equal(end.pos.offset, off);
		assert_int_equal(end.torn_bytes, size);
		pwrite_byte_range(path, off, saved, size);
	}
	assert_int_equal(read_all(&end, 0), 299);

	/* Recovery: cut in the middle, reopen, append: the new record 299
	 * follows 298 and nothing of the torn one is left. */
	pwrite_byte_range(path, off + size / 2, junk, size - size / 2);
	j = open_journal(KC_JSEG_BYTES_MIN);
	append(j, 299, 310);
	kc_journal_close(j);
	assert_int_equal(read_all(&end, 0), 310);
	assert_int_equal(end.how, KC_JEND_CLEAN);
}

static void test_corrupt_in_the_middle(void **state)
{
	struct kc_jreader_end end;
	char sd[256], path[256], err[256];
	struct kc_journal_cfg c = cfg_of(KC_JSEG_BYTES_MIN);
	struct kc_jreader *r;
	struct kc_jrec h;
	const uint8_t *p;
	struct kc_jpos pos, victim = { 0 };
	struct kc_journal *j;
	uint8_t b;

	(void)state;
	j = open_journal(KC_JSEG_BYTES_MIN);
	append(j, 1, 20000);
	kc_journal_close(j);
	/* Flip a byte of record 1000, in the first segment. */
	shard_dir(sd, sizeof(sd));
	r = kc_jreader_open(sd, err, sizeof(err));
	while (kc_jreader_next(r, &h, &p, &pos))
		if (h.seq == 1000)
			victim = pos;
	kc_jreader_close(r);
	kc_jseg_path(path, sizeof(path), sd, victim.segment);
	pread_range(path, victim.offset + 70, &b, 1);
	b ^= 0x10;
	pwrite_byte_range(path, victim.offset + 70, &b, 1);

	assert_int_equal(read_all(&end, 0), 999);
	assert_int_equal(end.how, KC_JEND_CORRUPT);
	assert_int_equal(end.pos.segment, victim.segment);
	assert_int_equal(end.pos.offset, victim.offset);
	assert_int_equal(end.why, KC_JREC_BAD_CRC);
	assert_non_null(strstr(end.detail, "CRC32C mismatch"));
	/* The writer refuses to append after corruption. */
	assert_null(kc_journal_open(&c, &end, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot be appended to"));
}

/* In the last segment, bad bytes followed by more valid data than one
 * unsynced write could leave are corruption too. */
static void test_corrupt_in_the_last_segment(void **state)
{
	struct kc_jreader_end end;
	char path[256];
	uint64_t off, size;
	uint32_t plen;
	struct kc_journal *j;
	uint8_t b = 0x5a;

	(void)state;
	j = open_journal(KC_JSEG_BYTES_MIN);
	append(j, 1, 2000);
	kc_journal_close(j);
	last_record(path, sizeof(path), &off, &size, &plen);
	/* A byte early in the segment (record 2 or so). */
	pwrite_byte_range(path, 200, &b, 1);
	read_all(&end, 64 * 1024);
	assert_int_equal(end.how, KC_JEND_CORRUPT);
	/* With no limit it reads as a torn write (kcq warns about both). */
	read_all(&end, 0);
	assert_int_equal(end.how, KC_JEND_TORN);
}

/* The header of the newest segment holding records is damaged: its
 * records must not be dropped as if it were an unfinished spare. */
static void test_damaged_newest_segment_header(void **state)
{
	struct kc_jreader_end end;
	struct kc_journal_cfg c = cfg_of(KC_JSEG_BYTES_MIN);
	char sd[256], path[256], err[256];
	struct kc_journal_stats st;
	struct kc_journal *j;
	uint8_t b;

	(void)state;
	j = open_journal(KC_JSEG_BYTES_MIN);
	append(j, 1, 5000); /* into segment 1 at least */
	kc_journal_stats(j, &st);
	kc_journal_close(j);
	assert_true(st.current_segment >= 1);
	shard_dir(sd, sizeof(sd));
	kc_jseg_path(path, sizeof(path), sd, st.current_segment);
	pread_range(path, 20, &b, 1);
	b ^= 0xff;
	pwrite_byte_range(path, 20, &b, 1);
	read_all(&end, 0);
	assert_int_equal(end.how, KC_JEND_CORRUPT);
	assert_null(kc_journal_open(&c, &end, err, sizeof(err)));
}

/* A lone segment of a format this build does not know is refused, never
 * taken for an unfinished one and remade. */
static void test_unknown_version_not_wiped(void **state)
{
	struct kc_jreader_end end;
	struct kc_journal_cfg c = cfg_of(KC_JSEG_BYTES_MIN);
	char sd[256], path[256], err[256];
	uint8_t hdr[KC_JREC_HDR_LEN + KC_JSEG_PAYLOAD_LEN];
	uint8_t payload[KC_JSEG_PAYLOAD_LEN];
	struct kc_jseg sg = { .magic = KC_JSEG_MAGIC, .version = 2,
			      .segment_bytes = KC_JSEG_BYTES_MIN };
	struct kc_jrec h = { .type = KC_JREC_SEGMENT,
			     .payload_len = KC_JSEG_PAYLOAD_LEN };
	int fd;

	(void)state;
	shard_dir(sd, sizeof(sd));
	assert_int_equal(mkdir(sd, 0700), 0);
	kc_jseg_path(path, sizeof(path), sd, 0);
	kc_jseg_encode(payload, &sg);
	kc_jrec_encode(hdr, &h, payload);
	fd = open(path, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, KC_JSEG_BYTES_MIN), 0);
	assert_int_equal(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	close(fd);
	read_all(&end, 0);
	assert_int_equal(end.how, KC_JEND_BAD_SEGMENT);
	assert_non_null(strstr(end.detail, "format version 2"));
	assert_null(kc_journal_open(&c, &end, err, sizeof(err)));
	assert_int_equal(access(path, F_OK), 0);

	/* A header that was never written, and nothing after it: an
	 * interrupted creation, which the writer makes again. */
	fd = open(path, O_RDWR);
	memset(hdr, 0, sizeof(hdr));
	assert_int_equal(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	close(fd);
	read_all(&end, 0);
	assert_int_equal(end.how, KC_JEND_TORN);
	struct kc_journal *j = kc_journal_open(&c, &end, err, sizeof(err));

	assert_non_null(j);
	kc_journal_close(j);
	read_all(&end, 0);
	assert_int_equal(end.how, KC_JEND_CLEAN);
}

static uint32_t count_segments(void)
{
	char sd[256], err[256];
	struct kc_jreader *r;
	uint32_t n;

	shard_dir(sd, sizeof(sd));
	r = kc_jreader_open(sd, err, sizeof(err));
	assert_non_null(r);
	n = kc_jreader_segments(r);
	kc_jreader_close(r);
	return n;
}

/* Retention deletes the oldest segments once the lcore no longer needs
 * their records and the shard is over its size, never what is needed. */
static void test_retention(void **state)
{
	struct kc_journal_cfg c = cfg_of(KC_JSEG_BYTES_MIN);
	struct kc_jreader_end end;
	struct kc_journal_stats st;
	char err[256];
	struct kc_journal *j;

	(void)state;
	c.retention_bytes = 2u << 20;
	c.keep_age_s = 0;
	read_all(&end, 0);
	j = kc_journal_open(&c, &end, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(kc_journal_start(j), 0);
	append(j, 1, 20000);
	/* Nothing is known to be unneeded yet: nothing goes. */
	rte_delay_us_sleep(300 * 1000);
	kc_journal_stats(j, &st);
	assert_int_equal(st.segments_deleted, 0);
	/* Records below 15000 are not needed any more. */
	kc_journal_keep_from(j, 15000);
	for (int i = 0; i < 100 && st.segments_deleted == 0; i++) {
		rte_delay_us_sleep(20 * 1000);
		kc_journal_stats(j, &st);
	}
	assert_true(st.segments_deleted >= 1);
	kc_journal_close(j);
	/* What is left reads from where retention cut, up to 20000, and
	 * still holds record 15000. */
	{
		char sd[256];
		struct kc_jreader *r;
		struct kc_jrec h;
		const uint8_t *p;
		struct kc_jpos pos;
		uint64_t first = 0, last = 0;

		shard_dir(sd, sizeof(sd));
		r = kc_jreader_open(sd, err, sizeof(err));
		while (kc_jreader_next(r, &h, &p, &pos)) {
			if (first == 0)
				first = h.seq;
			last = h.seq;
		}
		assert_int_equal(kc_jreader_end(r)->how, KC_JEND_CLEAN);
		kc_jreader_close(r);
		assert_true(first > 1);
		assert_true(first <= 15000);
		assert_int_equal(last, 20000);
	}
	assert_true(count_segments() < 6);
}

static void test_back_pressure(void **state)
{
	struct kc_journal_cfg c = cfg_of(KC_JSEG_BYTES_MIN);
	struct kc_jreader_end end;
	struct kc_jrec h = { .type = KC_JREC_REQUEST, .payload_len = 1000 };
	uint8_t payload[1000] = { 0 };
	char err[256];
	struct kc_journal *j;
	uint32_t n = 0;

	(void)state;
	read_all(&end, 0);
	c.buffer_bytes = 64 * 1024;
	j = kc_journal_open(&c, &end, err, sizeof(err));
	assert_non_null(j);
	/* No I/O thread: the buffer fills and room says no. */
	while (kc_journal_room(j, kc_jrec_size(1000), false)) {
		kc_journal_append(j, &h, payload);
		n++;
		assert_true(n < 1000);
	}
	assert_true(n >= 40);
	assert_true(n <= 64);
	kc_journal_publish(j);
	/* Start writing: room comes back as groups are written. */
	assert_int_equal(kc_journal_start(j), 0);
	for (int i = 0; i < 10000 &&
	     !kc_journal_room(j, kc_jrec_size(1000), false);
	     i++)
		rte_delay_us_sleep(100);
	assert_true(kc_journal_room(j, kc_jrec_size(1000), false));
	kc_journal_close(j);
	assert_null(kc_journal_open(&(struct kc_journal_cfg){
		.dir = dir, .buffer_bytes = 1000 }, &end, err, sizeof(err)));
	assert_non_null(strstr(err, "power of two"));
}

/* ---- the reading rules (kc_jwalk) ------------------------------------- */

/* Append one record: a KCP message of op/type/status for REQUEST and
 * REPLY (ref: its REQUEST), the bytes given for LEDGER and SNAPSHOT. */
static uint64_t put(struct kc_journal *j, uint8_t type, uint8_t op,
		    uint16_t status, uint64_t ref, const void *bytes,
		    uint32_t len)
{
	uint8_t payload[KC_JREC_PAYLOAD_MAX];
	struct kc_jrec h = {
		.type = type, .op = op, .status = status, .ref = ref,
		.client_id = 1, .payload_len = len,
	};

	if (type == KC_JREC_REQUEST || type == KC_JREC_REPLY) {
		struct kc_hdr kh = {
			.magic = KC_PROTO_MAGIC, .version = KC_PROTO_VERSION,
			.type = type == KC_JREC_REQUEST ? KC_TYPE_REQUEST :
							  KC_TYPE_REPLY,
			.op = op, .status = status, .client_id = 1,
			.payload_len = len,
		};

		kc_msg_id_make(kh.msg_id, 1717243200000ull, 1, ref);
		kc_hdr_encode(payload, &kh);
		memcpy(payload + KC_HDR_LEN, bytes, len);
		h.payload_len = KC_HDR_LEN + len;
	} else {
		memcpy(payload, bytes, len);
	}
	assert_true(kc_journal_room(j, kc_jrec_size(h.payload_len), false));
	return kc_journal_append(j, &h, payload);
}

/* A SNAPSHOT part: part of parts of a total_len-byte snapshot, n bytes. */
static uint64_t put_part(struct kc_journal *j, uint64_t ref, uint32_t part,
			 uint32_t parts, uint32_t total_len, uint8_t fill,
			 uint32_t n)
{
	uint8_t b[KC_JSNAP_HDR_LEN + 1024];
	struct kc_jsnap sh = {
		.part = part, .parts = parts, .total_len = total_len,
		.kind = KC_JSNAP_LEDGER,
	};

	assert_true(n <= 1024);
	kc_jsnap_encode(b, &sh);
	memset(b + KC_JSNAP_HDR_LEN, fill, n);
	return put(j, KC_JREC_SNAPSHOT, 0, 0, ref, b, KC_JSNAP_HDR_LEN + n);
}

static void test_reading_rules(void **state)
{
	static const uint8_t hop[24] = { 1 };
	struct kc_journal *j = open_journal(1u << 20);
	struct kc_jreader *r;
	struct kc_jwalk *w;
	struct kc_jitem *it = malloc(sizeof(*it));
	struct kc_jpos upos;
	uint64_t s, s0, useq;
	char sd[256], err[256];

	(void)state;
	assert_non_null(it);
	/* 1: a pair. */
	s = put(j, KC_JREC_REQUEST, KC_OP_PUBLISH, 0, 0, "\x01q" "m", 3);
	assert_int_equal(put(j, KC_JREC_REPLY, KC_OP_PUBLISH, 0, s, "12345678",
			     8), s + 1);
	/* 3: a ledger mutation: its pair takes its LEDGER record along. */
	s = put(j, KC_JREC_REQUEST, KC_OP_TRANSFER, 0, 0, "t", 1);
	put(j, KC_JREC_REPLY, KC_OP_TRANSFER, 0, s, "87654321", 8);
	assert_int_equal(put(j, KC_JREC_LEDGER, KC_OP_TRANSFER, 0, s, hop,
			     sizeof(hop)), kc_jrec_hop_seq(s));
	/* 6: a refused one has none. */
	s = put(j, KC_JREC_REQUEST, KC_OP_TRANSFER, 0, 0, "t", 1);
	put(j, KC_JREC_REPLY, KC_OP_TRANSFER, KC_STATUS_NOT_OWNER, s, "no", 2);
	/* 8: a snapshot in two parts. */
	s0 = put_part(j, 0, 0, 2, 700, 'a', 500);
	put_part(j, s0, 1, 2, 700, 'b', 200);
	/* 10: its LEDGER record is missing: a problem, then the PING after
	 * it is read as usual. */
	s = put(j, KC_JREC_REQUEST, KC_OP_MINT, 0, 0, "m", 1);
	put(j, KC_JREC_REPLY, KC_OP_MINT, 0, s, "123456789012", 12);
	s = put(j, KC_JREC_REQUEST, KC_OP_PING, 0, 0, "p", 1);
	put(j, KC_JREC_REPLY, KC_OP_PING, 0, s, "p", 1);
	/* 14: an interrupted snapshot is left out; the next one counts. */
	s0 = put_part(j, 0, 0, 3, 3000, 'x', 1000);
	put_part(j, s0, 1, 3, 3000, 'y', 1000);
	s0 = put_part(j, 0, 0, 1, 10, 'z', 10);
	/* 17: parts that claim a larger total than their part 0: refused,
	 * not copied past the first part's room (kcq once overran it). */
	s0 = put_part(j, 0, 0, 3, 10, 'c', 8);
	put_part(j, s0, 1, 3, 1000000, 'd', 1000);
	/* 19: a REPLY that answers another REQUEST; a LEDGER record that
	 * follows nothing; a snapshot larger than the walk takes. */
	s = put(j, KC_JREC_REQUEST, KC_OP_PING, 0, 0, "p", 1);
	put(j, KC_JREC_REPLY, KC_OP_PING, 0, s - 1, "p", 1);
	put(j, KC_JREC_LEDGER, KC_OP_BURN, 0, 3, hop, sizeof(hop));
	put_part(j, 0, 0, 1, 5000, 'q', 1000);
	/* 23: unanswered at the tail. */
	s = put(j, KC_JREC_REQUEST, KC_OP_PING, 0, 0, "p", 1);
	kc_journal_publish(j);
	while (kc_journal_durable_seq(j) < s)
		rte_delay_us_sleep(100);
	kc_journal_close(j);

	shard_dir(sd, sizeof(sd));
	r = kc_jreader_open(sd, err, sizeof(err));
	assert_non_null(r);
	w = kc_jwalk_open(r, 4096);
	assert_non_null(w);
	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_PAIR);
	assert_int_equal(it->req.h.seq, 1);
	assert_int_equal(it->rep.h.seq, 2);
	assert_false(it->has_hop);
	assert_memory_equal(it->req.p + KC_HDR_LEN, "\x01qm", 3);
	assert_int_equal(kc_jwalk_first_seq(w), 1);

	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_PAIR);
	assert_int_equal(it->req.h.seq, 3);
	assert_true(it->has_hop);
	assert_int_equal(it->hop.h.seq, 5);
	assert_memory_equal(it->hop.p, hop, sizeof(hop));
	assert_memory_equal(it->rep.p + KC_HDR_LEN, "87654321", 8);

	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_PAIR);
	assert_int_equal(it->rep.h.status, KC_STATUS_NOT_OWNER);
	assert_false(it->has_hop);

	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_SNAPSHOT);
	assert_int_equal(it->snap_seq0, 8);
	assert_int_equal(it->snap_seq_last, 9);
	assert_int_equal(it->snap_len, 700);
	assert_int_equal(it->snap[0], 'a');
	assert_int_equal(it->snap[499], 'a');
	assert_int_equal(it->snap[500], 'b');

	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_PROBLEM);
	assert_int_equal(it->rec.h.seq, 12);
	assert_non_null(strstr(it->text, "LEDGER record of the ledger "
				"REQUEST at seq 10 is missing"));
	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_PAIR);
	assert_int_equal(it->req.h.seq, 12);

	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_SNAPSHOT);
	assert_int_equal(it->snap_seq0, 16);
	assert_int_equal(it->snap_len, 10);

	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_PROBLEM);
	assert_int_equal(it->rec.h.seq, 18);
	assert_non_null(strstr(it->text, "longer than it says"));

	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_PROBLEM);
	assert_int_equal(it->rec.h.seq, 20);
	assert_non_null(strstr(it->text, "not the REQUEST before it"));
	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_PROBLEM);
	assert_int_equal(it->rec.h.seq, 21);
	assert_non_null(strstr(it->text, "follows no successful"));
	assert_true(kc_jwalk_next(w, it));
	assert_int_equal(it->kind, KC_JITEM_PROBLEM);
	assert_int_equal(it->rec.h.seq, 22);
	assert_non_null(strstr(it->text, "more than the 4096"));

	assert_false(kc_jwalk_next(w, it));
	assert_true(kc_jwalk_unanswered(w, &upos, &useq));
	assert_int_equal(useq, 23);
	assert_int_equal(kc_jreader_end(r)->how, KC_JEND_CLEAN);
	kc_jwalk_close(w);
	kc_jreader_close(r);
	free(it);
}

/*
 * What part 0 of a snapshot claims costs no memory before the parts are
 * there (tests/fuzz/fuzz_journal: kcq, whose walker takes snapshots up to
 * 4 GiB, once allocated 2.5 GB for a damaged part 0 in a 5 KB segment), and
 * a claim its parts cannot hold is a problem of its own.
 */
static void test_snapshot_claims(void **state)
{
	struct kc_journal *j = open_journal(1u << 20);
	const uint32_t big = 3u << 30; /* 3 GiB */
	struct kc_jreader *r;
	struct kc_jwalk *w;
	struct kc_jitem *it = malloc(sizeof(*it));
	size_t mapped0 = mallinfo2().hblkhd;
	uint64_t s;
	char sd[256], err[256];
	int n = 0;

	(void)state;
	assert_non_null(it);
	/* 1: 3 GiB claimed, in as many parts as that takes; one is there. */
	put_part(j, 0, 0, big / KC_JSNAP_CHUNK_MAX + 1, big, 'a', 1000);
	/* 2: a pair interrupts it. */
	s = put(j, KC_JREC_REQUEST, KC_OP_PING, 0, 0, "p", 1);
	put(j, KC_JREC_REPLY, KC_OP_PING, 0, s, "p", 1);
	/* 4: 100,000 bytes claimed in one part. */
	put_part(j, 0, 0, 1, 100000, 'b', 1000);
	kc_journal_publish(j);
	while (kc_journal_durable_seq(j) < 4)
		rte_delay_us_sleep(100);
	kc_journal_close(j);

	shard_dir(sd, sizeof(sd));
	r = kc_jreader_open(sd, err, sizeof(err));
	assert_non_null(r);
	w = kc_jwalk_open(r, UINT32_MAX); /* as kcq */
	assert_non_null(w);
	while (kc_jwalk_next(w, it)) {
		n++;
		/* Never near 3 GiB of mapped memory. */
		assert_true(mallinfo2().hblkhd - mapped0 < (64u << 20));
		if (it->kind == KC_JITEM_PAIR) {
			assert_int_equal(it->req.h.seq, 2);
		} else {
			assert_int_equal(it->kind, KC_JITEM_PROBLEM);
			assert_int_equal(it->rec.h.seq, 4);
			assert_non_null(strstr(it->text, "cannot hold it"));
		}
	}
	assert_int_equal(n, 2);
	kc_jwalk_close(w);
	kc_jreader_close(r);
	free(it);
}

/* Interrupted writes, syncs and opens are made again, short writes
 * continued: every record is there, nothing failed. */
static void test_write_faults_retried(void **state)
{
	struct kc_jreader_end end;
	struct kc_journal *j;

	(void)state;
	fault.eintr_open = 2;
	j = open_journal(1u << 20);
	assert_int_equal(fault.eintr_open, 0);
	fault.eintr_pwritev = 3;
	fault.eintr_fdatasync = 2;
	fault.short_bytes = 7;
	fault.short_calls = 200;
	append(j, 1, 300);
	assert_int_equal(fault.eintr_pwritev, 0);
	assert_int_equal(fault.eintr_fdatasync, 0);
	assert_int_equal(fault.short_calls, 0);
	kc_journal_close(j);
	memset(&fault, 0, sizeof(fault));
	fault.fail_after = -1;
	assert_int_equal(read_all(&end, 0), 300);
	assert_int_equal(end.how, KC_JEND_CLEAN);
}

/* Append first..last and wait for the journal to fail: what was durable
 * before stays the durable seq. */
static void append_until_failed(struct kc_journal *j, uint64_t first,
				uint64_t last, uint64_t durable)
{
	uint64_t deadline = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	uint8_t payload[512];

	for (uint64_t n = first; n <= last; n++) {
		struct kc_jrec h = record(n, payload);

		if (!kc_journal_room(j, kc_jrec_size(h.payload_len), false))
			break;
		kc_journal_append(j, &h, payload);
	}
	kc_journal_publish(j);
	while (kc_journal_state(j) != KC_JOURNAL_FAILED)
		assert_true(rte_get_timer_cycles() < deadline);
	assert_int_equal(kc_journal_durable_seq(j), durable);
}

/*
 * A write that fails is final (EIO), also when it failed after writing
 * part of a record (ENOSPC mid-record) or wrote nothing at all (a 0
 * return once looped for ever): the journal is FAILED, the durable seq
 * stays where it was, and the next start reads every durable record, cuts
 * the torn one and appends after it.
 */
static void test_write_failures_final(void **state)
{
	static const struct { int err; size_t partial; bool zero; } how[] = {
		{ EIO, 0, false }, { ENOSPC, 100, false }, { 0, 0, true },
	};
	struct kc_jreader_end end;
	struct kc_journal *j;
	uint64_t durable = 0, n;

	(void)state;
	for (unsigned int i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
		j = open_journal(1u << 20);
		append(j, durable + 1, durable + 20);
		durable += 20;
		fault.fail_after = 0;
		fault.fail_errno = how[i].err;
		fault.fail_partial = how[i].partial;
		fault.zero_write = how[i].zero;
		append_until_failed(j, durable + 1, durable + 10, durable);
		kc_journal_close(j);
		memset(&fault, 0, sizeof(fault));
		fault.fail_after = -1;
		/* The next start: the durable records; what the failed
		 * write left whole (never acknowledged) may follow; a torn
		 * record is cut. */
		n = read_all(&end, 1u << 20);
		assert_true(n >= durable && n <= durable + 10);
		durable = n;
	}
	j = open_journal(1u << 20);
	append(j, durable + 1, durable + 5);
	kc_journal_close(j);
	assert_int_equal(read_all(&end, 0), durable + 5);
}

/* A preallocation interrupted by a signal is tried again: the journal
 * opens (it once failed "cannot prepare segment: Interrupted system
 * call"). */
static void test_fallocate_eintr(void **state)
{
	struct kc_journal *j;

	(void)state;
	fallocate_eintr = 3;
	j = open_journal(1u << 20);
	assert_int_equal(fallocate_eintr, 0);
	append(j, 1, 10);
	kc_journal_close(j);
}

/* A segment is a regular file, opened once and mapped as long as it is
 * now: a FIFO named like one (which hung recovery and kcq) or a link is
 * refused, and a segment that shrank after the directory was read is read
 * to its new end, without SIGBUS. */
static void test_segment_files(void **state)
{
	char sd[256], seg[300], err[256];
	struct kc_jreader_end end;
	struct kc_jreader *r;
	struct kc_journal *j;
	struct kc_jrec h;
	const uint8_t *p;
	struct kc_jpos pos;
	uint64_t n = 0;

	(void)state;
	j = open_journal(1u << 20);
	append(j, 1, 200);
	kc_journal_close(j);
	shard_dir(sd, sizeof(sd));
	r = kc_jreader_open(sd, err, sizeof(err));
	assert_non_null(r);
	kc_jseg_path(seg, sizeof(seg), sd, 0);
	assert_int_equal(truncate(seg, 4096), 0);
	while (kc_jreader_next(r, &h, &p, &pos))
		n++;
	assert_true(n > 0);
	assert_true(n < 200);
	end = *kc_jreader_end(r);
	assert_true(end.pos.offset <= 4096);
	kc_jreader_close(r);

	/* A FIFO, then a link, named like the next segment. */
	kc_jseg_path(seg, sizeof(seg), sd, 7);
	assert_int_equal(mkfifo(seg, 0600), 0);
	assert_null(kc_jreader_open(sd, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	unlink(seg);
	assert_int_equal(symlink("/etc/hostname", seg), 0);
	assert_null(kc_jreader_open(sd, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	unlink(seg);
}

/* One appliance per journal: the lock, its holder, its release. */
static void test_journal_lock(void **state)
{
	char err[512], want[64];
	int fd, fd2;

	(void)state;
	assert_int_equal(kc_journal_lock_holder(dir), 0);
	fd = kc_journal_lock(dir, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(kc_journal_lock_holder(dir), (long)getpid());
	/* Another open of it (another appliance) is refused, naming us. */
	fd2 = kc_journal_lock(dir, err, sizeof(err));
	assert_int_equal(fd2, -EBUSY);
	snprintf(want, sizeof(want), "in use by kingcobra PID %ld",
		 (long)getpid());
	assert_non_null(strstr(err, want));
	/* Released with the process (here: its descriptor). */
	close(fd);
	assert_int_equal(kc_journal_lock_holder(dir), 0);
	fd = kc_journal_lock(dir, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
}

/* ---- cluster mode ---------------------------------------------------- */

/* A log standing in for Raft: the groups handed over, in order; refuses
 * the first few to show they are offered again. */
#define REPL_MAX 4096u
static struct {
	uint8_t *p[REPL_MAX];
	uint32_t len[REPL_MAX];
	uint64_t first[REPL_MAX], last[REPL_MAX];
	uint32_t nb;
	uint32_t refuse;
} repl_log;

static int fake_replicate(void *arg, uint16_t shard, uint64_t first_seq,
			  uint64_t last_seq, const struct iovec *iov,
			  int nb_iov, uint64_t bytes)
{
	uint32_t i = repl_log.nb, off = 0;

	(void)arg;
	assert_int_equal(shard, 0);
	if (repl_log.refuse != 0) {
		repl_log.refuse--;
		return -EAGAIN;
	}
	assert_true(i < REPL_MAX);
	repl_log.p[i] = malloc(bytes);
	for (int k = 0; k < nb_iov; k++) {
		memcpy(repl_log.p[i] + off, iov[k].iov_base, iov[k].iov_len);
		off += (uint32_t)iov[k].iov_len;
	}
	assert_int_equal(off, bytes);
	repl_log.len[i] = off;
	repl_log.first[i] = first_seq;
	repl_log.last[i] = last_seq;
	__atomic_store_n(&repl_log.nb, i + 1, __ATOMIC_RELEASE);
	return 0;
}

/*
 * The lcore's groups go to the log, not the file; the file gets what the
 * log commits, in order, and durable (the REPLYs' release) follows the
 * commits; the buffer is freed only once its records are in the file, so
 * the lcore is held back while nothing is committed. A batch that does
 * not go on from the file's last record fails the journal.
 */
static void test_cluster_mode(void **state)
{
	const struct kc_journal_repl repl = { .replicate = fake_replicate };
	struct kc_journal_cfg c = cfg_of(KC_JSEG_BYTES_MIN);
	struct kc_jreader_end end;
	uint8_t payload[512];
	struct kc_journal *j;
	uint64_t n = 1, deadline;
	uint32_t done = 0;
	char err[256];

	(void)state;
	memset(&repl_log, 0, sizeof(repl_log));
	repl_log.refuse = 3;
	c.repl = &repl;
	c.buffer_bytes = 1u << 16;	/* 64 KiB: the lcore must wait */
	read_all(&end, 0);
	j = kc_journal_open(&c, &end, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(kc_journal_start(j), 0);
	deadline = rte_get_timer_cycles() + 20 * rte_get_timer_hz();
	/* 3,000 records (about 1 MB) through a 64 KiB buffer: it fills,
	 * and empties only as the log commits. */
	while (n <= 3000) {
		struct kc_jrec h = record(n, payload);

		assert_true(rte_get_timer_cycles() < deadline);
		if (kc_journal_room(j, kc_jrec_size(h.payload_len), false)) {
			assert_int_equal(kc_journal_append(j, &h, payload), n);
			n++;
			if (n % 16 == 0)
				kc_journal_publish(j);
			continue;
		}
		kc_journal_publish(j);
		/* Nothing is durable beyond what was committed. */
		assert_true(kc_journal_durable_seq(j) <=
			    (done ? repl_log.last[done - 1] : 0));
		/* Commit one batch handed over, as the log would. */
		if (done < __atomic_load_n(&repl_log.nb, __ATOMIC_ACQUIRE)) {
			assert_int_equal(kc_journal_commit(j, repl_log.p[done],
				repl_log.len[done], repl_log.first[done],
				repl_log.last[done]), 0);
			done++;
		}
		rte_delay_us_sleep(50);
	}
	kc_journal_publish(j);
	while (kc_journal_durable_seq(j) < 3000) {
		assert_true(rte_get_timer_cycles() < deadline);
		if (done < __atomic_load_n(&repl_log.nb, __ATOMIC_ACQUIRE)) {
			assert_int_equal(kc_journal_commit(j, repl_log.p[done],
				repl_log.len[done], repl_log.first[done],
				repl_log.last[done]), 0);
			done++;
		}
		rte_delay_us_sleep(50);
	}
	assert_int_equal(kc_journal_state(j), KC_JOURNAL_OK);
	assert_true(done > 16);		/* many groups, not one */
	for (uint32_t i = 1; i < done; i++)
		assert_int_equal(repl_log.first[i], repl_log.last[i - 1] + 1);
	/* A batch that skips seqs: the journal fails, the file keeps what
	 * it had. */
	assert_int_equal(kc_journal_commit(j, repl_log.p[1], repl_log.len[1],
					   repl_log.first[1],
					   repl_log.last[1]), 0);
	for (int t = 0; t < 2000 && kc_journal_state(j) == KC_JOURNAL_OK; t++)
		rte_delay_us_sleep(1000);
	assert_int_equal(kc_journal_state(j), KC_JOURNAL_FAILED);
	kc_journal_close(j);
	for (uint32_t i = 0; i < repl_log.nb; i++)
		free(repl_log.p[i]);
	/* The file is what the log committed: every record, in order. */
	assert_int_equal(read_all(&end, 0), 3000);
	assert_int_equal(end.how, KC_JEND_CLEAN);
	/* One node: not in cluster mode. */
	j = open_journal(KC_JSEG_BYTES_MIN);
	assert_int_equal(kc_journal_commit(j, payload, 8, 3001, 3001), -EINVAL);
	kc_journal_close(j);
}

/*
 * A committed batch larger than a segment, while the spare segment cannot
 * be made for a while (the disk full, then room again): the I/O thread
 * waits for the spare and goes on where it stopped; the file ends up with
 * every record, in order, and the journal did not fail.
 */
static void test_cluster_commit_waits_for_spare(void **state)
{
	const struct kc_journal_repl repl = { .replicate = fake_replicate };
	struct kc_journal_cfg c = cfg_of(KC_JSEG_BYTES_MIN);
	struct kc_jreader_end end;
	uint8_t payload[512];
	struct kc_journal *j;
	uint64_t deadline;
	char err[256];
	uint8_t *batch = malloc(4u << 20);
	uint32_t len = 0;

	(void)state;
	assert_non_null(batch);
	memset(&repl_log, 0, sizeof(repl_log));
	c.repl = &repl;
	read_all(&end, 0);
	j = kc_journal_open(&c, &end, err, sizeof(err));
	assert_non_null(j);
	/* Every spare refused for the first few tries (200 ms apart). */
	fallocate_enospc = 3;
	assert_int_equal(kc_journal_start(j), 0);
	/* 5,000 records, about 1.6 MB: more than one 1 MiB segment. */
	for (uint64_t n = 1; n <= 5000; n++) {
		struct kc_jrec h = record(n, payload);

		h.seq = n;
		kc_jrec_encode(batch + len, &h, payload);
		len += kc_jrec_size(h.payload_len);
	}
	assert_int_equal(kc_journal_commit(j, batch, len, 1, 5000), 0);
	deadline = rte_get_timer_cycles() + 20 * rte_get_timer_hz();
	while (kc_journal_durable_seq(j) < 5000) {
		assert_true(rte_get_timer_cycles() < deadline);
		assert_int_not_equal(kc_journal_state(j), KC_JOURNAL_FAILED);
		rte_delay_us_sleep(1000);
	}
	assert_int_equal(fallocate_enospc, 0);
	kc_journal_close(j);
	free(batch);
	assert_int_equal(read_all(&end, 0), 5000);
	assert_int_equal(end.how, KC_JEND_CLEAN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_record_codec),
		cmocka_unit_test(test_segment_names),
		cmocka_unit_test_setup_teardown(test_write_read_and_reopen,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_mode, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_cluster_commit_waits_for_spare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roll_over, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cut_at_every_byte, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_in_the_middle,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_corrupt_in_the_last_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_damaged_newest_segment_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_version_not_wiped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_segment_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_faults_retried,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_failures_final,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallocate_eintr, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_journal_lock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_claims, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reading_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_back_pressure, setup,
						teardown),
	};

	kc_test_eal_init("test_journal");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
