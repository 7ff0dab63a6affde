/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A journal segment on disk holding any bytes (docs/reliability.md), read
 * by everything that reads journals: kcq (verify, dump, dump --json, stats,
 * tail, trail, compiled in from app/kcq/kcq.c) and recovery, with the
 * ledger on and off. The input is
 *
 *   byte 0   flags: bit 0 leave the CRCs as they are; bit 1 a tail of
 *            4 KiB of zeros, as a preallocated segment has (not the whole
 *            1 MiB: the reader checks every byte of it, and under the
 *            fuzzer's instrumentation that was most of the time an input
 *            took); bit 2 write a ledger hint
 *            file (a length byte, then that many bytes, up to 31); bit 3
 *            a second, empty segment;
 *            bits 4-6 which kcq command runs; bit 7 recovery with the
 *            ledger off
 *   rest     the segment file's bytes, from its SEGMENT record on
 *
 * Unless told not to, the harness recomputes each record's CRC32C as it
 * walks the records by their lengths, so that a mutation reaches the
 * readers behind the CRC check: snapshots, pairs, ledger hops, recovery's
 * replay. Seeds are cut from tests/fixtures/journal-v1. Checked: nothing
 * crashes, overruns or leaks; kcq exits 0, 1 or 3 and prints only
 * printable ASCII, tabs and newlines; recovery either succeeds
 * or refuses with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "kc_journal.h"
#include "kc_recovery.h"
#include "kc_worker.h"
#include "kc_test_eal.h"

#include "kc_fuzz.h"
#include "kc_fuzz_worker.h"

int kcq_main(int argc, char **argv);


static struct kc_keyring *keys;
static struct kc_pkt_ctx ctx;
static struct kc_lcore_stats st;
static struct kc_config cfg;
static char dir[160], shard[192], out_path[192];
static int gen;

static void fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_journal: %s: %s\n", what, err);
	abort();
}

/* What lay_out and recovery may leave: no other names. */
static void empty_dir(void)
{
	static const char *const in_dir[] = {
		"shards", "ledger.snapshot", "kingcobra.lock",
	};
	char path[256];

	for (unsigned int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%016x.kcj", shard, i);
		unlink(path);
	}
	rmdir(shard);
	for (unsigned int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, in_dir[i]);
		unlink(path);
	}
}

static void cleanup(void)
{
	char cmd[192];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_journal: cannot remove %s\n", dir);
	unlink(out_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	kc_test_eal_init_lcores("fuzz_journal", "0");
	/* Service calls take their mbufs from the ports' pool by name. */
	if (rte_pktmbuf_pool_create("kc_mbufs_s0", 63, 0, 0,
				    RTE_MBUF_DEFAULT_BUF_SIZE, 0) == NULL)
		fail("set-up", "mbuf pool");
	keys = kc_keyring_parse(kc_fuzz_keys_text,
				sizeof(kc_fuzz_keys_text) - 1, "inline",
				err, sizeof(err));
	if (keys == NULL)
		fail("set-up", err);
	/* tests/fuzz/run gives each run a folder it removes afterwards. */
	kc_fuzz_workdir(dir, sizeof(dir), "journal");
	atexit(cleanup);
	snprintf(shard, sizeof(shard), "%s/shard-00", dir);
	snprintf(out_path, sizeof(out_path), "%s.kcq-out", dir);
	ctx.keys = keys;
	ctx.udp_port = KC_UDP_PORT_DEFAULT;
	/* Enough for tests/fixtures/journal-v1's queues, and small: every
	 * input recovers into fresh, zeroed stores. */
	kc_fuzz_worker_cfg(&cfg, dir);
	cfg.queues.max_messages_per_queue = 512;
	cfg.journal.buffer_bytes = 64u << 10;
	cfg.journal.group_max = 64;
	cfg.journal.max_pending = 64;
	cfg.journal.snapshot_bytes = 1ull << 40;
	cfg.ledger.max_coins = 256;
	cfg.ledger.reap_after_s = 3600;
	return 0;
}

/* ---- the journal on disk ------------------------------------------------ */

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Make each record's CRC right, walking records by their lengths. */
static void fix_crcs(uint8_t *b, size_t n)
{
	size_t off = 0;

	while (off + KC_JREC_HDR_LEN <= n) {
		uint32_t plen = get_le32(b + off + 4);

		if (plen > KC_JREC_PAYLOAD_MAX ||
		    off + KC_JREC_HDR_LEN + plen > n)
			break;
		put_le32(b + off, kc_crc32c(b + off + 4,
					    KC_JREC_HDR_LEN - 4 + plen));
		off += kc_jrec_size(plen);
	}
}

static void write_file(const char *path, const void *p, size_t n,
		       off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n) ||
	    (size > 0 && ftruncate(fd, size) != 0))
		fail(path, strerror(errno));
	close(fd);
}

static void lay_out(const uint8_t *data, size_t size)
{
	const uint8_t flags = size > 0 ? data[0] : 0;
	const uint8_t *seg = size > 0 ? data + 1 : data;
	size_t n = size > 0 ? size - 1 : 0;
	uint8_t *copy = malloc(n > 0 ? n : 1);
	char path[256];

	if (copy == NULL)
		abort();
	empty_dir();
	if (mkdir(shard, 0700) != 0)
		fail(shard, strerror(errno));
	write_file(strcat(strcpy(path, dir), "/shards"), "1\n", 2, 0);
	if ((flags & 4) && n >= 1) {
		size_t hl = seg[0] % 32u < n - 1 ? seg[0] % 32u : n - 1;

		write_file(strcat(strcpy(path, dir), "/ledger.snapshot"),
			   seg + 1, hl, 0);
		seg += 1 + hl;
		n -= 1 + hl;
	}
	memcpy(copy, seg, n);
	if (!(flags & 1))
		fix_crcs(copy, n);
	snprintf(path, sizeof(path), "%s/0000000000000000.kcj", shard);
	write_file(path, copy, n, (flags & 2) ? (off_t)n + 4096 : 0);
	if (flags & 8) {
		snprintf(path, sizeof(path), "%s/0000000000000001.kcj", shard);
		write_file(path, NULL, 0, 0);
	}
	free(copy);
}

/* ---- readers ------------------------------------------------------------ */

static void kcq(const char *a1, const char *a2, const char *a3)
{
	char *argv[6] = { "kcq" };
	int argc = 1, rc, saved, fd;
	char buf[4096];
	ssize_t got;

	argv[argc++] = (char *)a1;
	argv[argc++] = dir;
	if (a2 != NULL)
		argv[argc++] = (char *)a2;
	if (a3 != NULL)
		argv[argc++] = (char *)a3;
	optind = 0; /* getopt starts over */
	/* What kcq prints goes to out_path, read back below. */
	fflush(stdout);
	saved = dup(1);
	fd = open(out_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0 || dup2(fd, 1) < 0)
		fail(out_path, strerror(errno));
	rc = kcq_main(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	/* 0, 1 (damage found) or 3 (no such coin); 2 would be a usage
	 * error, the harness's. */
	KC_FUZZ_CHECK(rc == 0 || rc == 1 || rc == 3, "kcq %s: exit %d", a1,
		      rc);
	/* Every byte printable: names and payloads escaped (a crafted
	 * queue name once reached the terminal raw). */
	lseek(fd, 0, SEEK_SET);
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < got; i++)
			KC_FUZZ_CHECK((buf[i] >= 0x20 && buf[i] < 0x7f) ||
				      buf[i] == '\n' || buf[i] == '\t',
				      "kcq %s printed byte 0x%02x", a1,
				      (unsigned char)buf[i]);
	close(fd);
}

static void recover(bool ledger)
{
	struct kc_queue_limits lim = {
		.max_queues = cfg.queues.max_queues,
		.max_bytes_per_queue = cfg.queues.max_bytes_per_queue,
		.max_messages_per_queue = cfg.queues.max_messages_per_queue,
		.max_consumers_per_queue = cfg.queues.max_consumers_per_queue,
	};
	struct kc_worker_state ws = { .pc = &ctx, .st = &st };
	struct kc_worker_state *w = &ws;
	char name[32], err[512] = "";
	int rc;

	cfg.ledger.enabled = ledger;
	snprintf(name, sizeof(name), "fj_q%d", gen++);
	ws.store = kc_queue_store_create(name, &lim, 0);
	if (ws.store == NULL)
		fail("queue store", "cannot create");
	if (ledger && kc_ledger_ws_create(&cfg, &ws, 0, err, sizeof(err)) != 0)
		fail("ledger", err);
	rc = kc_recover_workers(&cfg, &w, 1, 0, err, sizeof(err));
	KC_FUZZ_CHECK(rc == 0 || err[0] != '\0', "refused without a message");
	kc_ledger_ws_free(&ws);
	kc_journal_close(ws.j);
	kc_idem_free(ws.idem);
	rte_free(ws.pend);
	rte_free(ws.snap_buf);
	kc_queue_store_free(ws.store);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t flags = size > 0 ? data[0] : 0;

	lay_out(data, size);
	switch ((flags >> 4) & 7) {
	case 0: kcq("verify", NULL, NULL); break;
	case 1: kcq("dump", NULL, NULL); break;
	case 2: kcq("dump", "--json", NULL); break;
	case 3: kcq("stats", NULL, NULL); break;
	case 4: kcq("tail", "-n", "3"); break;
	case 5: kcq("trail", "1", NULL); break;
	case 6: kcq("trail", "2", "--json"); break;
	default:
		/* The money-flow graph of whatever hops decode (a second
		 * flag byte picks its analyses). */
		if (size > 1 && (data[1] & 3) == 1)
			kcq("graph", "--kcore", "--rank");
		else if (size > 1 && (data[1] & 3) == 2)
			kcq("graph", "--scc", "--format=graphml");
		else if (size > 1 && (data[1] & 3) == 3)
			kcq("graph", "--format=dot", "--maxflow=1,2");
		else
			kcq("stats", "--json", NULL);
		break;
	}
	/* Recovery writes (a torn tail cut, the next segment): last. */
	recover(!(flags & 0x80));
	return 0;
}
