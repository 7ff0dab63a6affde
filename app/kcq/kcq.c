/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kcq: read a KingCobra journal offline (docs/journal-format.md).
 *
 *   kcq dump DIR [--json] [--shard N]     every record, as text or JSON lines
 *   kcq verify DIR [--torn-limit BYTES]   CRC, sequence and pairing check
 *   kcq stats DIR [--json]                segments, records, ops, statuses
 *   kcq tail DIR [-n N] [-f] [--json]     the last N records; -f follows
 *
 * DIR is a journal directory (its shard-NN folders are read in order) or
 * one shard folder. kcq only reads; it is safe on a live journal, where
 * the record being written may show as a torn tail.
 *
 * Exit status: 0 fine; 1 the journal is corrupt (verify) or unreadable;
 * 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "kc_journal.h"
#include "kc_proto.h"

#ifndef KC_VERSION
#define KC_VERSION "unknown"
#endif

#define EXIT_BAD 1
#define EXIT_USAGE 2
#define PATH_LEN 600
#define TORN_LIMIT_DEFAULT ((16u << 20) + KC_JREC_MAX_SIZE)

struct opts {
	bool json;
	int shard;		/* -1: all */
	uint64_t torn_limit;
	uint32_t tail_n;
	bool follow;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: kcq COMMAND DIR [OPTIONS]\n"
"\n"
"Read a KingCobra journal (a journal directory or one shard-NN folder).\n"
"\n"
"Commands:\n"
"  dump DIR      every record, oldest first\n"
"  verify DIR    check CRCs, sequence numbers and REQUEST/REPLY pairs;\n"
"                exit 1 on corruption, naming the segment and offset\n"
"  stats DIR     segments, bytes, records, ops and statuses per shard\n"
"  tail DIR      the last records (-n N, default 10); -f follows new ones\n"
"\n"
"Options:\n"
"  --json             JSON (one object per line for dump and tail)\n"
"  --shard N          only shard N\n"
"  -n N               tail: how many records\n"
"  -f, --follow       tail: keep printing records as they are written\n"
"  --torn-limit BYTES verify: invalid bytes at the tail reaching further\n"
"                     than this are corruption, not a torn write (default\n"
"                     %u: the default journal.buffer_bytes + one record)\n"
"\n"
"Exit status: 0 fine; 1 corrupt or unreadable; 2 usage.\n",
		TORN_LIMIT_DEFAULT);
}

/* ---- shards ------------------------------------------------------------ */

struct shards {
	uint32_t n;
	uint16_t id[KC_JSHARD_MAX];
	char path[KC_JSHARD_MAX][PATH_LEN];
};

static bool has_segments(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t index;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL)
		found = kc_jseg_name_parse(e->d_name, &index);
	closedir(d);
	return found;
}

static int find_shards(const char *dir, int only, struct shards *s)
{
	struct stat st;

	s->n = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kcq: %s: %s\n", dir,
			errno ? strerror(errno) : "not a directory");
		return -1;
	}
	if (has_segments(dir)) {
		const char *base = strrchr(dir, '/');
		unsigned int id = 0;
		char tail;

		/* A shard folder: its number is in its name. */
		base = base != NULL && base[1] != '\0' ? base + 1 : dir;
		if (sscanf(base, "shard-%u%c", &id, &tail) != 1)
			id = 0;
		s->id[0] = (uint16_t)id;
		snprintf(s->path[0], PATH_LEN, "%s", dir);
		s->n = 1;
		return 0;
	}
	for (uint16_t i = 0; i < KC_JSHARD_MAX; i++) {
		if (only >= 0 && i != only)
			continue;
		kc_jshard_path(s->path[s->n], PATH_LEN, dir, i);
		if (stat(s->path[s->n], &st) == 0 && S_ISDIR(st.st_mode))
			s->id[s->n++] = i;
	}
	if (s->n == 0) {
		fprintf(stderr, "kcq: %s holds no journal (no shard-NN folder "
			"and no segment file)\n", dir);
		return -1;
	}
	return 0;
}

/* ---- one record as text or JSON --------------------------------------- */

static void fmt_time(uint64_t ns, char *out, size_t len)
{
	time_t s = (time_t)(ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec,
		 (unsigned long long)(ns % 1000000000ull));
}

/* Printable copy of bytes: non-printable ones as \xNN. */
static void printable(const uint8_t *p, uint32_t len, char *out,
		      size_t out_len)
{
	size_t o = 0;

	for (uint32_t i = 0; i < len && o + 5 < out_len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, out_len - o, "\\x%02x",
					      p[i]);
	}
	out[o] = '\0';
}

/* What the KCP message of a record says, as key/values into o. */
static void kcp_fields(const struct kc_jrec *h, const uint8_t *payload,
		       json_t *o)
{
	struct kc_hdr kh;
	const uint8_t *p = payload + KC_HDR_LEN;
	uint32_t len;
	char buf[512];

	if (kc_jrec_kcp_decode(h, payload, &kh) != KC_PARSE_OK) {
		json_object_set_new(o, "kcp", json_string("undecodable"));
		return;
	}
	len = h->payload_len - KC_HDR_LEN; /* what the record holds */
	if (h->type == KC_JREC_REPLY) {
		uint64_t v;
		struct kc_fetch_reply fr;

		if (kh.status != KC_STATUS_OK) {
			printable(p, len, buf, sizeof(buf));
			json_object_set_new(o, "reason", json_string(buf));
		} else if ((h->op == KC_OP_PUBLISH || h->op == KC_OP_OFFSET) &&
			   kc_dec_u64_reply(p, len, &v)) {
			json_object_set_new(o, "offset", json_integer((json_int_t)v));
		} else if (h->op == KC_OP_FETCH &&
			   len >= KC_FETCH_REPLY_FIXED) {
			/* The fixed part: offsets and count (an abridged
			 * record holds nothing else). */
			fr.next_offset = kc_get_u64(p + 8);
			fr.count = kc_get_u16(p + 24);
			json_object_set_new(o, "count", json_integer(fr.count));
			json_object_set_new(o, "next_offset",
					    json_integer((json_int_t)fr.next_offset));
		}
		if (h->flags & KC_JREC_F_ABRIDGED)
			json_object_set_new(o, "abridged", json_true());
		return;
	}
	switch (h->op) {
	case KC_OP_PUBLISH: {
		struct kc_publish_req r;

		if (kc_dec_publish(p, len, &r) != KC_STATUS_OK)
			break;
		json_object_set_new(o, "queue", json_string(r.queue.s));
		printable(r.msg, r.msg_len, buf, sizeof(buf));
		json_object_set_new(o, "message", json_string(buf));
		return;
	}
	case KC_OP_FETCH: {
		struct kc_fetch_req r;

		if (kc_dec_fetch(p, len, &r) != KC_STATUS_OK)
			break;
		json_object_set_new(o, "queue", json_string(r.queue.s));
		json_object_set_new(o, "offset", json_integer((json_int_t)r.offset));
		json_object_set_new(o, "max", json_integer(r.max));
		return;
	}
	case KC_OP_COMMIT: {
		struct kc_commit_req r;

		if (kc_dec_commit(p, len, &r) != KC_STATUS_OK)
			break;
		json_object_set_new(o, "queue", json_string(r.queue.s));
		json_object_set_new(o, "consumer", json_string(r.consumer.s));
		json_object_set_new(o, "offset", json_integer((json_int_t)r.offset));
		return;
	}
	case KC_OP_OFFSET: {
		struct kc_offset_req r;

		if (kc_dec_offset(p, len, &r) != KC_STATUS_OK)
			break;
		json_object_set_new(o, "queue", json_string(r.queue.s));
		json_object_set_new(o, "consumer", json_string(r.consumer.s));
		return;
	}
	case KC_OP_PING:
		printable(p, len, buf, sizeof(buf));
		json_object_set_new(o, "data", json_string(buf));
		return;
	default:
		break;
	}
	json_object_set_new(o, "payload_bytes", json_integer(len));
}

/* A SNAPSHOT part: which part, and the queue (named in part 0). */
static void snapshot_fields(const struct kc_jrec *h, const uint8_t *payload,
			    json_t *o)
{
	struct kc_jsnap sh;

	if (!kc_jsnap_decode(payload, h->payload_len, &sh)) {
		json_object_set_new(o, "snapshot", json_string("undecodable"));
		return;
	}
	json_object_set_new(o, "part", json_integer(sh.part));
	json_object_set_new(o, "parts", json_integer(sh.parts));
	json_object_set_new(o, "snapshot_bytes", json_integer(sh.total_len));
	/* Part 0 starts with the queue snapshot's magic, version, name. */
	if (sh.part == 0 && sh.kind == KC_JSNAP_QUEUE &&
	    h->payload_len >= KC_JSNAP_HDR_LEN + 7) {
		const uint8_t *q = payload + KC_JSNAP_HDR_LEN + 6;
		uint32_t avail = h->payload_len - KC_JSNAP_HDR_LEN - 7;
		char name[KC_NAME_MAX + 1];

		if (q[0] <= avail && q[0] <= KC_NAME_MAX) {
			memcpy(name, q + 1, q[0]);
			name[q[0]] = '\0';
			json_object_set_new(o, "queue", json_string(name));
		}
	}
}

static json_t *record_json(uint16_t shard, const struct kc_jrec *h,
			   const uint8_t *payload, const struct kc_jpos *pos)
{
	json_t *o = json_object();
	char id[33], t[80], seg[17], addr[32];
	const char *op = kc_op_name(h->op);

	kc_msg_id_format(h->msg_id, id);
	fmt_time(h->time_ns, t, sizeof(t));
	snprintf(seg, sizeof(seg), "%016" PRIx64, pos->segment);
	snprintf(addr, sizeof(addr), "%u.%u.%u.%u:%u", h->client_ip >> 24,
		 (h->client_ip >> 16) & 0xff, (h->client_ip >> 8) & 0xff,
		 h->client_ip & 0xff, h->client_port);
	json_object_set_new(o, "shard", json_integer(shard));
	json_object_set_new(o, "seq", json_integer((json_int_t)h->seq));
	json_object_set_new(o, "type", json_string(kc_jrec_type_name(h->type)));
	if (h->type != KC_JREC_SNAPSHOT) {
		json_object_set_new(o, "op", op ? json_string(op) :
					      json_integer(h->op));
		if (h->type == KC_JREC_REPLY)
			json_object_set_new(o, "status", json_string(
				kc_status_name(h->status)));
		json_object_set_new(o, "client_id",
				    json_integer(h->client_id));
		json_object_set_new(o, "msg_id", json_string(id));
		json_object_set_new(o, "client", json_string(addr));
	}
	json_object_set_new(o, "time", json_string(t));
	if (h->type != KC_JREC_REQUEST)
		json_object_set_new(o, "ref", json_integer((json_int_t)h->ref));
	json_object_set_new(o, "segment", json_string(seg));
	json_object_set_new(o, "pos", json_integer((json_int_t)pos->offset));
	json_object_set_new(o, "bytes", json_integer(h->payload_len));
	if (h->type == KC_JREC_SNAPSHOT)
		snapshot_fields(h, payload, o);
	else
		kcp_fields(h, payload, o);
	return o;
}

static void print_record(const struct opts *op, uint16_t shard,
			 const struct kc_jrec *h, const uint8_t *payload,
			 const struct kc_jpos *pos)
{
	json_t *o = record_json(shard, h, payload, pos);
	const char *key;
	json_t *v;
	bool first = true;

	if (o == NULL)
		return;
	if (op->json) {
		json_dumpf(o, stdout, JSON_PRESERVE_ORDER | JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return;
	}
	/* Text: the same fields, key=value, strings quoted when needed. */
	json_object_foreach(o, key, v) {
		printf("%s%s=", first ? "" : " ", key);
		first = false;
		if (json_is_integer(v))
			printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_boolean(v))
			printf("%s", json_is_true(v) ? "true" : "false");
		else if (strchr(json_string_value(v), ' ') != NULL ||
			 json_string_length(v) == 0)
			printf("\"%s\"", json_string_value(v));
		else
			printf("%s", json_string_value(v));
	}
	putchar('\n');
	json_decref(o);
}

/* ---- commands ---------------------------------------------------------- */

static struct kc_jreader *open_reader(const char *path, uint64_t torn_limit)
{
	char err[256];
	struct kc_jreader *r = kc_jreader_open(path, err, sizeof(err));

	if (r == NULL)
		fprintf(stderr, "kcq: %s\n", err);
	else
		kc_jreader_set_torn_limit(r, torn_limit);
	return r;
}

static const char *end_name(enum kc_jend e)
{
	switch (e) {
	case KC_JEND_CLEAN:
		return "clean";
	case KC_JEND_TORN:
		return "torn";
	case KC_JEND_CORRUPT:
		return "corrupt";
	case KC_JEND_BAD_SEGMENT:
		return "bad-segment";
	}
	return "?";
}

static bool end_bad(const struct kc_jreader_end *e)
{
	return e->how == KC_JEND_CORRUPT || e->how == KC_JEND_BAD_SEGMENT;
}

static int cmd_dump(const struct shards *s, const struct opts *op)
{
	int rc = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		struct kc_jreader *r = open_reader(s->path[i], op->torn_limit);
		struct kc_jrec h;
		const uint8_t *p;
		struct kc_jpos pos;

		if (r == NULL)
			return EXIT_BAD;
		while (kc_jreader_next(r, &h, &p, &pos))
			print_record(op, s->id[i], &h, p, &pos);
		if (end_bad(kc_jreader_end(r))) {
			fprintf(stderr, "kcq: shard %u: %s\n", s->id[i],
				kc_jreader_end(r)->detail);
			rc = EXIT_BAD;
		}
		kc_jreader_close(r);
	}
	return rc;
}

static int cmd_verify(const struct shards *s, const struct opts *op)
{
	int rc = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		struct kc_jreader *r = open_reader(s->path[i], op->torn_limit);
		const struct kc_jreader_end *e;
		uint64_t req_seq = 0, pairs = 0, problems = 0, snaps = 0;
		uint64_t first_seq = 0;
		struct kc_jrec h;
		const uint8_t *p;
		struct kc_jpos pos;

		if (r == NULL)
			return EXIT_BAD;
		while (kc_jreader_next(r, &h, &p, &pos)) {
			struct kc_hdr kh;
			const char *bad = NULL;

			if (first_seq == 0)
				first_seq = h.seq;

			if (h.type == KC_JREC_SNAPSHOT) {
				struct kc_jsnap sh;

				if (!kc_jsnap_decode(p, h.payload_len, &sh))
					bad = "a SNAPSHOT part that does not "
					      "decode";
				else
					snaps += sh.part + 1 == sh.parts;
				if (bad != NULL)
					printf("shard %u: segment %016" PRIx64
					       " offset %" PRIu64 " seq %" PRIu64
					       ": %s\n", s->id[i], pos.segment,
					       pos.offset, h.seq, bad);
				problems += bad != NULL;
				continue;
			}
			if (kc_jrec_kcp_decode(&h, p, &kh) != KC_PARSE_OK)
				bad = "does not hold a KCP message";
			else if (h.type == KC_JREC_REQUEST && req_seq != 0)
				bad = "REQUEST follows a REQUEST without REPLY";
			else if (h.type == KC_JREC_REPLY && h.ref != req_seq &&
				 !(first_seq > 1 && pairs == 0 && req_seq == 0))
				/* (Retention deletes whole segments: the
				 * first REPLY left may have lost its
				 * REQUEST.) */
				bad = "REPLY does not answer the REQUEST before "
				      "it";
			if (bad != NULL) {
				printf("shard %u: segment %016" PRIx64
				       " offset %" PRIu64 " seq %" PRIu64
				       ": %s\n", s->id[i], pos.segment,
				       pos.offset, h.seq, bad);
				problems++;
			}
			if (h.type == KC_JREC_REQUEST) {
				req_seq = h.seq;
			} else {
				req_seq = 0;
				pairs++;
			}
		}
		e = kc_jreader_end(r);
		printf("shard %u: %" PRIu64 " records in %" PRIu64 " segment(s)"
		       " from seq %" PRIu64 "%s, %" PRIu64 " request/reply "
		       "pairs, %" PRIu64 " snapshot(s), end %s: %s\n",
		       s->id[i], e->records, e->segments, first_seq,
		       first_seq > 1 ? " (the start went to retention)" : "",
		       pairs, snaps, end_name(e->how), e->detail);
		if (req_seq != 0)
			printf("shard %u: the last REQUEST (seq %" PRIu64 ") "
			       "has no REPLY: it was never answered, and "
			       "recovery cuts it\n", s->id[i], req_seq);
		if (end_bad(e) || problems != 0)
			rc = EXIT_BAD;
		kc_jreader_close(r);
	}
	printf("%s\n", rc == 0 ? "journal OK" : "journal CORRUPT");
	return rc;
}

static int cmd_stats(const struct shards *s, const struct opts *op)
{
	json_t *all = json_array();
	int rc = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		struct kc_jreader *r = open_reader(s->path[i], op->torn_limit);
		uint64_t by_type[4] = { 0 }, by_op[256] = { 0 }, snaps = 0;
		uint64_t by_status[64] = { 0 };
		uint64_t first = 0, last = 0, t_first = 0, t_last = 0;
		const struct kc_jreader_end *e;
		json_t *o, *ops, *sts;
		struct kc_jrec h;
		const uint8_t *p;
		struct kc_jpos pos;
		char t0[80], t1[80];

		if (r == NULL)
			return EXIT_BAD;
		while (kc_jreader_next(r, &h, &p, &pos)) {
			if (first == 0) {
				first = h.seq;
				t_first = h.time_ns;
			}
			last = h.seq;
			t_last = h.time_ns;
			if (h.type == KC_JREC_REQUEST) {
				by_type[KC_JREC_REQUEST]++;
				by_op[h.op]++;
			} else if (h.type == KC_JREC_REPLY) {
				by_type[KC_JREC_REPLY]++;
				by_status[h.status & 63]++;
			} else if (h.type == KC_JREC_SNAPSHOT) {
				struct kc_jsnap sh;

				snaps += kc_jsnap_decode(p, h.payload_len,
							 &sh) &&
					 sh.part + 1 == sh.parts;
			}
		}
		e = kc_jreader_end(r);
		fmt_time(t_first, t0, sizeof(t0));
		fmt_time(t_last, t1, sizeof(t1));
		o = json_object();
		ops = json_object();
		sts = json_object();
		for (int k = 0; k < 256; k++)
			if (by_op[k] != 0) {
				char n[16];

				snprintf(n, sizeof(n), "%d", k);
				json_object_set_new(ops, kc_op_name((unsigned)k) ?
						    kc_op_name((unsigned)k) : n,
						    json_integer((json_int_t)by_op[k]));
			}
		for (int k = 0; k < 64; k++)
			if (by_status[k] != 0)
				json_object_set_new(sts, kc_status_name((unsigned)k),
						    json_integer((json_int_t)by_status[k]));
		json_object_set_new(o, "shard", json_integer(s->id[i]));
		json_object_set_new(o, "segments", json_integer((json_int_t)e->segments));
		json_object_set_new(o, "bytes", json_integer((json_int_t)kc_jreader_total_bytes(r)));
		json_object_set_new(o, "records", json_integer((json_int_t)e->records));
		json_object_set_new(o, "requests", json_integer((json_int_t)by_type[KC_JREC_REQUEST]));
		json_object_set_new(o, "replies", json_integer((json_int_t)by_type[KC_JREC_REPLY]));
		json_object_set_new(o, "snapshots", json_integer((json_int_t)snaps));
		json_object_set_new(o, "first_seq", json_integer((json_int_t)first));
		json_object_set_new(o, "last_seq", json_integer((json_int_t)last));
		json_object_set_new(o, "first_time", json_string(first ? t0 : ""));
		json_object_set_new(o, "last_time", json_string(first ? t1 : ""));
		json_object_set_new(o, "end", json_string(end_name(e->how)));
		json_object_set_new(o, "ops", ops);
		json_object_set_new(o, "statuses", sts);
		if (end_bad(e))
			rc = EXIT_BAD;
		if (!op->json) {
			const char *k;
			json_t *v;

			printf("shard %u: %" PRIu64 " segment(s), %" PRIu64
			       " bytes on disk, %" PRIu64 " records (seq %"
			       PRIu64 "..%" PRIu64 "), %s .. %s, end %s\n",
			       s->id[i], e->segments, kc_jreader_total_bytes(r),
			       e->records, first, last, first ? t0 : "-",
			       first ? t1 : "-", end_name(e->how));
			printf("  requests by op:");
			json_object_foreach(ops, k, v)
				printf(" %s=%" JSON_INTEGER_FORMAT, k,
				       json_integer_value(v));
			printf("\n  replies by status:");
			json_object_foreach(sts, k, v)
				printf(" %s=%" JSON_INTEGER_FORMAT, k,
				       json_integer_value(v));
			printf("\n  snapshots: %" PRIu64 "\n", snaps);
		}
		json_array_append_new(all, o);
		kc_jreader_close(r);
	}
	if (op->json) {
		json_dumpf(all, stdout, JSON_PRESERVE_ORDER | JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(all);
	return rc;
}

/* A copy of a record, for the ring of the last N. */
struct saved {
	struct kc_jrec h;
	struct kc_jpos pos;
	uint8_t payload[KC_JREC_PAYLOAD_MAX];
};

static int cmd_tail(const struct shards *s, const struct opts *op)
{
	struct saved *ring;
	struct kc_jpos end_pos[KC_JSHARD_MAX];
	uint64_t next_seq[KC_JSHARD_MAX];
	uint32_t n = op->tail_n;

	ring = calloc(n ? n : 1, sizeof(*ring));
	if (ring == NULL)
		return EXIT_BAD;
	for (uint32_t i = 0; i < s->n; i++) {
		struct kc_jreader *r = open_reader(s->path[i], op->torn_limit);
		uint64_t count = 0;
		struct kc_jrec h;
		const uint8_t *p;
		struct kc_jpos pos;

		if (r == NULL) {
			free(ring);
			return EXIT_BAD;
		}
		while (kc_jreader_next(r, &h, &p, &pos)) {
			struct saved *sv;

			if (n == 0)
				continue;
			sv = &ring[count % n];
			sv->h = h;
			sv->pos = pos;
			memcpy(sv->payload, p, h.payload_len);
			count++;
		}
		for (uint64_t k = count > n ? count - n : 0; k < count; k++)
			print_record(op, s->id[i], &ring[k % n].h,
				     ring[k % n].payload, &ring[k % n].pos);
		end_pos[i] = kc_jreader_end(r)->pos;
		next_seq[i] = kc_jreader_end(r)->next_seq;
		kc_jreader_close(r);
	}
	free(ring);
	fflush(stdout);
	/* Follow: every 200 ms, read on from where each shard ended. */
	while (op->follow && !stop) {
		usleep(200 * 1000);
		for (uint32_t i = 0; i < s->n && !stop; i++) {
			struct kc_jreader *r = open_reader(s->path[i],
							   op->torn_limit);
			struct kc_jrec h;
			const uint8_t *p;
			struct kc_jpos pos;

			if (r == NULL)
				return EXIT_BAD;
			if (next_seq[i] == 0 ||
			    kc_jreader_seek(r, &end_pos[i], next_seq[i])) {
				while (kc_jreader_next(r, &h, &p, &pos))
					print_record(op, s->id[i], &h, p, &pos);
				if (kc_jreader_end(r)->records != 0 ||
				    next_seq[i] == 0) {
					end_pos[i] = kc_jreader_end(r)->pos;
					if (kc_jreader_end(r)->next_seq != 0)
						next_seq[i] = kc_jreader_end(r)->next_seq;
				}
			}
			kc_jreader_close(r);
		}
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "shard", required_argument, NULL, 'S' },
		{ "torn-limit", required_argument, NULL, 'T' },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts op = {
		.shard = -1,
		.torn_limit = TORN_LIMIT_DEFAULT,
		.tail_n = 10,
	};
	const char *cmd, *dir;
	struct shards *s;
	char *endp;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "n:fhV", lopts, NULL)) != -1) {
		switch (opt) {
		case 'J':
			op.json = true;
			break;
		case 'S':
			op.shard = (int)strtol(optarg, &endp, 10);
			if (*endp != '\0' || op.shard < 0 ||
			    op.shard >= (int)KC_JSHARD_MAX) {
				fprintf(stderr, "kcq: --shard: expected 0..%u\n",
					KC_JSHARD_MAX - 1);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			op.torn_limit = strtoull(optarg, &endp, 10);
			if (*endp != '\0') {
				fprintf(stderr, "kcq: --torn-limit: expected "
					"bytes\n");
				return EXIT_USAGE;
			}
			break;
		case 'n':
			op.tail_n = (uint32_t)strtoul(optarg, &endp, 10);
			if (*endp != '\0' || op.tail_n > 100000) {
				fprintf(stderr, "kcq: -n: expected 0..100000\n");
				return EXIT_USAGE;
			}
			break;
		case 'f':
			op.follow = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("kcq %s (journal format %u)\n", KC_VERSION,
			       KC_JFORMAT_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	dir = argv[optind + 1];
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return EXIT_BAD;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_DFL);
	if (strcmp(cmd, "dump") != 0 && strcmp(cmd, "verify") != 0 &&
	    strcmp(cmd, "stats") != 0 && strcmp(cmd, "tail") != 0) {
		fprintf(stderr, "kcq: unknown command '%s'\n", cmd);
		usage(stderr);
		free(s);
		return EXIT_USAGE;
	}
	if (find_shards(dir, op.shard, s) != 0) {
		free(s);
		return EXIT_BAD;
	}
	if (strcmp(cmd, "dump") == 0)
		rc = cmd_dump(s, &op);
	else if (strcmp(cmd, "verify") == 0)
		rc = cmd_verify(s, &op);
	else if (strcmp(cmd, "stats") == 0)
		rc = cmd_stats(s, &op);
	else
		rc = cmd_tail(s, &op);
	free(s);
	return rc;
}
