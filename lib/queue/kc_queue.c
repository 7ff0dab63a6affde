/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "kc_queue.h"

struct kc_consumer {
	struct kc_name name;
	uint64_t offset;
};

struct kc_queue {
	struct kc_name name;
	uint32_t count;		/* messages held */
	uint32_t bytes_used;	/* of the arena */
	uint32_t consumer_count;
	uint32_t *start;	/* start[i]: arena offset of message i;
				 * start[count] == bytes_used */
	uint8_t *arena;
	struct kc_consumer *consumers;
};

struct kc_queue_store {
	struct kc_queue_limits lim;
	struct rte_hash *index;	/* name (zero-padded) -> queue slot */
	uint32_t queue_count;
	struct kc_queue *queues;
	void *block;		/* everything else, one allocation */
};

/* Hash keys are the name zero-padded to a fixed size. */
struct name_key {
	uint8_t b[KC_NAME_MAX];
};

static void make_key(struct name_key *k, const struct kc_name *n)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->b, n->s, n->len);
}

static uint64_t per_queue_bytes(const struct kc_queue_limits *lim)
{
	return (uint64_t)lim->max_bytes_per_queue +
	       ((uint64_t)lim->max_messages_per_queue + 1) * sizeof(uint32_t) +
	       (uint64_t)lim->max_consumers_per_queue *
		       sizeof(struct kc_consumer);
}

uint64_t kc_queue_store_bytes(const struct kc_queue_limits *lim)
{
	return (uint64_t)lim->max_queues *
	       (per_queue_bytes(lim) + sizeof(struct kc_queue));
}

struct kc_queue_store *kc_queue_store_create(const char *name,
					     const struct kc_queue_limits *lim,
					     int socket_id)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = lim->max_queues < 8 ? 8 : lim->max_queues,
		.key_len = sizeof(struct name_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
	};
	struct kc_queue_store *s;
	uint8_t *p;

	s = rte_zmalloc_socket(name, sizeof(*s), RTE_CACHE_LINE_SIZE,
			       socket_id);
	if (s == NULL)
		return NULL;
	s->lim = *lim;
	s->queues = rte_zmalloc_socket(name,
		sizeof(struct kc_queue) * lim->max_queues, RTE_CACHE_LINE_SIZE,
		socket_id);
	s->block = rte_malloc_socket(name, per_queue_bytes(lim) *
		lim->max_queues, RTE_CACHE_LINE_SIZE, socket_id);
	s->index = rte_hash_create(&hp);
	if (s->queues == NULL || s->block == NULL || s->index == NULL) {
		int err = rte_errno;

		kc_queue_store_free(s);
		rte_errno = err != 0 ? err : ENOMEM;
		return NULL;
	}
	p = s->block;
	for (uint32_t i = 0; i < lim->max_queues; i++) {
		struct kc_queue *q = &s->queues[i];

		q->arena = p;
		p += lim->max_bytes_per_queue;
		q->start = (uint32_t *)p;
		p += ((uint64_t)lim->max_messages_per_queue + 1) *
		     sizeof(uint32_t);
		q->consumers = (struct kc_consumer *)p;
		p += (uint64_t)lim->max_consumers_per_queue *
		     sizeof(struct kc_consumer);
	}
	return s;
}

void kc_queue_store_free(struct kc_queue_store *s)
{
	if (s == NULL)
		return;
	rte_hash_free(s->index);
	rte_free(s->block);
	rte_free(s->queues);
	rte_free(s);
}

static struct kc_queue *lookup(struct kc_queue_store *s,
			       const struct kc_name *n)
{
	struct name_key k;
	void *data;

	make_key(&k, n);
	if (rte_hash_lookup_data(s->index, &k, &data) < 0)
		return NULL;
	return &s->queues[(uintptr_t)data];
}

enum kc_status kc_queue_publish(struct kc_queue_store *s,
				const struct kc_name *queue,
				const uint8_t *msg, uint32_t len,
				uint64_t *offset)
{
	struct kc_queue *q = lookup(s, queue);

	if (len > KC_MSG_MAX)
		return KC_STATUS_TOO_LARGE;
	if (q == NULL) {
		struct name_key k;
		uint32_t slot = s->queue_count;

		if (slot >= s->lim.max_queues)
			return KC_STATUS_NO_SPACE;
		make_key(&k, queue);
		if (rte_hash_add_key_data(s->index, &k,
					  (void *)(uintptr_t)slot) < 0)
			return KC_STATUS_NO_SPACE;
		q = &s->queues[slot];
		q->name = *queue;
		q->count = 0;
		q->bytes_used = 0;
		q->consumer_count = 0;
		q->start[0] = 0;
		s->queue_count++;
	}
	if (q->count >= s->lim.max_messages_per_queue ||
	    len > s->lim.max_bytes_per_queue - q->bytes_used)
		return KC_STATUS_QUEUE_FULL;
	memcpy(q->arena + q->bytes_used, msg, len);
	q->bytes_used += len;
	*offset = q->count;
	q->count++;
	q->start[q->count] = q->bytes_used;
	return KC_STATUS_OK;
}

enum kc_status kc_queue_fetch(struct kc_queue_store *s,
			      const struct kc_name *queue, uint64_t offset,
			      uint16_t max, uint8_t *out, uint32_t cap,
			      struct kc_fetch_reply *r)
{
	struct kc_queue *q = lookup(s, queue);
	uint32_t used = 0;
	uint64_t o;

	if (q == NULL)
		return KC_STATUS_NOT_FOUND;
	r->first_offset = offset;
	r->end_offset = q->count;
	r->count = 0;
	r->records = out;
	for (o = offset; o < q->count; o++) {
		uint32_t len = q->start[o + 1] - q->start[o];

		if (max != 0 && r->count >= max)
			break;
		if (KC_FETCH_RECORD_OVERHEAD + len > cap - used)
			break;
		kc_put_u32(out + used, len);
		memcpy(out + used + KC_FETCH_RECORD_OVERHEAD,
		       q->arena + q->start[o], len);
		used += KC_FETCH_RECORD_OVERHEAD + len;
		r->count++;
	}
	r->next_offset = offset < q->count ? o : offset;
	r->records_len = used;
	return KC_STATUS_OK;
}

static struct kc_consumer *find_consumer(struct kc_queue *q,
					 const struct kc_name *c)
{
	for (uint32_t i = 0; i < q->consumer_count; i++)
		if (q->consumers[i].name.len == c->len &&
		    memcmp(q->consumers[i].name.s, c->s, c->len) == 0)
			return &q->consumers[i];
	return NULL;
}

enum kc_status kc_queue_commit(struct kc_queue_store *s,
			       const struct kc_name *queue,
			       const struct kc_name *consumer,
			       uint64_t offset)
{
	struct kc_queue *q = lookup(s, queue);
	struct kc_consumer *c;

	if (q == NULL)
		return KC_STATUS_NOT_FOUND;
	if (offset > q->count)
		return KC_STATUS_OUT_OF_RANGE;
	c = find_consumer(q, consumer);
	if (c == NULL) {
		if (q->consumer_count >= s->lim.max_consumers_per_queue)
			return KC_STATUS_NO_SPACE;
		c = &q->consumers[q->consumer_count++];
		c->name = *consumer;
	}
	c->offset = offset;
	return KC_STATUS_OK;
}

enum kc_status kc_queue_committed(struct kc_queue_store *s,
				  const struct kc_name *queue,
				  const struct kc_name *consumer,
				  uint64_t *offset)
{
	struct kc_queue *q = lookup(s, queue);
	struct kc_consumer *c;

	if (q == NULL)
		return KC_STATUS_NOT_FOUND;
	c = find_consumer(q, consumer);
	if (c == NULL)
		return KC_STATUS_NOT_FOUND;
	*offset = c->offset;
	return KC_STATUS_OK;
}

uint32_t kc_queue_count(const struct kc_queue_store *s)
{
	return s->queue_count;
}
