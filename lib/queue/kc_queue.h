/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Named queues held in memory by one worker lcore: PUBLISH appends and gets
 * an offset, FETCH reads from an offset, COMMIT records a consumer's offset.
 *
 * A store belongs to exactly one lcore (queues are sharded over workers by a
 * hash of the name), so nothing here locks. Every byte is allocated when the
 * store is created; a full queue or table is an error status, never a
 * reallocation. The journal issue makes the contents durable.
 */
#ifndef KC_QUEUE_H
#define KC_QUEUE_H

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

/* The queue is created by its first PUBLISH. */
enum kc_status kc_queue_publish(struct kc_queue_store *s,
				const struct kc_name *queue,
				const uint8_t *msg, uint32_t len,
				uint64_t *offset);

/*
 * Copy records from offset into out (each u32 length + bytes, as in a FETCH
 * reply) while they fit in cap and count < max (max 0: no count limit).
 * Fills r (records points into out). An offset at or past the end returns OK
 * with no records.
 */
enum kc_status kc_queue_fetch(struct kc_queue_store *s,
			      const struct kc_name *queue, uint64_t offset,
			      uint16_t max, uint8_t *out, uint32_t cap,
			      struct kc_fetch_reply *r);

/* Record a consumer's offset (0..end of queue). */
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

#endif /* KC_QUEUE_H */
