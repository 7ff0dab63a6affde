/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The message-id index of one worker (docs/journal-format.md,
 * "Idempotency"): the REPLY of every state-changing request it answered
 * within the window, by message id, so a retry gets that REPLY again
 * instead of a second execution.
 *
 * Entries live in a FIFO array in arrival order and an rte_hash maps a
 * message id to its slot. An entry leaves when it is older than the window
 * or when the FIFO is full; either way the time in its message id raises
 * its client's horizon, and a state-changing request whose message id is
 * not above its client's horizon is refused (EXPIRED): it could be a retry
 * of something forgotten. Horizons are per client, so a client with a bad
 * clock only ever hurts itself.
 */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "kc_worker.h"

struct kc_idem {
	struct rte_hash *hash;		/* msg_id -> slot */
	struct kc_idem_entry *e;	/* capacity of them, FIFO */
	uint32_t capacity;
	uint32_t head;			/* free-running */
	uint32_t tail;
	uint32_t nb_clients;
	uint64_t *horizon_ms;		/* per client index */
};

struct kc_idem *kc_idem_create(const char *name, uint32_t capacity,
			       uint32_t nb_clients, int socket_id)
{
	struct rte_hash_parameters hp = {
		.name = name,
		/* Twice the entries it ever holds: under load the index is
		 * full all the time, and a cuckoo table with no free slot
		 * searches long for one on every insert (measured: 44% of
		 * the lcore at 440k TRANSFERs/s, docs/performance.md). */
		.entries = 2 * capacity,
		.key_len = KC_MSG_ID_LEN,
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
		/* Every key fits, whatever the bucket collisions. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct kc_idem *x;

	x = rte_zmalloc_socket(name, sizeof(*x), RTE_CACHE_LINE_SIZE,
			       socket_id);
	if (x == NULL)
		return NULL;
	x->capacity = capacity;
	x->nb_clients = nb_clients;
	x->e = rte_zmalloc_socket(name, sizeof(*x->e) * capacity,
				  RTE_CACHE_LINE_SIZE, socket_id);
	x->horizon_ms = rte_zmalloc_socket(name, sizeof(uint64_t) *
					   (nb_clients ? nb_clients : 1),
					   RTE_CACHE_LINE_SIZE, socket_id);
	x->hash = rte_hash_create(&hp);
	if (x->e == NULL || x->horizon_ms == NULL || x->hash == NULL) {
		int err = rte_errno;

		kc_idem_free(x);
		rte_errno = err ? err : ENOMEM;
		return NULL;
	}
	return x;
}

void kc_idem_free(struct kc_idem *x)
{
	if (x == NULL)
		return;
	rte_hash_free(x->hash);
	rte_free(x->e);
	rte_free(x->horizon_ms);
	rte_free(x);
}

uint64_t kc_idem_bytes(uint32_t capacity)
{
	/* The entries, and roughly what rte_hash takes for two keys each. */
	return (uint64_t)capacity * (sizeof(struct kc_idem_entry) + 128);
}

const struct kc_idem_entry *kc_idem_find(const struct kc_idem *x,
					 const uint8_t msg_id[KC_MSG_ID_LEN])
{
	void *data;

	if (rte_hash_lookup_data(x->hash, msg_id, &data) < 0)
		return NULL;
	return &x->e[(uintptr_t)data];
}

static void evict_one(struct kc_idem *x)
{
	struct kc_idem_entry *old = &x->e[x->tail % x->capacity];
	uint64_t id_ms = kc_msg_id_time_ms(old->msg_id);

	rte_hash_del_key(x->hash, old->msg_id);
	if (old->client < x->nb_clients && id_ms > x->horizon_ms[old->client])
		x->horizon_ms[old->client] = id_ms;
	x->tail++;
}

bool kc_idem_insert(struct kc_idem *x, const struct kc_idem_entry *in,
		    bool *evicted_full)
{
	uint32_t slot;

	*evicted_full = false;
	if (in->len > KC_IDEM_REPLY_MAX)
		return false;
	if (x->head - x->tail == x->capacity) {
		evict_one(x);
		*evicted_full = true;
	}
	slot = x->head % x->capacity;
	x->e[slot] = *in;
	if (rte_hash_add_key_data(x->hash, in->msg_id,
				  (void *)(uintptr_t)slot) < 0)
		return false;
	x->head++;
	return true;
}

uint32_t kc_idem_expire(struct kc_idem *x, uint64_t before_ms, uint32_t max)
{
	uint32_t n = 0;

	while (n < max && x->tail != x->head &&
	       x->e[x->tail % x->capacity].arrival_ms < before_ms) {
		evict_one(x);
		n++;
	}
	return n;
}

uint64_t kc_idem_horizon(const struct kc_idem *x, uint32_t client)
{
	return client < x->nb_clients ? x->horizon_ms[client] : 0;
}
