/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Named queues held in memory by one worker lcore: PUBLISH appends and gets
 * an offset, FETCH reads from an offset, COMMIT records a consumer's offset.
 * When consumers are registered, what every one of them has consumed is
 * trimmed (the queue's first retained offset rises), so a queue lives on in
 * bounded memory; a queue nobody consumes keeps what it holds.
 *
 * A store belongs to exactly one lcore (queues are sharded over workers by a
 * hash of the name), so nothing here locks. Every byte is allocated when the
 * store is created; a full queue or table is an error status, never a
 * reallocation. The journal makes the contents durable: it replays the
 * operations, and a queue's snapshot (kc_queue_snapshot) stands for all
 * the operations before it, so older journal segments can go.
 */
#ifndef KC_QUEUE_H
#define KC_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_proto.h"

struct kc_queue_limits {
	uint32_t max_queues;
	uint32_t max_bytes_per_queue;
	uint32_t max_messages_per_queue;
	uint32_t max_consumers_per_queue;
};

struct kc_queue_store;

/* Allocate a store on a NUMA socket; NULL with rte_errno set on failure.
 * name must be unique per process (it names the hash table). */
struct kc_queue_store *kc_queue_store_create(const char *name,
					     const struct kc_queue_limits *lim,
					     int socket_id);
void kc_queue_store_free(struct kc_queue_store *s);

/* Bytes a store with these limits takes, for start-up messages. */
uint64_t kc_queue_store_bytes(const struct kc_queue_limits *lim);

/* The queue is created by its first PUBLISH. seq is the journal sequence
 * number of the PUBLISH (0 without a journal), kept for retention. */
enum kc_status kc_queue_publish(struct kc_queue_store *s,
				const struct kc_name *queue,
				const uint8_t *msg, uint32_t len, uint64_t seq,
				uint64_t *offset);

/*
 * Copy records from offset into out (each u32 length + bytes, as in a FETCH
 * reply) while they fit in cap and count < max (max 0: no count limit).
 * Fills r (records points into out). An offset at or past the end returns OK
 * with no records; one below the first retained offset starts there
 * (r->first_offset says so).
 */
enum kc_status kc_queue_fetch(struct kc_queue_store *s,
			      const struct kc_name *queue, uint64_t offset,
			      uint16_t max, uint8_t *out, uint32_t cap,
			      struct kc_fetch_reply *r);

/* Record a consumer's offset (first retained offset..end of queue), then
 * trim what every consumer has consumed. */
enum kc_status kc_queue_commit(struct kc_queue_store *s,
			       const struct kc_name *queue,
			       const struct kc_name *consumer,
			       uint64_t offset);

enum kc_status kc_queue_committed(struct kc_queue_store *s,
				  const struct kc_name *queue,
				  const struct kc_name *consumer,
				  uint64_t *offset);

/* Read-only views for the control plane (counts may be a little stale). */
uint32_t kc_queue_count(const struct kc_queue_store *s);
/* Queues are slots 0..kc_queue_count - 1; -1 when the name has none. */
int kc_queue_slot(const struct kc_queue_store *s, const struct kc_name *queue);
void kc_queue_bounds(const struct kc_queue_store *s, uint32_t slot,
		     uint64_t *low, uint64_t *end);

/* One queue as the admin API shows it; called on the owning lcore. */
struct kc_queue_info {
	struct kc_name name;
	uint64_t low;		/* first offset held */
	uint64_t end;		/* offset the next PUBLISH gets */
	uint64_t bytes;		/* message bytes held */
	uint32_t consumers;
};
void kc_queue_info(const struct kc_queue_store *s, uint32_t slot,
		   struct kc_queue_info *qi);
/* Consumer i (0..consumers - 1) of slot: its name and committed offset. */
void kc_queue_consumer(const struct kc_queue_store *s, uint32_t slot,
		       uint32_t i, struct kc_name *name, uint64_t *offset);

/*
 * Snapshots of one queue: its name, bounds, consumers and the messages it
 * holds (docs/journal-format.md, "Snapshots"). kc_queue_snapshot encodes
 * slot into out (at least kc_queue_snapshot_max bytes), returning the
 * length; kc_queue_restore makes the queue of the snapshot (created if
 * needed) exactly what was encoded.
 */
uint64_t kc_queue_snapshot_max(const struct kc_queue_limits *lim);
size_t kc_queue_snapshot(const struct kc_queue_store *s, uint32_t slot,
			 uint8_t *out, size_t cap);
bool kc_queue_snapshot_name(const uint8_t *snap, size_t len,
			    struct kc_name *name);
enum kc_status kc_queue_restore(struct kc_queue_store *s, const uint8_t *snap,
				size_t len);

/* Bytes kc_queue_snapshot would write for slot now. */
uint64_t kc_queue_snapshot_len(const struct kc_queue_store *s, uint32_t slot);

/*
 * Retention bookkeeping. kc_queue_snapshot_taken records the journal seqs
 * of the first and last parts of the slot's newest snapshot (it counts
 * once the last is durable). kc_queue_needed_from: the oldest journal seq
 * the queue still needs, given what is durable: its newest durable
 * snapshot (or its creation), and the PUBLISH of the oldest message a
 * registered consumer has not consumed.
 */
void kc_queue_snapshot_taken(struct kc_queue_store *s, uint32_t slot,
			     uint64_t seq, uint64_t seq_last);
uint64_t kc_queue_needed_from(struct kc_queue_store *s, uint32_t slot,
			      uint64_t durable_seq);

#endif /* KC_QUEUE_H */
