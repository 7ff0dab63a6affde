/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kc-journal-bench: durable PUBLISH throughput and latency of the journal
 * at several group sizes, and the disk's own limits measured in the same
 * run on the same filesystem (perf/bench-journal runs it).
 *
 *   kc-journal-bench [EAL args] -- DIR SECONDS GROUP_MAX...
 *
 * Disk: sequential 1 MiB writes into a preallocated file with one
 * fdatasync at the end (bandwidth), and 4 KiB write + fdatasync pairs
 * (calls per second and their latency).
 *
 * Journal: the main lcore plays a worker: it appends a REQUEST and a REPLY
 * record shaped like a PUBLISH of a 64-byte message (what the data path
 * appends), as fast as the journal takes them, for SECONDS, with a bounded
 * number of publishes not yet durable (the held replies of a worker). Two
 * runs per group size: "saturated", 4096 in flight (journal.max_pending's
 * default), for the throughput; and "matched", GROUP_MAX in flight (two
 * groups: one being written, one filling), for the latency without a
 * queue in front of the disk. Latency is from append to the moment the
 * lcore sees its REPLY record durable. Prints one JSON object.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "kc_journal.h"
#include "kc_proto.h"

#define MSG_BYTES 64u
#define SEG_BYTES (64ull << 20)
#define BUF_BYTES (16ull << 20)

static double secs(uint64_t cycles)
{
	return (double)cycles / (double)rte_get_tsc_hz();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile of sorted samples, in microseconds. */
static double pct_us(const uint64_t *s, uint64_t n, double p)
{
	uint64_t i;

	if (n == 0)
		return 0;
	i = (uint64_t)(p * (double)(n - 1));
	return secs(s[i]) * 1e6;
}

static void rm_rf(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "kc-journal-bench: cannot remove %s\n", path);
}

/* ---- the disk ----------------------------------------------------------- */

static int disk_bench(const char *dir, double seconds, FILE *out)
{
	static uint8_t chunk[1 << 20];
	char path[512];
	uint64_t bytes = 1ull << 30, t0, written = 0, n = 0;
	uint64_t *lat, lat_cap = 1u << 20;
	int fd;

	memset(chunk, 0x5a, sizeof(chunk));
	snprintf(path, sizeof(path), "%s/disk-bench", dir);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 || posix_fallocate(fd, 0, (off_t)bytes) != 0) {
		fprintf(stderr, "kc-journal-bench: %s: cannot preallocate 1 GiB"
			"\n", path);
		return -1;
	}
	/* Sequential bandwidth: as much as SECONDS allows, then one sync. */
	t0 = rte_rdtsc();
	while (written < bytes && secs(rte_rdtsc() - t0) < seconds) {
		if (pwrite(fd, chunk, sizeof(chunk), (off_t)written) !=
		    (ssize_t)sizeof(chunk))
			return -1;
		written += sizeof(chunk);
	}
	if (fdatasync(fd) != 0)
		return -1;
	fprintf(out, "\"disk\":{\"seq_write_bytes\":%" PRIu64
		",\"seq_write_mb_s\":%.1f,", written,
		(double)written / 1e6 / secs(rte_rdtsc() - t0));

	/* fdatasync rate: 4 KiB written and synced, in a loop. */
	lat = malloc(lat_cap * sizeof(*lat));
	t0 = rte_rdtsc();
	while (n < lat_cap && secs(rte_rdtsc() - t0) < seconds) {
		uint64_t t = rte_rdtsc();

		if (pwrite(fd, chunk, 4096, (off_t)(n * 4096 % bytes)) != 4096 ||
		    fdatasync(fd) != 0)
			return -1;
		lat[n++] = rte_rdtsc() - t;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	fprintf(out, "\"fdatasync_per_s\":%.0f,\"fdatasync_us_p50\":%.1f,"
		"\"fdatasync_us_p99\":%.1f}", (double)n /
		secs(rte_rdtsc() - t0), pct_us(lat, n, 0.5),
		pct_us(lat, n, 0.99));
	free(lat);
	close(fd);
	unlink(path);
	return 0;
}

/* ---- the journal --------------------------------------------------------- */

static int journal_bench(const char *dir, double seconds, uint32_t inflight,
			 uint32_t group_max, FILE *out)
{
	struct kc_journal_cfg cfg = {
		.dir = dir, .shard = 0, .durability = KC_DURABILITY_BATCH,
		.segment_bytes = SEG_BYTES, .buffer_bytes = BUF_BYTES,
		.group_max = group_max, .group_wait_us = 0,
		.socket_id = (int)rte_socket_id(),
	};
	struct kc_jreader_end end = { .how = KC_JEND_CLEAN };
	uint8_t req[KC_HDR_LEN + 2 + 8 + MSG_BYTES];
	uint8_t rep[KC_HDR_LEN + 8];
	uint64_t cap = 1u << 24, pairs = 0, done = 0, t0, t_end;
	uint64_t *t_app, *lat;
	struct kc_journal_stats st;
	struct kc_journal *j;
	char err[256];
	uint64_t bytes;

	memset(req, 0xab, sizeof(req));
	memset(rep, 0xcd, sizeof(rep));
	t_app = malloc(cap * sizeof(*t_app));
	lat = malloc(cap * sizeof(*lat));
	j = kc_journal_open(&cfg, &end, err, sizeof(err));
	if (j == NULL || t_app == NULL || lat == NULL ||
	    kc_journal_start(j) != 0) {
		fprintf(stderr, "kc-journal-bench: %s\n", j ? "start" : err);
		return -1;
	}
	bytes = kc_jrec_size(sizeof(req)) + kc_jrec_size(sizeof(rep));
	t0 = rte_rdtsc();
	t_end = t0 + (uint64_t)(seconds * (double)rte_get_tsc_hz());
	while (rte_rdtsc() < t_end && pairs < cap) {
		uint64_t durable = kc_journal_durable_seq(j), now;
		uint32_t batch = 0;

		/* Publishes whose REPLY (seq 2k) is durable are answered. */
		now = rte_rdtsc();
		while (done < pairs && 2 * (done + 1) <= durable) {
			lat[done] = now - t_app[done];
			done++;
		}
		while (pairs - done < inflight && batch < 32 &&
		       kc_journal_room(j, bytes, true)) {
			struct kc_jrec h = {
				.type = KC_JREC_REQUEST, .op = KC_OP_PUBLISH,
				.payload_len = sizeof(req), .client_id = 1,
			};

			t_app[pairs] = rte_rdtsc();
			kc_journal_append(j, &h, req);
			h.type = KC_JREC_REPLY;
			h.payload_len = sizeof(rep);
			h.ref = h.seq;
			kc_journal_append(j, &h, rep);
			pairs++;
			batch++;
		}
		kc_journal_publish(j);
		if (kc_journal_state(j) == KC_JOURNAL_FAILED) {
			fprintf(stderr, "kc-journal-bench: journal failed\n");
			return -1;
		}
	}
	kc_journal_stats(j, &st);
	kc_journal_close(j);
	qsort(lat, done, sizeof(*lat), cmp_u64);
	fprintf(out, "{\"group_max\":%u,\"inflight\":%u,\"publishes\":%" PRIu64
		",\"publish_per_s\":%.0f,\"journal_mb_s\":%.2f,"
		"\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
		"\"max_us\":%.1f,\"groups\":%" PRIu64 ",\"fsyncs\":%" PRIu64
		",\"records_per_group\":%.1f}", group_max, inflight, done,
		(double)done / seconds, (double)st.bytes_written / 1e6 / seconds,
		pct_us(lat, done, 0.5), pct_us(lat, done, 0.99),
		pct_us(lat, done, 0.999),
		done ? secs(lat[done - 1]) * 1e6 : 0.0, st.groups, st.fsyncs,
		st.groups ? (double)(2 * done) / (double)st.groups : 0.0);
	free(t_app);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	char shard_base[512];
	const char *dir;
	double seconds;
	int n = rte_eal_init(argc, argv);

	if (n < 0) {
		fprintf(stderr, "kc-journal-bench: EAL: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	if (argc < 4) {
		fprintf(stderr, "usage: kc-journal-bench [EAL args] -- DIR "
			"SECONDS GROUP_MAX...\n");
		return 2;
	}
	dir = argv[1];
	seconds = atof(argv[2]);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	printf("{");
	if (disk_bench(dir, seconds, stdout) != 0)
		return 1;
	printf(",\"message_bytes\":%u,\"journal\":[", MSG_BYTES);
	for (int i = 3; i < argc; i++) {
		uint32_t g = (uint32_t)strtoul(argv[i], NULL, 10);

		for (int run = 0; run < 2; run++) {
			snprintf(shard_base, sizeof(shard_base), "%s/g%u", dir,
				 g);
			rm_rf(shard_base);
			if (i > 3 || run > 0)
				printf(",");
			if (journal_bench(shard_base, seconds,
					  run == 0 ? 4096 : RTE_MAX(g, 1u), g,
					  stdout) != 0)
				return 1;
			rm_rf(shard_base);
			fflush(stdout);
		}
	}
	printf("]}\n");
	rte_eal_cleanup();
	return 0;
}
