/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The request/reply journal (docs/journal-format.md): per worker shard, a
 * directory of preallocated segment files holding checksummed records, one
 * REQUEST and one REPLY record per request the appliance accepts.
 *
 * Three parts share this header:
 * - the record codec (no DPDK beyond CRC32C; kcq uses it offline);
 * - the reader, which walks a shard's segments and says where and why the
 *   valid log ends (recovery and kcq);
 * - the writer: the owning worker lcore appends records to an in-memory
 *   ring buffer without system calls, and an I/O thread writes each group
 *   of records to the segments and fdatasyncs them while the lcore fills
 *   the next group. The lcore learns what is durable by reading a sequence
 *   number the I/O thread publishes.
 */
#ifndef KC_JOURNAL_H
#define KC_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "kc_jrec.h"
#include "kc_limits.h"
#include "kc_proto.h"

/* ---- reader ------------------------------------------------------------ */

/* Where and why the valid log of a shard ends. */
enum kc_jend {
	KC_JEND_CLEAN,		/* after the last record, the rest never written */
	KC_JEND_TORN,		/* a partly written record at the tail */
	KC_JEND_CORRUPT,	/* an invalid record with data after it in a
				 * later segment, or further than a torn
				 * write reaches (kc_jreader_set_torn_limit) */
	KC_JEND_BAD_SEGMENT,	/* a segment whose header is wrong */
};

struct kc_jpos {
	uint64_t segment;	/* segment index */
	uint64_t offset;	/* byte offset in that segment file */
};

struct kc_jreader;

/*
 * Open a shard directory for reading: its segments in index order. NULL
 * with a message in err when the directory cannot be read; a directory
 * with no segment reads as an empty log.
 */
struct kc_jreader *kc_jreader_open(const char *shard_dir, char *err,
				   size_t err_len);
void kc_jreader_close(struct kc_jreader *r);
/*
 * Invalid bytes after the end that reach further than this are not a torn
 * write but corruption (0: no limit). The writer never has more than its
 * buffer unsynced, so recovery passes buffer_bytes + KC_JREC_MAX_SIZE.
 */
void kc_jreader_set_torn_limit(struct kc_jreader *r, uint64_t bytes);

/*
 * The next valid record: true with its header, payload and position, or
 * false at the end of the valid log (see kc_jreader_end). SEGMENT records
 * are checked and skipped, not returned.
 */
bool kc_jreader_next(struct kc_jreader *r, struct kc_jrec *h,
		     const uint8_t **payload, struct kc_jpos *pos);

struct kc_jreader_end {
	enum kc_jend how;
	struct kc_jpos pos;	/* first byte after the last valid record */
	enum kc_jrec_check why;	/* what was wrong at pos (torn/corrupt) */
	uint64_t next_seq;	/* seq the next record must have */
	uint64_t torn_bytes;	/* non-zero bytes after pos in its segment */
	uint64_t segments;	/* segment files in the directory */
	uint64_t records;	/* valid records read */
	char detail[160];	/* human-readable: file, offset, reason */
};
/*
 * Go on reading at pos (a position kc_jreader_end gave, in a segment the
 * reader lists), expecting next_seq there: for following a live journal.
 * False if no such segment.
 */
bool kc_jreader_seek(struct kc_jreader *r, const struct kc_jpos *pos,
		     uint64_t next_seq);

/* After kc_jreader_next returned false. */
const struct kc_jreader_end *kc_jreader_end(const struct kc_jreader *r);

/* What the reader saw of each segment file (index order): for retention. */
struct kc_jseg_info {
	uint64_t index;
	uint64_t bytes;
	uint64_t first_seq;	/* 0: no record read in it */
	uint64_t last_seq;
	uint64_t last_time_ns;
};
uint32_t kc_jreader_segments(const struct kc_jreader *r);
void kc_jreader_segment_info(const struct kc_jreader *r, uint32_t i,
			     struct kc_jseg_info *info);

/* Bytes of all segment files, and how far the reader is (for progress). */
uint64_t kc_jreader_total_bytes(const struct kc_jreader *r);
uint64_t kc_jreader_done_bytes(const struct kc_jreader *r);

/* ---- one appliance per journal ------------------------------------------ */

#define KC_JLOCK_NAME "kingcobra.lock"

/*
 * Take DIR/kingcobra.lock (flock, exclusive) for this process and write
 * its PID there; create DIR if needed. Held until the process exits (the
 * kernel releases it however it ends). The descriptor (>= 0), -EBUSY when
 * another process holds it (err names its PID), or another negative
 * errno; a message in err.
 */
int kc_journal_lock(const char *dir, char *err, size_t err_len);
/* Who holds DIR's lock: its PID, -1 if held but the PID is unreadable,
 * 0 if no process holds it. For readers (kcq). */
long kc_journal_lock_holder(const char *dir);

/* ---- the reading rules: pairs and whole snapshots --------------------- */

/*
 * What a shard's records mean, by the rules of docs/journal-format.md
 * ("Reading rules"), in one place for recovery and kcq: a REQUEST and the
 * REPLY after it (ref = its seq) are a pair; the OK REPLY of an op that
 * leaves a hop (kc_op_has_hop) is followed by its LEDGER record (seq =
 * kc_jrec_hop_seq of the REQUEST's, ref = the REQUEST's), part of the pair;
 * consecutive SNAPSHOT records (ref = part 0's seq) make one snapshot, and
 * the rest of an interrupted one is left out.
 */
enum kc_jitem_kind {
	KC_JITEM_PAIR = 1,	/* req, rep and, with has_hop, hop */
	KC_JITEM_SNAPSHOT,	/* a whole snapshot, its parts put together */
	KC_JITEM_HEADLESS,	/* rec: a REPLY or LEDGER record before any
				 * REQUEST of a shard whose start retention
				 * deleted: its REQUEST went with it */
	KC_JITEM_PROBLEM,	/* rec broke a rule, text says which; the
				 * walk goes on after it */
	KC_JITEM_OUTCOME,	/* rec: a call's OUTCOME record (the REPLY
				 * its caller got), after the PAIR of the
				 * RESPOND or SETTLE that completed it */
};

struct kc_jmsg {
	struct kc_jrec h;
	const uint8_t *p;	/* h.payload_len bytes */
	struct kc_jpos pos;
};

struct kc_jitem {
	enum kc_jitem_kind kind;
	struct kc_jmsg req, rep, hop;	/* PAIR */
	bool has_hop;
	uint8_t snap_kind;		/* SNAPSHOT: KC_JSNAP_* */
	uint64_t snap_seq0;		/* seq of its first part */
	uint64_t snap_seq_last;		/* and of its last */
	const uint8_t *snap;		/* snap_len bytes */
	uint64_t snap_len;
	struct kc_jmsg rec;		/* the record: HEADLESS, PROBLEM; a
					 * SNAPSHOT's last part */
	char text[224];			/* PROBLEM */
};

struct kc_jwalk;
/*
 * Walk the records r gives (r stays the caller's, for its end and
 * segments). snap_max: the largest snapshot to put together; a larger one
 * is a PROBLEM. NULL when out of memory.
 */
struct kc_jwalk *kc_jwalk_open(struct kc_jreader *r, uint64_t snap_max);
void kc_jwalk_close(struct kc_jwalk *w);
/* The next item; false at the end of the valid log (kc_jreader_end). Its
 * pointers stay valid until the next call. */
bool kc_jwalk_next(struct kc_jwalk *w, struct kc_jitem *it);
/* The seq of the first record read (0: none yet): above 1 when retention
 * deleted the shard's start. */
uint64_t kc_jwalk_first_seq(const struct kc_jwalk *w);
/* At the end: the REQUEST left unanswered at the tail (no REPLY, or a
 * ledger REPLY without its LEDGER record): its position and seq. */
bool kc_jwalk_unanswered(const struct kc_jwalk *w, struct kc_jpos *pos,
			 uint64_t *seq);

/* ---- lookup by seq ----------------------------------------------------- */

/*
 * Read single records of a shard by seq (the money trail: hops point back
 * to each other by seq), while the writer appends and retention deletes.
 * For a control thread: it reads files. Not thread-safe.
 */
struct kc_jlookup;
struct kc_jlookup *kc_jlookup_open(const char *shard_dir);
void kc_jlookup_close(struct kc_jlookup *x);
/*
 * The valid record with this seq, its payload copied to payload (cap
 * bytes). 0; -ENOENT when no segment holds it (deleted by retention, or
 * not written yet); -EILSEQ when the data where it should be is not it;
 * another negative errno on an I/O error.
 */
int kc_jlookup_read(struct kc_jlookup *x, uint64_t seq, struct kc_jrec *h,
		    uint8_t *payload, uint32_t cap);

/* ---- writer ------------------------------------------------------------ */

enum kc_durability {
	KC_DURABILITY_NONE,	/* REPLY may leave before its group is on disk */
	KC_DURABILITY_BATCH,	/* REPLY leaves after its group is on disk */
};

/*
 * Cluster mode (docs/cluster.md): the I/O thread hands each group of the
 * lcore's records to replicate instead of writing it; the file gets only
 * what the Raft log committed (kc_journal_commit). replicate copies what
 * it needs: 0, -EAGAIN (not now: again on the next turn), or another
 * negative errno (the journal fails).
 */
struct kc_journal_repl {
	int (*replicate)(void *arg, uint16_t shard, uint64_t first_seq,
			 uint64_t last_seq, const struct iovec *iov, int nb_iov,
			 uint64_t bytes);
	void *arg;
};

struct kc_journal_cfg {
	const char *dir;		/* the journal directory (all shards) */
	uint16_t shard;
	enum kc_durability durability;
	uint64_t segment_bytes;
	uint64_t buffer_bytes;		/* in-memory ring, power of two */
	uint32_t group_max;		/* records per group commit */
	uint32_t group_wait_us;		/* longest wait to fill a group */
	uint64_t reserve_bytes;		/* room kept for requests that do not
					 * grow the queues */
	/* Retention: a segment no record of which is needed any more (see
	 * kc_journal_keep_from) goes when the shard holds more than
	 * retention_bytes or the segment is older than retention_age_s (0:
	 * that rule is off); never before keep_age_s (the idempotency window
	 * and clock skew: its REPLYs may still answer retries). */
	uint64_t retention_bytes;
	uint32_t retention_age_s;
	uint32_t keep_age_s;
	int socket_id;
	const struct kc_journal_repl *repl;	/* NULL: one node */
};

/* The writer's state, as the data path sees it. */
enum kc_journal_state {
	KC_JOURNAL_OK,
	KC_JOURNAL_FULL,	/* no preallocated room left: disk full */
	KC_JOURNAL_FAILED,	/* a write or fdatasync failed */
};

struct kc_journal;

/*
 * Open a shard for appending after recovery: end is where the reader
 * found the valid log to end. Bytes after it in its segment are zeroed and
 * later segments removed, so no stale record can ever follow a new one.
 * Creates the shard directory and its first segment when empty. NULL with
 * a message in err.
 */
struct kc_journal *kc_journal_open(const struct kc_journal_cfg *cfg,
				   const struct kc_jreader_end *end, char *err,
				   size_t err_len);
/*
 * The segments that were there before this run, as recovery read them
 * (kc_jreader_segment_info), so retention can consider them; segments it
 * was not told of are never deleted. Before kc_journal_start.
 */
int kc_journal_add_history(struct kc_journal *j,
			   const struct kc_jseg_info *segs, uint32_t n);
/* Start the I/O thread. 0 or a negative errno. */
int kc_journal_start(struct kc_journal *j);
/* Write and sync what was published, then stop the I/O thread. The
 * journal stays readable (durable seq, state) until kc_journal_close. */
void kc_journal_stop(struct kc_journal *j);
/* Stop if needed, close the files, free. */
void kc_journal_close(struct kc_journal *j);

/*
 * Data path, owning lcore only. kc_journal_room says whether records of
 * these total bytes (kc_jrec_size of each) can be appended now: buffer
 * space and preallocated disk space; a request that grows the queues also
 * leaves reserve_bytes of disk space to the others, so consumers can still
 * read and commit on a full disk. kc_journal_append copies one record in
 * and returns its seq; the I/O thread sees appended records only after
 * kc_journal_publish (once per burst).
 */
bool kc_journal_room(const struct kc_journal *j, uint64_t bytes, bool grows);
/* The same, saying what is missing. */
enum kc_journal_room {
	KC_ROOM_OK,
	KC_ROOM_BUFFER,		/* the ring buffer: the disk is behind */
	KC_ROOM_DISK,		/* preallocated space (see the state) */
	KC_ROOM_FAILED,		/* a write failed: nothing more */
};
enum kc_journal_room kc_journal_room_why(const struct kc_journal *j,
					 uint64_t bytes, bool grows);
uint64_t kc_journal_append(struct kc_journal *j, struct kc_jrec *h,
			   const void *payload);
/* The same, leaving the record unsealed at *rec: its payload may still
 * change in place, and kc_jrec_seal(*rec) must come before the next
 * kc_journal_publish. */
uint64_t kc_journal_append_open(struct kc_journal *j, struct kc_jrec *h,
				const void *payload, uint8_t **rec);
void kc_journal_publish(struct kc_journal *j);
/* Last seq known to be on disk (every record up to it); in cluster mode,
 * committed by the log and in this node's file. */
uint64_t kc_journal_durable_seq(const struct kc_journal *j);
/*
 * Cluster mode, from the Raft thread: a batch the log committed, records
 * first_seq..last_seq (len bytes, as the journal writes them; copied),
 * for the I/O thread to write to the file. It must go on from the file's
 * last record (the journal fails otherwise). 0, -EAGAIN (queue full),
 * -ENOMEM, -EINVAL (not in cluster mode).
 */
int kc_journal_commit(struct kc_journal *j, const uint8_t *records,
		      uint32_t len, uint64_t first_seq, uint64_t last_seq);
/* Last seq appended. */
uint64_t kc_journal_last_seq(const struct kc_journal *j);
/* Bytes appended so far (a position in the record stream). */
uint64_t kc_journal_appended(const struct kc_journal *j);
/*
 * The owning lcore says which records are still needed to recover its
 * state: none below seq. Segments whose records are all below it may go
 * (retention). Only ever rises.
 */
void kc_journal_keep_from(struct kc_journal *j, uint64_t seq);
enum kc_journal_state kc_journal_state(const struct kc_journal *j);
enum kc_durability kc_journal_durability(const struct kc_journal *j);

/* Figures of the I/O thread, for counters and the admin API. */
struct kc_journal_stats {
	uint64_t groups;		/* group commits done */
	uint64_t group_records_last;
	uint64_t group_records_max;
	uint64_t bytes_written;
	uint64_t fsyncs;
	uint64_t fsync_ns_last;
	uint64_t fsync_ns_max;
	uint64_t segments_created;
	uint64_t current_segment;
	uint64_t segments_deleted;
	uint64_t bytes_deleted;
	uint64_t write_errors;
	int last_errno;
};
void kc_journal_stats(const struct kc_journal *j, struct kc_journal_stats *s);

#endif /* KC_JOURNAL_H */
