/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Named queues of one worker. Each queue holds the messages from its first
 * retained offset (low) to its end in two rings allocated at start-up: a
 * byte arena (max_bytes_per_queue) and a ring of per-message entries
 * (max_messages_per_queue). A message is stored contiguously; one that
 * would wrap starts over at the arena's beginning and the bytes skipped
 * count as used until the message before them is trimmed.
 *
 * Trimming: when consumers are registered, messages below the lowest
 * committed offset have been consumed by every one of them and are
 * dropped, which is what lets a queue live forever in bounded memory and
 * the journal forget old segments. A queue nobody consumes keeps all it
 * holds (and is QUEUE_FULL when full).
 */
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

struct kc_msg {
	uint64_t pos;		/* arena position, free-running */
	uint64_t seq;		/* journal seq of its PUBLISH (0: none) */
	uint32_t len;
};

struct kc_queue {
	struct kc_name name;
	uint64_t low;		/* first offset held */
	uint64_t end;		/* offset the next PUBLISH gets */
	uint64_t head;		/* arena bytes placed, skips included */
	uint64_t created_seq;	/* journal seq of the PUBLISH that made it */
	uint64_t snap_seq;	/* its newest snapshot in the journal */
	uint64_t snap_seq_last;	/* ... the seq of its last part */
	uint64_t snap_seq_durable; /* the newest known to be on disk */
	uint32_t consumer_count;
	struct kc_msg *msgs;	/* ring: offset o at msgs[o % max_messages] */
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
	       (uint64_t)lim->max_messages_per_queue * sizeof(struct kc_msg) +
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
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
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

		q->msgs = (struct kc_msg *)p;
		p += (uint64_t)lim->max_messages_per_queue *
		     sizeof(struct kc_msg);
		q->consumers = (struct kc_consumer *)p;
		p += (uint64_t)lim->max_consumers_per_queue *
		     sizeof(struct kc_consumer);
		q->arena = p;
		p += lim->max_bytes_per_queue;
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

static int lookup_slot(const struct kc_queue_store *s,
		       const struct kc_name *n)
{
	struct name_key k;
	void *data;

	make_key(&k, n);
	if (rte_hash_lookup_data(s->index, &k, &data) < 0)
		return -1;
	return (int)(uintptr_t)data;
}

static struct kc_queue *lookup(struct kc_queue_store *s,
			       const struct kc_name *n)
{
	int slot = lookup_slot(s, n);

	return slot < 0 ? NULL : &s->queues[slot];
}

/* A new, empty queue; NULL when max_queues are made. */
static struct kc_queue *create(struct kc_queue_store *s,
			       const struct kc_name *n, uint64_t seq)
{
	uint32_t slot = s->queue_count;
	struct kc_queue *q;
	struct name_key k;

	if (slot >= s->lim.max_queues)
		return NULL;
	make_key(&k, n);
	if (rte_hash_add_key_data(s->index, &k, (void *)(uintptr_t)slot) < 0)
		return NULL;
	q = &s->queues[slot];
	q->name = *n;
	q->low = q->end = q->head = 0;
	q->consumer_count = 0;
	q->created_seq = seq;
	q->snap_seq = q->snap_seq_last = q->snap_seq_durable = 0;
	s->queue_count++;
	return q;
}

static struct kc_msg *msg_at(const struct kc_queue_store *s,
			     const struct kc_queue *q, uint64_t offset)
{
	return &q->msgs[offset % s->lim.max_messages_per_queue];
}

/* Place len bytes in the arena: the position, or UINT64_MAX when they do
 * not fit beside what is held. */
static uint64_t place(const struct kc_queue_store *s, const struct kc_queue *q,
		      uint32_t len)
{
	const uint64_t cap = s->lim.max_bytes_per_queue;
	uint64_t pos = q->head;
	uint64_t tail = q->low < q->end ? msg_at(s, q, q->low)->pos : pos;

	if (pos % cap + len > cap)
		pos += cap - pos % cap; /* start over at the beginning */
	if (q->low == q->end)
		tail = pos;
	return pos + len - tail <= cap ? pos : UINT64_MAX;
}

static void append(const struct kc_queue_store *s, struct kc_queue *q,
		   uint64_t pos, const uint8_t *msg, uint32_t len, uint64_t seq)
{
	struct kc_msg *m = msg_at(s, q, q->end);

	memcpy(q->arena + pos % s->lim.max_bytes_per_queue, msg, len);
	m->pos = pos;
	m->len = len;
	m->seq = seq;
	q->head = pos + len;
	q->end++;
}

enum kc_status kc_queue_publish(struct kc_queue_store *s,
				const struct kc_name *queue,
				const uint8_t *msg, uint32_t len, uint64_t seq,
				uint64_t *offset)
{
	struct kc_queue *q = lookup(s, queue);
	uint64_t pos;

	if (len > KC_MSG_MAX)
		return KC_STATUS_TOO_LARGE;
	if (q == NULL) {
		q = create(s, queue, seq);
		if (q == NULL)
			return KC_STATUS_NO_SPACE;
	}
	if (q->end - q->low >= s->lim.max_messages_per_queue)
		return KC_STATUS_QUEUE_FULL;
	pos = place(s, q, len);
	if (pos == UINT64_MAX)
		return KC_STATUS_QUEUE_FULL;
	*offset = q->end;
	append(s, q, pos, msg, len, seq);
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
	/* Below what is held: from the first offset held. */
	if (offset < q->low)
		offset = q->low;
	r->first_offset = offset;
	r->end_offset = q->end;
	r->count = 0;
	r->records = out;
	for (o = offset; o < q->end; o++) {
		const struct kc_msg *m = msg_at(s, q, o);

		if (max != 0 && r->count >= max)
			break;
		if (KC_FETCH_RECORD_OVERHEAD + m->len > cap - used)
			break;
		kc_put_u32(out + used, m->len);
		memcpy(out + used + KC_FETCH_RECORD_OVERHEAD,
		       q->arena + m->pos % s->lim.max_bytes_per_queue, m->len);
		used += KC_FETCH_RECORD_OVERHEAD + m->len;
		r->count++;
	}
	r->next_offset = offset < q->end ? o : offset;
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

/* Drop what every consumer has consumed. */
static void trim(struct kc_queue *q)
{
	uint64_t min = q->end;

	for (uint32_t i = 0; i < q->consumer_count; i++)
		if (q->consumers[i].offset < min)
			min = q->consumers[i].offset;
	if (min > q->low)
		q->low = min;
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
	if (offset > q->end || offset < q->low)
		return KC_STATUS_OUT_OF_RANGE;
	c = find_consumer(q, consumer);
	if (c == NULL) {
		if (q->consumer_count >= s->lim.max_consumers_per_queue)
			return KC_STATUS_NO_SPACE;
		c = &q->consumers[q->consumer_count++];
		c->name = *consumer;
	}
	c->offset = offset;
	trim(q);
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

int kc_queue_slot(const struct kc_queue_store *s, const struct kc_name *queue)
{
	return lookup_slot(s, queue);
}

void kc_queue_bounds(const struct kc_queue_store *s, uint32_t slot,
		     uint64_t *low, uint64_t *end)
{
	*low = s->queues[slot].low;
	*end = s->queues[slot].end;
}

/* ---- snapshots ----------------------------------------------------------- */

#define SNAP_MAGIC 0x5351434bu /* "KCQS" little-endian */
#define SNAP_VERSION 1u
#define SNAP_FIXED (4u + 2u + 1u + KC_NAME_MAX + 8u + 8u + 8u + 8u + 8u + 4u)
#define SNAP_CONSUMER (1u + KC_NAME_MAX + 8u)
#define SNAP_MSG (4u + 8u)

static uint8_t *put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + bytes;
}

static uint64_t get_le(const uint8_t *p, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t kc_queue_snapshot_max(const struct kc_queue_limits *lim)
{
	return SNAP_FIXED +
	       (uint64_t)lim->max_consumers_per_queue * SNAP_CONSUMER +
	       (uint64_t)lim->max_messages_per_queue * SNAP_MSG +
	       lim->max_bytes_per_queue;
}

uint64_t kc_queue_snapshot_len(const struct kc_queue_store *s, uint32_t slot)
{
	const struct kc_queue *q = &s->queues[slot];
	uint64_t len = SNAP_FIXED - KC_NAME_MAX + q->name.len;

	for (uint32_t i = 0; i < q->consumer_count; i++)
		len += SNAP_CONSUMER - KC_NAME_MAX + q->consumers[i].name.len;
	for (uint64_t o = q->low; o < q->end; o++)
		len += SNAP_MSG + msg_at(s, q, o)->len;
	return len;
}

size_t kc_queue_snapshot(const struct kc_queue_store *s, uint32_t slot,
			 uint8_t *out, size_t cap)
{
	const struct kc_queue *q = &s->queues[slot];
	uint8_t *p = out;

	if (cap < kc_queue_snapshot_max(&s->lim))
		return 0;
	p = put_le(p, SNAP_MAGIC, 4);
	p = put_le(p, SNAP_VERSION, 2);
	*p++ = q->name.len;
	memcpy(p, q->name.s, q->name.len);
	p += q->name.len;
	p = put_le(p, q->low, 8);
	p = put_le(p, q->end, 8);
	p = put_le(p, q->created_seq, 8);
	/* Where the arena's bytes are: a restored queue is laid out as the
	 * original, so it fills up at exactly the same PUBLISH. */
	p = put_le(p, q->low < q->end ? msg_at(s, q, q->low)->pos : q->head,
		   8);
	p = put_le(p, q->head, 8);
	p = put_le(p, q->consumer_count, 4);
	for (uint32_t i = 0; i < q->consumer_count; i++) {
		*p++ = q->consumers[i].name.len;
		memcpy(p, q->consumers[i].name.s, q->consumers[i].name.len);
		p += q->consumers[i].name.len;
		p = put_le(p, q->consumers[i].offset, 8);
	}
	for (uint64_t o = q->low; o < q->end; o++) {
		const struct kc_msg *m = msg_at(s, q, o);

		p = put_le(p, m->len, 4);
		p = put_le(p, m->seq, 8);
		memcpy(p, q->arena + m->pos % s->lim.max_bytes_per_queue,
		       m->len);
		p += m->len;
	}
	return (size_t)(p - out);
}

/* A cursor over snapshot bytes: every read is bounds-checked. */
struct rd {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static uint64_t rd_le(struct rd *r, unsigned int bytes)
{
	uint64_t v;

	if (r->bad || r->left < bytes) {
		r->bad = true;
		return 0;
	}
	v = get_le(r->p, bytes);
	r->p += bytes;
	r->left -= bytes;
	return v;
}

static const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static bool rd_name(struct rd *r, struct kc_name *n)
{
	uint8_t len = (uint8_t)rd_le(r, 1);
	const uint8_t *b = rd_bytes(r, len);

	if (b == NULL || !kc_name_valid(b, len))
		return false;
	n->len = len;
	memcpy(n->s, b, len);
	n->s[len] = '\0';
	return true;
}

bool kc_queue_snapshot_name(const uint8_t *snap, size_t len,
			    struct kc_name *name)
{
	struct rd r = { snap, len, false };

	if (rd_le(&r, 4) != SNAP_MAGIC || rd_le(&r, 2) != SNAP_VERSION)
		return false;
	return rd_name(&r, name);
}

enum kc_status kc_queue_restore(struct kc_queue_store *s, const uint8_t *snap,
				size_t len)
{
	struct rd r = { snap, len, false };
	struct kc_name name;
	struct kc_queue *q;
	uint64_t low, end, created, first_pos, head;
	uint32_t consumers;

	if (rd_le(&r, 4) != SNAP_MAGIC || rd_le(&r, 2) != SNAP_VERSION ||
	    !rd_name(&r, &name))
		return KC_STATUS_BAD_REQUEST;
	low = rd_le(&r, 8);
	end = rd_le(&r, 8);
	created = rd_le(&r, 8);
	first_pos = rd_le(&r, 8);
	head = rd_le(&r, 8);
	consumers = (uint32_t)rd_le(&r, 4);
	if (r.bad || end < low)
		return KC_STATUS_BAD_REQUEST;
	if (end - low > s->lim.max_messages_per_queue ||
	    consumers > s->lim.max_consumers_per_queue)
		return KC_STATUS_QUEUE_FULL;
	q = lookup(s, &name);
	if (q == NULL)
		q = create(s, &name, created);
	if (q == NULL)
		return KC_STATUS_NO_SPACE;
	q->created_seq = created;
	q->consumer_count = 0;
	for (uint32_t i = 0; i < consumers; i++) {
		struct kc_consumer *c = &q->consumers[i];

		if (!rd_name(&r, &c->name))
			return KC_STATUS_BAD_REQUEST;
		c->offset = rd_le(&r, 8);
		q->consumer_count++;
	}
	q->low = q->end = low;
	q->head = first_pos;
	for (uint64_t o = low; o < end; o++) {
		uint32_t mlen = (uint32_t)rd_le(&r, 4);
		uint64_t seq = rd_le(&r, 8);
		const uint8_t *b = rd_bytes(&r, mlen);
		uint64_t pos;

		if (b == NULL || mlen > KC_MSG_MAX)
			return KC_STATUS_BAD_REQUEST;
		pos = place(s, q, mlen);
		if (pos == UINT64_MAX)
			return KC_STATUS_QUEUE_FULL;
		append(s, q, pos, b, mlen, seq);
	}
	if (r.bad || r.left != 0 || q->head > head)
		return KC_STATUS_BAD_REQUEST;
	q->head = head;
	return KC_STATUS_OK;
}

void kc_queue_snapshot_taken(struct kc_queue_store *s, uint32_t slot,
			     uint64_t seq, uint64_t seq_last)
{
	s->queues[slot].snap_seq = seq;
	s->queues[slot].snap_seq_last = seq_last;
}

uint64_t kc_queue_needed_from(struct kc_queue_store *s, uint32_t slot,
			      uint64_t durable_seq)
{
	struct kc_queue *q = &s->queues[slot];
	uint64_t state_from, data_from = UINT64_MAX;

	/* A snapshot counts once its last part is on disk. */
	if (q->snap_seq != 0 && q->snap_seq_last <= durable_seq)
		q->snap_seq_durable = q->snap_seq;
	/* Its state: from its newest snapshot on disk, or its creation. */
	state_from = q->snap_seq_durable != 0 ? q->snap_seq_durable :
						 q->created_seq;
	/* Its data: the PUBLISH of the oldest message a registered consumer
	 * has not consumed yet. */
	if (q->consumer_count != 0 && q->low < q->end)
		data_from = msg_at(s, q, q->low)->seq;
	return state_from < data_from ? state_from : data_from;
}

void kc_queue_info(const struct kc_queue_store *s, uint32_t slot,
		   struct kc_queue_info *qi)
{
	const struct kc_queue *q = &s->queues[slot];
	uint64_t bytes = 0;

	for (uint64_t o = q->low; o < q->end; o++)
		bytes += q->msgs[o % s->lim.max_messages_per_queue].len;
	*qi = (struct kc_queue_info){
		.name = q->name, .low = q->low, .end = q->end,
		.bytes = bytes, .consumers = q->consumer_count,
	};
}

void kc_queue_consumer(const struct kc_queue_store *s, uint32_t slot,
		       uint32_t i, struct kc_name *name, uint64_t *offset)
{
	const struct kc_consumer *c = &s->queues[slot].consumers[i];

	*name = c->name;
	*offset = c->offset;
}
