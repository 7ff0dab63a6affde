/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kcq: read a KingCobra journal offline (docs/journal-format.md).
 *
 *   kcq dump DIR [--json] [--shard N]     every record, as text or JSON lines
 *   kcq verify DIR [--torn-limit BYTES]   CRC, sequence and pairing check
 *   kcq stats DIR [--json]                segments, records, ops, statuses
 *   kcq tail DIR [-n N] [-f] [--json]     the last N records; -f follows
 *   kcq trail DIR COIN [--json]           a coin's money trail, oldest first
 *   kcq graph DIR [--format F] [--maxflow A,B] [--kcore] [--scc]
 *                                         the money-flow graph and its
 *                                         analyses (docs/analytics.md)
 *
 * DIR is a journal directory (its shard-NN folders are read in order) or
 * one shard folder. kcq only reads and takes no lock; it is safe on a
 * live journal, where the record being written may show as a torn tail,
 * and says on stderr when an appliance holds DIR (DIR/kingcobra.lock).
 *
 * Exit status: 0 fine; 1 the journal is corrupt (verify) or unreadable;
 * 2 usage; 3 (trail) no LEDGER record names the coin.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>


#include "kc_analytics.h"
#include "kc_journal.h"
#include "kc_worker.h"
#include "kc_opdesc.h"
#include "kc_proto.h"
#include "kc_proto_json.h"

#ifndef KC_VERSION
#define KC_VERSION "unknown"
#endif

#define EXIT_BAD 1
#define EXIT_USAGE 2
#define EXIT_NOT_FOUND 3
#define PATH_LEN 600
#define TORN_LIMIT_DEFAULT ((16u << 20) + KC_JREC_MAX_SIZE)
/* trail: the walk's room for hops starts here and doubles up to the most
 * (a hop is 48 bytes, and the walk takes 16 more per hop). */
#define TRAIL_HOPS_FIRST 4096u
#define TRAIL_HOPS_MAX (1u << 20)

struct opts {
	bool json;
	int shard;		/* -1: all */
	uint64_t torn_limit;
	uint32_t tail_n;
	bool follow;
	/* graph */
	const char *format;	/* json, graphml, dot */
	bool maxflow, kcore, scc, rank;
	uint32_t mf_from, mf_to;
	uint64_t from_ns, to_ns;
	uint32_t max_vertices, max_edges;
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
"       kcq trail DIR COIN [--json]\n"
"\n"
"Read a KingCobra journal (a journal directory or one shard-NN folder).\n"
"\n"
"Commands:\n"
"  dump DIR      every record, oldest first\n"
"  verify DIR    check CRCs, sequence numbers, REQUEST/REPLY pairs, the\n"
"                LEDGER record after each ledger mutation's REPLY, ledger\n"
"                snapshots and DIR/ledger.snapshot; exit 1 on corruption,\n"
"                naming the segment and offset\n"
"  stats DIR     segments, bytes, records, ops, statuses, ledger hops and\n"
"                snapshots per shard\n"
"  tail DIR      the last records (-n N, default 10); -f follows new ones\n"
"  trail DIR COIN\n"
"                every hop of COIN, oldest first, as kcctl trail prints\n"
"                them (seq, time, kind, coin, denomination, from -> to),\n"
"                read from shard 0: also for a coin the appliance has\n"
"                reaped from memory, as long as retention kept its hops\n"
"  graph DIR     the money-flow graph of shard 0's ledger hops: accounts,\n"
"                edges per kind with value and coins, net flows, hidden\n"
"                money (docs/analytics.md); --format json (default),\n"
"                graphml or dot; with --maxflow A,B the maximum flow from\n"
"                account A to B and a minimum cut, --kcore the coreness\n"
"                of every account, --scc the strongly connected\n"
"                components, --rank the services' merit from their\n"
"                callers' outcomes and problem reports;\n"
"                --from-ns, --to-ns a time range;\n"
"                --max-vertices, --max-edges the caps (default 1048576,\n"
"                4194304: over them the analyses refuse, exit 1)\n"
"\n"
"Options:\n"
"  --json             JSON (one object per line for dump and tail)\n"
"  --shard N          only shard N (trail reads shard 0, the ledger's)\n"
"  -n N               tail: how many records\n"
"  -f, --follow       tail: keep printing records as they are written\n"
"  --torn-limit BYTES verify: invalid bytes at the tail reaching further\n"
"                     than this are corruption, not a torn write (default\n"
"                     %u: the default journal.buffer_bytes + one record)\n"
"\n"
"Exit status: 0 fine; 1 corrupt or unreadable (trail: also a trail that\n"
"cannot be read whole); 2 usage; 3 trail: no LEDGER record names the coin.\n",
		TORN_LIMIT_DEFAULT);
}

/* ---- shards ------------------------------------------------------------ */

struct shards {
	uint32_t n;
	uint16_t id[KC_JSHARD_MAX];
	char path[KC_JSHARD_MAX][PATH_LEN];
	/* DIR/ledger.snapshot when DIR is a journal directory, else "". */
	char hint_path[PATH_LEN];
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
	s->hint_path[0] = '\0';
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
	kc_ledger_hint_path(s->hint_path, PATH_LEN, dir);
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

/* An op field named like a member the record already has (a TRANSFER
 * REPLY's seq) is given as reply_NAME or request_NAME. */
static void merge_fields(json_t *o, json_t *fields, const char *prefix)
{
	const char *key;
	json_t *v;
	char k[96];

	json_object_foreach(fields, key, v) {
		if (json_object_get(o, key) != NULL)
			snprintf(k, sizeof(k), "%s_%s", prefix, key);
		else
			snprintf(k, sizeof(k), "%s", key);
		json_object_set(o, k, v);
	}
}

/* What the KCP message of a record says, through its op's descriptor
 * (kc_opdesc.h), as members of o. */
static void kcp_fields(const struct kc_jrec *h, const uint8_t *payload,
		       json_t *o)
{
	/* An OUTCOME is the REPLY a call's caller got. */
	const bool reply = h->type == KC_JREC_REPLY ||
			   h->type == KC_JREC_OUTCOME;
	const uint8_t *p = payload + KC_HDR_LEN;
	uint32_t len;
	struct kc_fields f;
	struct kc_hdr kh;
	json_t *fields;
	bool ok;

	if (kc_jrec_kcp_decode(h, payload, &kh) != KC_PARSE_OK) {
		json_object_set_new(o, "kcp", json_string("undecodable"));
		return;
	}
	len = h->payload_len - KC_HDR_LEN; /* what the record holds */
	if (reply && kh.status != KC_STATUS_OK) {
		kc_json_set_data(o, "reason", p, len);
		return;
	}
	if (reply && (h->flags & KC_JREC_F_HELD))
		/* An accepted CALL's record: never sent. */
		ok = kc_call_accept_fields(p, len, &f);
	else
		ok = reply ? kc_op_reply_fields(h->op, p, len,
						(h->flags &
						 KC_JREC_F_ABRIDGED) != 0, &f) :
			     kc_op_request_fields(h->op, p, len, &f);
	fields = json_object();
	if (ok && fields != NULL && kc_fields_json(&f, fields) == 0)
		merge_fields(o, fields, reply ? "reply" : "request");
	else
		json_object_set_new(o, "payload_bytes", json_integer(len));
	json_decref(fields);
	if (reply && (h->flags & KC_JREC_F_ABRIDGED))
		json_object_set_new(o, "abridged", json_true());
	if (reply && (h->flags & KC_JREC_F_HELD))
		json_object_set_new(o, "held", json_true());
}

static json_t *snapshot_kind(uint8_t kind)
{
	if (kind == KC_JSNAP_QUEUE)
		return json_string("queue");
	if (kind == KC_JSNAP_LEDGER)
		return json_string("ledger");
	if (kind == KC_JSNAP_SERVICES)
		return json_string("services");
	return json_integer(kind);
}

/* A SNAPSHOT part: which part, its kind, and what part 0 starts with: a
 * queue's name, or the ledger's counters and counts. */
static void snapshot_fields(const struct kc_jrec *h, const uint8_t *payload,
			    json_t *o)
{
	const uint8_t *q = payload + KC_JSNAP_HDR_LEN;
	uint32_t avail = h->payload_len - KC_JSNAP_HDR_LEN;
	struct kc_ledger_snap_info li;
	struct kc_services_snap_info si;
	struct kc_jsnap sh;

	if (!kc_jsnap_decode(payload, h->payload_len, &sh)) {
		json_object_set_new(o, "snapshot", json_string("undecodable"));
		return;
	}
	json_object_set_new(o, "part", json_integer(sh.part));
	json_object_set_new(o, "parts", json_integer(sh.parts));
	json_object_set_new(o, "snapshot_bytes", json_integer(sh.total_len));
	json_object_set_new(o, "kind", snapshot_kind(sh.kind));
	if (sh.part != 0)
		return;
	/* A queue's: magic, version, then its name. */
	if (sh.kind == KC_JSNAP_QUEUE && avail >= 7 && q[6] <= avail - 7 &&
	    q[6] <= KC_NAME_MAX) {
		kc_json_set_data(o, "queue", q + 7, q[6]);
	}
	if (sh.kind == KC_JSNAP_LEDGER &&
	    kc_ledger_snapshot_info(q, avail, &li)) {
		json_object_set_new(o, "next_coin", kc_json_u64(li.next_coin));
		json_object_set_new(o, "minted", kc_json_u64(li.minted));
		json_object_set_new(o, "burnt", kc_json_u64(li.burnt));
		json_object_set_new(o, "accounts", json_integer(li.accounts));
		json_object_set_new(o, "live_coins",
				    json_integer(li.live_coins));
	}
	if (sh.kind == KC_JSNAP_SERVICES &&
	    kc_services_snapshot_info(q, avail, &si)) {
		json_object_set_new(o, "services", json_integer(si.services));
		json_object_set_new(o, "calls_open",
				    json_integer(si.calls_open));
		json_object_set_new(o, "calls_kept", json_integer(
			(json_int_t)si.calls_open + si.calls_done));
		json_object_set_new(o, "escrow", kc_json_u64(si.escrow));
	}
}

/* A LEDGER record: the hop's kind, accounts, and the coins it consumed
 * or moved (with each one's previous hop) and made. */
static void ledger_fields(const struct kc_jrec *h, const uint8_t *payload,
			  json_t *o)
{
	struct kc_hoprec r;
	json_t *in, *out;
	uint64_t coin, denom, prev;

	if (!kc_hoprec_decode(payload, h->payload_len, &r)) {
		json_object_set_new(o, "hop", json_string("undecodable"));
		return;
	}
	in = json_array();
	out = json_array();
	for (uint32_t i = 0; i < r.nb_in; i++) {
		kc_hoprec_in(&r, i, &coin, &denom, &prev);
		json_array_append_new(in, json_pack("{s:o,s:o,s:o}",
			"coin", kc_json_u64(coin), "denomination", kc_json_u64(denom),
			"prev_hop_seq", kc_json_u64(prev)));
	}
	for (uint32_t i = 0; i < r.nb_out; i++) {
		kc_hoprec_out(&r, i, &coin, &denom);
		json_array_append_new(out, json_pack("{s:o,s:o}",
			"coin", kc_json_u64(coin), "denomination",
			kc_json_u64(denom)));
	}
	json_object_set_new(o, "kind", json_string(kc_hop_kind_name(r.kind)));
	json_object_set_new(o, "from", json_integer(r.from));
	json_object_set_new(o, "to", json_integer(r.to));
	json_object_set_new(o, "in", in);
	json_object_set_new(o, "out", out);
}

static json_t *record_json(uint16_t shard, const struct kc_jrec *h,
			   const uint8_t *payload, const struct kc_jpos *pos)
{
	json_t *o = json_object();
	char id[33], t[80], seg[17], addr[32];
	const char *op = kc_op_name(h->op);

	kc_msg_id_format(h->msg_id, id);
	kc_time_iso(h->time_ns, t, sizeof(t));
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
		if (h->type == KC_JREC_REPLY || h->type == KC_JREC_OUTCOME)
			json_object_set_new(o, "status", json_string(
				kc_status_name(h->status)));
		json_object_set_new(o, "client_id",
				    json_integer(h->client_id));
		json_object_set_new(o, "msg_id", json_string(id));
		/* A LEDGER record names the request, not where it came
		 * from (its REQUEST does). */
		if (h->type != KC_JREC_LEDGER)
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
	else if (h->type == KC_JREC_LEDGER)
		ledger_fields(h, payload, o);
	else
		kcp_fields(h, payload, o);
	return o;
}

/* A string of the journal's (a name, a message, a reason) as one token
 * of a text line: bytes a terminal would act on escaped as \xHH, quoted
 * when it holds a space or nothing. */
static void print_text_value(const char *s, size_t n)
{
	char buf[4 * KC_JREC_PAYLOAD_MAX + 1];
	bool quote = n == 0 || memchr(s, ' ', n) != NULL;

	kc_text_escape((const uint8_t *)s, n, true, buf, sizeof(buf));
	printf(quote ? "\"%s\"" : "%s", buf);
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
		json_dumpf(o, stdout, JSON_ENSURE_ASCII |
				      JSON_PRESERVE_ORDER | JSON_COMPACT);
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
		else if (json_is_array(v) || json_is_object(v))
			/* Compact JSON: no spaces, so still one token. */
			json_dumpf(v, stdout, JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |
					      JSON_COMPACT);
		else
			print_text_value(json_string_value(v),
					 json_string_length(v));
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

/* What verify counts through one shard. */
struct vshard {
	uint16_t shard;
	uint64_t pairs;
	uint64_t hops;
	uint64_t snaps;
	uint64_t ledger_snaps;
	uint64_t outcomes;	/* callers' REPLYs of completed calls */
	uint64_t problems;
	uint64_t hint;		/* DIR/ledger.snapshot (shard 0), or 0 */
	const char *hint_path;
	bool hint_found;
};

static void problem(struct vshard *v, const struct kc_jrec *h,
		    const struct kc_jpos *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct vshard *v, const struct kc_jrec *h,
		    const struct kc_jpos *pos, const char *fmt, ...)
{
	va_list ap;

	printf("shard %u: segment %016" PRIx64 " offset %" PRIu64 " seq %"
	       PRIu64 ": ", v->shard, pos->segment, pos->offset, h->seq);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	v->problems++;
}

/*
 * The seq DIR/ledger.snapshot names (0: no such file). Recovery takes a
 * file it cannot read a number from as no file (it then replays the
 * ledger from further back); verify says so.
 */
static uint64_t read_hint(const char *path)
{
	bool present = false;
	uint64_t v = path[0] != '\0' ? kc_ledger_hint_read(path, &present) : 0;

	if (present && v == 0)
		printf("%s holds no seq: recovery ignores it\n", path);
	return v;
}

/* A whole snapshot: a ledger one must decode (recovery restores or
 * checks every one). */
static void verify_snapshot(struct vshard *v, const struct kc_jitem *it)
{
	uint8_t digest[KC_LEDGER_DIGEST_LEN];

	v->snaps++;
	if (it->snap_kind == KC_JSNAP_SERVICES) {
		struct kc_services_snap_info si;

		if (!kc_services_snapshot_info(it->snap, it->snap_len, &si))
			problem(v, &it->rec.h, &it->rec.pos, "the services' "
				"snapshot from seq %" PRIu64 " does not decode",
				it->snap_seq0);
		return;
	}
	if (it->snap_kind != KC_JSNAP_LEDGER)
		return;
	v->ledger_snaps++;
	v->hint_found = v->hint_found || it->snap_seq0 == v->hint;
	if (!kc_ledger_snapshot_digest(it->snap, it->snap_len, digest))
		problem(v, &it->rec.h, &it->rec.pos, "the ledger snapshot "
			"from seq %" PRIu64 " does not decode", it->snap_seq0);
}

/* A LEDGER record: a hop of the kind its op makes. */
static void verify_hop(struct vshard *v, const struct kc_jmsg *m)
{
	struct kc_hoprec r;

	v->hops++;
	if (!kc_hoprec_decode(m->p, m->h.payload_len, &r))
		problem(v, &m->h, &m->pos, "a LEDGER record whose hop does "
			"not decode");
	else if (!kc_op_hop_fits(m->h.op, r.kind))
		problem(v, &m->h, &m->pos, "a LEDGER record of op %u holding "
			"a %s hop", m->h.op, kc_hop_kind_name(r.kind));
}

/* One shard by the journal's reading rules (kc_jwalk): 0, or -1 when out
 * of memory. */
static int verify_shard(struct vshard *v, struct kc_jreader *r)
{
	struct kc_jwalk *w = kc_jwalk_open(r, UINT32_MAX);
	struct kc_jitem *it = malloc(sizeof(*it));
	const struct kc_jreader_end *e;
	struct kc_jpos upos;
	uint64_t useq, first;

	if (w == NULL || it == NULL) {
		kc_jwalk_close(w);
		free(it);
		return -1;
	}
	while (kc_jwalk_next(w, it)) {
		switch (it->kind) {
		case KC_JITEM_PAIR:
			v->pairs++;
			if (it->has_hop)
				verify_hop(v, &it->hop);
			break;
		case KC_JITEM_SNAPSHOT:
			verify_snapshot(v, it);
			break;
		case KC_JITEM_HEADLESS:
			/* Its REQUEST went with a segment retention
			 * deleted. */
			if (it->rec.h.type == KC_JREC_LEDGER)
				verify_hop(v, &it->rec);
			else
				v->pairs++;
			break;
		case KC_JITEM_PROBLEM:
			problem(v, &it->rec.h, &it->rec.pos, "%s", it->text);
			break;
		case KC_JITEM_OUTCOME:
			v->outcomes++;
			break;
		}
	}
	e = kc_jreader_end(r);
	first = kc_jwalk_first_seq(w);
	printf("shard %u: %" PRIu64 " records in %" PRIu64 " segment(s)"
	       " from seq %" PRIu64 "%s, %" PRIu64 " request/reply "
	       "pairs, %" PRIu64 " ledger hop(s), %" PRIu64
	       " snapshot(s) (%" PRIu64 " of the ledger), end %s: %s\n",
	       v->shard, e->records, e->segments, first,
	       first > 1 ? " (the start went to retention)" : "",
	       v->pairs, v->hops, v->snaps, v->ledger_snaps,
	       end_name(e->how), e->detail);
	if (v->outcomes != 0)
		printf("shard %u: %" PRIu64 " completed call(s) answered "
		       "(OUTCOME records)\n", v->shard, v->outcomes);
	if (kc_jwalk_unanswered(w, &upos, &useq))
		printf("shard %u: the last REQUEST (seq %" PRIu64 ") has no "
		       "REPLY (or, a ledger mutation, no LEDGER record): it "
		       "was never answered, and recovery cuts it\n", v->shard,
		       useq);
	/* Recovery starts the ledger from the snapshot the hint names,
	 * unless retention deleted it. */
	if (v->hint != 0 && v->hint >= first && !v->hint_found) {
		printf("shard 0: %s names seq %" PRIu64 ", which is not the "
		       "first part of a complete ledger snapshot in the shard: "
		       "recovery refuses to start (remove that file to replay "
		       "the ledger from the journal's start)\n", v->hint_path,
		       v->hint);
		v->problems++;
	}
	kc_jwalk_close(w);
	free(it);
	return 0;
}

static int cmd_verify(const struct shards *s, const struct opts *op)
{
	uint64_t hint = read_hint(s->hint_path);
	int rc = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		struct kc_jreader *r = open_reader(s->path[i], op->torn_limit);
		struct vshard v = {
			.shard = s->id[i],
			.hint = s->id[i] == 0 ? hint : 0,
			.hint_path = s->hint_path,
		};

		if (r == NULL)
			return EXIT_BAD;
		if (verify_shard(&v, r) != 0) {
			fprintf(stderr, "kcq: out of memory\n");
			kc_jreader_close(r);
			return EXIT_BAD;
		}
		if (end_bad(kc_jreader_end(r)) || v.problems != 0)
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
		uint64_t by_type[KC_JREC_TYPE_MAX + 1] = { 0 }, snaps = 0;
		uint64_t by_op[256] = { 0 }, by_status[64] = { 0 };
		uint64_t by_kind[KC_HOP_KIND_MAX + 1] = { 0 }, ledger_snaps = 0;
		uint64_t first = 0, last = 0, t_first = 0, t_last = 0;
		const struct kc_jreader_end *e;
		json_t *o, *ops, *sts, *kinds;
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

				if (kc_jsnap_decode(p, h.payload_len, &sh) &&
				    sh.part + 1 == sh.parts) {
					snaps++;
					ledger_snaps += sh.kind ==
							KC_JSNAP_LEDGER;
				}
			} else if (h.type == KC_JREC_LEDGER) {
				struct kc_hoprec hr;

				by_type[KC_JREC_LEDGER]++;
				/* Undecodable ones count as kind 0 ("?"). */
				by_kind[kc_hoprec_decode(p, h.payload_len,
							 &hr) ? hr.kind : 0]++;
			}
		}
		e = kc_jreader_end(r);
		kc_time_iso(t_first, t0, sizeof(t0));
		kc_time_iso(t_last, t1, sizeof(t1));
		o = json_object();
		ops = json_object();
		sts = json_object();
		kinds = json_object();
		for (unsigned int k = 0; k <= KC_HOP_KIND_MAX; k++)
			if (by_kind[k] != 0)
				json_object_set_new(kinds, kc_hop_kind_name(k),
						    json_integer((json_int_t)by_kind[k]));
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
		json_object_set_new(o, "ledger_records", json_integer((json_int_t)by_type[KC_JREC_LEDGER]));
		json_object_set_new(o, "snapshots", json_integer((json_int_t)snaps));
		json_object_set_new(o, "ledger_snapshots", json_integer((json_int_t)ledger_snaps));
		json_object_set_new(o, "first_seq", json_integer((json_int_t)first));
		json_object_set_new(o, "last_seq", json_integer((json_int_t)last));
		json_object_set_new(o, "first_time", json_string(first ? t0 : ""));
		json_object_set_new(o, "last_time", json_string(first ? t1 : ""));
		json_object_set_new(o, "end", json_string(end_name(e->how)));
		json_object_set_new(o, "ops", ops);
		json_object_set_new(o, "statuses", sts);
		json_object_set_new(o, "ledger_hops", kinds);
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
			printf("\n  ledger records (hops) by kind:");
			json_object_foreach(kinds, k, v)
				printf(" %s=%" JSON_INTEGER_FORMAT, k,
				       json_integer_value(v));
			printf("\n  snapshots: %" PRIu64 " (%" PRIu64 " of the "
			       "ledger)\n", snaps, ledger_snaps);
		}
		json_array_append_new(all, o);
		kc_jreader_close(r);
	}
	if (op->json) {
		json_dumpf(all, stdout, JSON_ENSURE_ASCII |
					JSON_PRESERVE_ORDER | JSON_INDENT(2));
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

/* ---- trail ------------------------------------------------------------- */

/* What trail's scan of shard 0 found. */
struct trail_scan {
	uint64_t last_hop;	/* the newest LEDGER record naming the coin */
	uint64_t known;		/* every coin id below this was made */
	uint64_t first_seq;
	bool ledger_snapshot;	/* the shard holds one (part 0 of it) */
};

/* Whether a hop names coin, among the coins it consumed or moved or
 * those it made; raises t->known past the ones it made. */
static bool hop_names(const struct kc_hoprec *r, uint64_t coin,
		      struct trail_scan *t)
{
	uint64_t c, denom, prev;
	bool named = false;

	for (uint32_t i = 0; i < r->nb_in; i++) {
		kc_hoprec_in(r, i, &c, &denom, &prev);
		named = named || c == coin;
	}
	for (uint32_t i = 0; i < r->nb_out; i++) {
		kc_hoprec_out(r, i, &c, &denom);
		named = named || c == coin;
		if (c >= t->known && c != UINT64_MAX)
			t->known = c + 1;
	}
	return named;
}

/*
 * Read shard 0 forward for the newest LEDGER record that names coin: the
 * end of its trail. The appliance's memory may have reaped the coin, and
 * its last hop with it, so this is where an offline trail has to start.
 */
static int trail_scan(const char *path, const struct opts *op, uint64_t coin,
		      struct trail_scan *t)
{
	struct kc_jreader *r = open_reader(path, op->torn_limit);
	struct kc_jwalk *w = r != NULL ? kc_jwalk_open(r, UINT32_MAX) : NULL;
	struct kc_jitem *it = malloc(sizeof(*it));
	struct kc_ledger_snap_info li;
	struct kc_hoprec hr;
	int rc = 0;

	if (r == NULL || w == NULL || it == NULL) {
		if (r != NULL)
			fprintf(stderr, "kcq: out of memory\n");
		kc_jwalk_close(w);
		kc_jreader_close(r);
		free(it);
		return EXIT_BAD;
	}
	/* By the reading rules (kc_jwalk): hops with their requests, and
	 * whole ledger snapshots. */
	while (kc_jwalk_next(w, it)) {
		const struct kc_jmsg *hop = it->kind == KC_JITEM_PAIR &&
			it->has_hop ? &it->hop :
			it->kind == KC_JITEM_HEADLESS &&
			it->rec.h.type == KC_JREC_LEDGER ? &it->rec : NULL;

		if (hop != NULL && kc_hoprec_decode(hop->p, hop->h.payload_len,
						    &hr) &&
		    hop_names(&hr, coin, t))
			t->last_hop = hop->h.seq;
		/* A ledger snapshot's next_coin: the ids made before it. */
		if (it->kind == KC_JITEM_SNAPSHOT &&
		    it->snap_kind == KC_JSNAP_LEDGER &&
		    kc_ledger_snapshot_info(it->snap, it->snap_len, &li)) {
			t->ledger_snapshot = true;
			if (li.next_coin > t->known)
				t->known = li.next_coin;
		}
	}
	t->first_seq = kc_jwalk_first_seq(w);
	if (end_bad(kc_jreader_end(r))) {
		fprintf(stderr, "kcq: shard 0: %s (the trail may go on past "
			"it)\n", kc_jreader_end(r)->detail);
		rc = EXIT_BAD;
	}
	kc_jwalk_close(w);
	kc_jreader_close(r);
	free(it);
	return rc;
}

/* Why no LEDGER record names the coin. */
static void trail_not_found(uint64_t coin, const struct trail_scan *t)
{
	if (coin < t->known)
		fprintf(stderr, "kcq: coin %" PRIu64 " was made, but no "
			"LEDGER record left in shard 0 names it: retention "
			"deleted its whole history (the shard starts at seq %"
			PRIu64 ")\n", coin, t->first_seq);
	else if (t->first_seq > 1 && !t->ledger_snapshot)
		fprintf(stderr, "kcq: no LEDGER record in shard 0 names coin %"
			PRIu64 ", and the records before seq %" PRIu64 " are "
			"gone: it may have been made there\n", coin,
			t->first_seq);
	else if (t->known > 1)
		fprintf(stderr, "kcq: coin %" PRIu64 " was never made: no "
			"LEDGER record in shard 0 names it (the coins made "
			"are 1..%" PRIu64 ")\n", coin, t->known - 1);
	else
		fprintf(stderr, "kcq: coin %" PRIu64 " was never made: shard "
			"0 holds no LEDGER record and no ledger snapshot\n",
			coin);
}

/* The hops, as kcctl trail prints them (text lines, or one JSON object
 * with the same members). */
static void print_trail(const struct opts *op, uint64_t coin,
			uint64_t last_hop, const struct kc_hop *hops,
			uint32_t nb)
{
	json_t *arr = json_array();
	char line[256];

	for (uint32_t i = 0; i < nb; i++) {
		if (op->json) {
			json_array_append_new(arr, kc_hop_json(&hops[i]));
		} else {
			kc_hop_line(&hops[i], line, sizeof(line));
			puts(line);
		}
	}
	if (op->json) {
		json_t *o = json_pack("{s:o,s:I,s:o,s:o}", "coin",
				      kc_json_u64(coin), "total", (json_int_t)nb,
				      "last_hop_seq", kc_json_u64(last_hop),
				      "hops", arr);

		json_dumpf(o, stdout, JSON_ENSURE_ASCII |
				      JSON_PRESERVE_ORDER | JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return;
	}
	json_decref(arr);
	printf("OK coin=%" PRIu64 " hops=%u (journal shard 0, last hop seq %"
	       PRIu64 ")\n", coin, nb, last_hop);
}

static int cmd_trail(const struct shards *s, const struct opts *op,
		     uint64_t coin)
{
	struct trail_scan t = { .known = 1 };
	struct kc_hop *hops = NULL;
	struct kc_jlookup *x;
	uint32_t max, nb = 0;
	char err[256] = "";
	int rc, scan_rc;

	if (s->id[0] != 0) {
		fprintf(stderr, "kcq: %s is shard %u; the ledger is in shard "
			"0\n", s->path[0], s->id[0]);
		return EXIT_USAGE;
	}
	scan_rc = trail_scan(s->path[0], op, coin, &t);
	if (t.last_hop == 0) {
		if (scan_rc != 0)
			return scan_rc;
		trail_not_found(coin, &t);
		return EXIT_NOT_FOUND;
	}
	x = kc_jlookup_open(s->path[0]);
	if (x == NULL) {
		fprintf(stderr, "kcq: out of memory\n");
		return EXIT_BAD;
	}
	/* A trail's length is not known before the walk: room for more
	 * hops each time the walk runs out of it. */
	for (max = TRAIL_HOPS_FIRST;; max *= 2) {
		hops = malloc(sizeof(*hops) * max);
		rc = hops == NULL ? -ENOMEM :
		     kc_trail_walk(x, coin, t.last_hop, hops, max, &nb, NULL,
				   err, sizeof(err));
		if (rc != -E2BIG || max >= TRAIL_HOPS_MAX)
			break;
		free(hops);
	}
	kc_jlookup_close(x);
	if (rc == -E2BIG)
		fprintf(stderr, "kcq: the trail of coin %" PRIu64 " takes "
			"more than %u steps to walk (a hop shared by the "
			"coins a MERGE joined counts once per coin)\n", coin,
			TRAIL_HOPS_MAX);
	else if (rc != 0)
		fprintf(stderr, "kcq: the trail of coin %" PRIu64 ": %s\n",
			coin, err[0] != '\0' ? err : strerror(-rc));
	else
		print_trail(op, coin, t.last_hop, hops, nb);
	free(hops);
	return rc != 0 ? EXIT_BAD : scan_rc;
}

/* A coin id: 1..UINT64_MAX, decimal. */
static bool parse_coin(const char *text, uint64_t *coin)
{
	char *endp;

	if (text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	*coin = strtoull(text, &endp, 10);
	return *endp == '\0' && errno == 0 && *coin != 0;
}

/* ---- graph ----------------------------------------------------------------- */

/* A document's member, or the reason it is missing on stderr. */
static void member(json_t *o, const char *key, json_t *v, int r,
		   const char *what, int *rc)
{
	if (v != NULL) {
		json_object_set_new(o, key, v);
		return;
	}
	fprintf(stderr, "kcq: graph: %s: %s\n", what, kc_analytics_error(r));
	*rc = EXIT_BAD;
}

static void graph_json(const struct kc_analytics *an, const struct opts *op,
		       int *rc)
{
	struct kc_analytics_info info;
	json_t *o, *v;
	int r;

	o = kc_analytics_flows_json(an, 0, &r);
	if (o == NULL) {
		fprintf(stderr, "kcq: graph: %s\n", kc_analytics_error(r));
		*rc = EXIT_BAD;
		return;
	}
	if (json_array_size(json_object_get(o, "hidden_money")) != 0)
		fprintf(stderr, "kcq: graph: %zu account(s) with hidden money "
			"(more paid out than came in, or nets that do not add "
			"up; a journal cut by retention misses origins)\n",
			json_array_size(json_object_get(o, "hidden_money")));
	if (op->maxflow) {
		char what[48];

		snprintf(what, sizeof(what), "--maxflow %u,%u", op->mf_from,
			 op->mf_to);
		v = kc_analytics_maxflow_json(an, op->mf_from, op->mf_to, &r);
		member(o, "maxflow", v, r, what, rc);
	}
	if (op->kcore) {
		v = kc_analytics_kcore_json(an, &r);
		member(o, "coreness", v, r, "--kcore", rc);
	}
	if (op->scc) {
		v = kc_analytics_scc_json(an, &r);
		member(o, "components", v, r, "--scc", rc);
	}
	if (op->rank) {
		v = kc_analytics_rank_json(an, &r);
		member(o, "rank", v, r, "--rank", rc);
		kc_analytics_info(an, &info);
		json_object_set_new(o, "outcomes_of_unknown_calls",
				    kc_json_u64(info.forgotten_calls));
	}
	json_dumpf(o, stdout, JSON_INDENT(1));
	putchar('\n');
	json_decref(o);
}

static int cmd_graph(const struct shards *s, const struct opts *op)
{
	/* Offline every call is remembered: its outcome and reports may
	 * come any time later in the journal. */
	const struct kc_analytics_limits lim = {
		.max_vertices = op->max_vertices,
		.max_edges = op->max_edges,
		.max_calls = UINT32_MAX,
		.opinions = op->rank,
	};
	struct kc_analytics *an = kc_analytics_create(&lim);
	struct kc_jreader *r;
	struct kc_jrec h;
	const uint8_t *p;
	struct kc_jpos pos;
	int rc = 0;

	if (an == NULL)
		return EXIT_BAD;
	kc_analytics_range(an, op->from_ns, op->to_ns);
	r = open_reader(s->path[0], op->torn_limit);
	if (r == NULL) {
		kc_analytics_free(an);
		return EXIT_BAD;
	}
	while (kc_jreader_next(r, &h, &p, &pos))
		if (kc_analytics_record(an, &h, p) == -EINVAL)
			fprintf(stderr, "kcq: graph: seq %" PRIu64 ": not a "
				"hop record\n", h.seq);
	kc_jreader_close(r);
	if (strcmp(op->format, "json") == 0) {
		graph_json(an, op, &rc);
	} else {
		int w = kc_flow_write(kc_analytics_flow(an), stdout,
				      strcmp(op->format, "dot") == 0 ?
				      KC_FLOW_DOT : KC_FLOW_GRAPHML);

		if (w != 0) {
			fprintf(stderr, "kcq: graph: %s\n",
				kc_analytics_error(w));
			rc = EXIT_BAD;
		}
	}
	kc_analytics_free(an);
	return rc;
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
		{ "format", required_argument, NULL, 'F' },
		{ "maxflow", required_argument, NULL, 'M' },
		{ "kcore", no_argument, NULL, 'K' },
		{ "scc", no_argument, NULL, 'C' },
		{ "rank", no_argument, NULL, 'R' },
		{ "from-ns", required_argument, NULL, 'A' },
		{ "to-ns", required_argument, NULL, 'B' },
		{ "max-vertices", required_argument, NULL, 'X' },
		{ "max-edges", required_argument, NULL, 'Y' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts op = {
		.shard = -1,
		.torn_limit = TORN_LIMIT_DEFAULT,
		.tail_n = 10,
		.format = "json",
		.max_vertices = 1u << 20,
		.max_edges = 1u << 22,
	};
	unsigned long long x, y;
	const char *cmd, *dir;
	struct shards *s;
	uint64_t coin = 0;
	bool trail;
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
		case 'F':
			op.format = optarg;
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "graphml") != 0 &&
			    strcmp(optarg, "dot") != 0) {
				fprintf(stderr, "kcq: --format: json, graphml "
					"or dot\n");
				return EXIT_USAGE;
			}
			break;
		case 'M':
			if (sscanf(optarg, "%llu,%llu", &x, &y) != 2 ||
			    x > UINT32_MAX || y > UINT32_MAX) {
				fprintf(stderr, "kcq: --maxflow: expected "
					"ACCOUNT,ACCOUNT\n");
				return EXIT_USAGE;
			}
			op.maxflow = true;
			op.mf_from = (uint32_t)x;
			op.mf_to = (uint32_t)y;
			break;
		case 'K':
			op.kcore = true;
			break;
		case 'C':
			op.scc = true;
			break;
		case 'R':
			op.rank = true;
			break;
		case 'A':
		case 'B':
		case 'X':
		case 'Y':
			x = strtoull(optarg, &endp, 10);
			if (*endp != '\0' || *optarg == '\0' ||
			    ((opt == 'X' || opt == 'Y') &&
			     (x == 0 || x > (1u << 26)))) {
				fprintf(stderr, "kcq: --%s: expected a number%s\n",
					opt == 'A' ? "from-ns" : opt == 'B' ?
					"to-ns" : opt == 'X' ? "max-vertices" :
					"max-edges", opt == 'X' || opt == 'Y' ?
					" 1..67108864" : "");
				return EXIT_USAGE;
			}
			if (opt == 'A')
				op.from_ns = x;
			else if (opt == 'B')
				op.to_ns = x;
			else if (opt == 'X')
				op.max_vertices = (uint32_t)x;
			else
				op.max_edges = (uint32_t)x;
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
	if (argc - optind < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	dir = argv[optind + 1];
	trail = strcmp(cmd, "trail") == 0;
	if (strcmp(cmd, "dump") != 0 && strcmp(cmd, "verify") != 0 &&
	    strcmp(cmd, "stats") != 0 && strcmp(cmd, "tail") != 0 &&
	    strcmp(cmd, "graph") != 0 && !trail) {
		fprintf(stderr, "kcq: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (argc - optind != (trail ? 3 : 2)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (trail && !parse_coin(argv[optind + 2], &coin)) {
		fprintf(stderr, "kcq: bad coin id '%s' (1..%" PRIu64 ")\n",
			argv[optind + 2], UINT64_MAX);
		return EXIT_USAGE;
	}
	if ((trail || strcmp(cmd, "graph") == 0) && op.shard > 0) {
		fprintf(stderr, "kcq: %s reads shard 0, the ledger's\n", cmd);
		return EXIT_USAGE;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return EXIT_BAD;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_DFL);
	if (find_shards(dir, trail || strcmp(cmd, "graph") == 0 ? 0 : op.shard,
			s) != 0) {
		free(s);
		return EXIT_BAD;
	}
	/* A journal directory an appliance holds (kc_journal_lock): safe to
	 * read, but it is still growing. */
	if (s->hint_path[0] != '\0') {
		long pid = kc_journal_lock_holder(dir);

		if (pid > 0)
			fprintf(stderr, "kcq: %s is held by a running kingcobra "
				"(PID %ld): its newest records may still be on "
				"their way to the disk, and the one being "
				"written may read as a torn tail\n", dir, pid);
		else if (pid < 0)
			fprintf(stderr, "kcq: %s is held by a running "
				"kingcobra: its newest records may still be on "
				"their way to the disk\n", dir);
	}
	if (strcmp(cmd, "dump") == 0)
		rc = cmd_dump(s, &op);
	else if (strcmp(cmd, "verify") == 0)
		rc = cmd_verify(s, &op);
	else if (strcmp(cmd, "stats") == 0)
		rc = cmd_stats(s, &op);
	else if (trail)
		rc = cmd_trail(s, &op, coin);
	else if (strcmp(cmd, "graph") == 0)
		rc = cmd_graph(s, &op);
	else
		rc = cmd_tail(s, &op);
	free(s);
	return rc;
}
