/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A node of the cluster (kc_cluster.h, docs/cluster.md): libraft with its
 * libuv disk layer and TCP transport, on a thread running the loop.
 *
 * libraft is not thread-safe: everything that touches it runs on that
 * thread. Batches from other threads wait in a queue under a mutex and a
 * uv_async wakes the loop to take them; what the loop learns is
 * published in atomics (released seqs, serving) and in a status copy
 * under a lock of its own.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "kc_cluster.h"

#define POLL_MS 5u

struct queued {
	struct kc_cbatch b;
	uint8_t *copy;			/* b.records */
};

struct kc_cluster {
	struct kc_cluster_cfg cfg;
	struct kc_cluster_hooks hooks;
	struct kc_cglue *g;
	uv_loop_t loop;
	uv_async_t wake;
	uv_check_t check;
	uv_timer_t timer;
	struct raft_uv_transport tr;
	struct raft_io io;
	struct raft r;
	pthread_t thread;
	/* Batches handed over, oldest first. */
	pthread_mutex_t qlock;
	struct queued *q;
	uint32_t qcap, qhead, qnb;
	bool closed;		/* stopping: no more hand-overs, no wake-up */
	bool tr_up, io_up;	/* what start made, for abandon */
	int quit;
	/* Published by the loop. */
	uint64_t released[KC_CGLUE_SHARDS_MAX];
	int serving;
	pthread_mutex_t slock;
	struct kc_cluster_status st;
};

const char *kc_cluster_role_name(enum kc_cluster_role role)
{
	static const char *const names[] = {
		"unavailable", "follower", "candidate", "leader",
	};

	return role <= KC_ROLE_LEADER ? names[role] : "?";
}

/* ---- the glue's callbacks, on the loop ------------------------------------- */

static int on_apply(void *arg, const struct kc_cbatch *b, bool own)
{
	struct kc_cluster *c = arg;

	return c->hooks.ops.apply(c->hooks.arg, b, own);
}

static void on_released(void *arg, uint16_t shard, uint64_t last_seq)
{
	struct kc_cluster *c = arg;

	__atomic_store_n(&c->released[shard], last_seq, __ATOMIC_RELEASE);
	if (c->hooks.ops.released != NULL)
		c->hooks.ops.released(c->hooks.arg, shard, last_seq);
	/* Room in flight: the queue goes on after this turn (on_check),
	 * not from inside libraft's callback. */
}

static void on_lost(void *arg, const struct kc_cbatch *b)
{
	struct kc_cluster *c = arg;

	if (c->hooks.ops.lost != NULL)
		c->hooks.ops.lost(c->hooks.arg, b);
}

static void on_serving(void *arg, bool on, uint64_t term)
{
	struct kc_cluster *c = arg;

	__atomic_store_n(&c->serving, on, __ATOMIC_RELEASE);
	if (c->hooks.ops.serving != NULL)
		c->hooks.ops.serving(c->hooks.arg, on, term);
}

static void *on_snapshot(void *arg, size_t *len)
{
	struct kc_cluster *c = arg;

	return c->hooks.ops.snapshot(c->hooks.arg, len);
}

static int on_restore(void *arg, const void *p, size_t len)
{
	struct kc_cluster *c = arg;

	return c->hooks.ops.restore(c->hooks.arg, p, len);
}

static const struct kc_cglue_ops glue_ops = {
	.apply = on_apply, .released = on_released, .lost = on_lost,
	.serving = on_serving, .snapshot = on_snapshot,
	.restore = on_restore,
};

/* ---- the loop --------------------------------------------------------------- */

/* Submit what waits, as long as the glue takes it. */
static void drain(struct kc_cluster *c)
{
	pthread_mutex_lock(&c->qlock);
	while (c->qnb != 0) {
		struct queued *h = &c->q[c->qhead];
		int rc = kc_cglue_submit(c->g, &h->b);

		if (rc == -EAGAIN)
			break;		/* again when one is released */
		if (rc != 0) {
			/* Executed here and not in the log: this node's
			 * state is no longer the log's. */
			kc_cglue_set_stale(c->g);
			on_lost(c, &h->b);
		}
		free(h->copy);
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qnb--;
	}
	pthread_mutex_unlock(&c->qlock);
}

static void publish(struct kc_cluster *c)
{
	struct kc_cglue_info in;
	struct kc_cluster_status st = { 0 };
	const char *addr = NULL;
	raft_id id = 0;

	kc_cglue_info(c->g, &in);
	switch (raft_state(&c->r)) {
	case RAFT_FOLLOWER:
		st.role = KC_ROLE_FOLLOWER;
		break;
	case RAFT_CANDIDATE:
		st.role = KC_ROLE_CANDIDATE;
		break;
	case RAFT_LEADER:
		st.role = KC_ROLE_LEADER;
		break;
	default:
		st.role = KC_ROLE_UNAVAILABLE;
	}
	raft_leader(&c->r, &id, &addr);
	st.leader_id = id;
	if (addr != NULL)
		snprintf(st.leader_address, sizeof(st.leader_address), "%s",
			 addr);
	st.serving = in.serving;
	st.failed = in.failed;
	st.stale = in.stale;
	st.term = c->r.current_term;
	st.commit_index = c->r.commit_index;
	st.last_applied = raft_last_applied(&c->r);
	st.batches_applied = in.applied;
	st.batches_released = in.released;
	st.batches_lost = in.lost;
	pthread_mutex_lock(&c->slock);
	c->st = st;
	pthread_mutex_unlock(&c->slock);
}

/* After every turn of the loop: the role, then what waits. */
static void on_check(uv_check_t *h)
{
	struct kc_cluster *c = h->data;

	kc_cglue_poll(c->g);
	drain(c);
	publish(c);
}

static void on_timer(uv_timer_t *h)
{
	(void)h;	/* only to make the loop turn */
}

static void on_handle_closed(uv_handle_t *h)
{
	(void)h;
}

static void on_raft_closed(struct raft *r)
{
	struct kc_cluster *c = r->data;

	raft_uv_close(&c->io);
	raft_uv_tcp_close(&c->tr);
	uv_close((uv_handle_t *)&c->wake, on_handle_closed);
	uv_close((uv_handle_t *)&c->check, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_wake(uv_async_t *h)
{
	struct kc_cluster *c = h->data;

	if (__atomic_load_n(&c->quit, __ATOMIC_ACQUIRE) == 1) {
		__atomic_store_n(&c->quit, 2, __ATOMIC_RELEASE);
		uv_check_stop(&c->check);
		uv_timer_stop(&c->timer);
		raft_close(&c->r, on_raft_closed);
		return;
	}
	if (__atomic_load_n(&c->quit, __ATOMIC_ACQUIRE) == 0)
		drain(c);
}

static void *loop_main(void *arg)
{
	struct kc_cluster *c = arg;

	uv_run(&c->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* ---- life ------------------------------------------------------------------ */

/* The loop has ended: free everything. */
static void release(struct kc_cluster *c)
{
	uv_loop_close(&c->loop);
	kc_cglue_free(c->g);
	for (uint32_t i = 0; i < c->qnb; i++)
		free(c->q[(c->qhead + i) % c->qcap].copy);
	free(c->q);
	pthread_mutex_destroy(&c->qlock);
	pthread_mutex_destroy(&c->slock);
	free(c);
}

/* Close what start opened, on this thread: the loop runs until every
 * handle is closed. */
static void abandon(struct kc_cluster *c, bool raft_up)
{
	if (raft_up) {
		raft_close(&c->r, on_raft_closed);
	} else {
		if (c->io_up)
			raft_uv_close(&c->io);
		if (c->tr_up)
			raft_uv_tcp_close(&c->tr);
		uv_close((uv_handle_t *)&c->wake, on_handle_closed);
		uv_close((uv_handle_t *)&c->check, on_handle_closed);
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	}
	uv_run(&c->loop, UV_RUN_DEFAULT);
	release(c);
}

static const char *self_address(const struct kc_cluster_cfg *cfg)
{
	for (uint32_t i = 0; i < cfg->nb_nodes; i++)
		if (cfg->nodes[i].id == cfg->self)
			return cfg->nodes[i].address;
	return NULL;
}

struct kc_cluster *kc_cluster_start(const struct kc_cluster_cfg *cfg,
				    const struct kc_cluster_hooks *hooks,
				    char *err, size_t err_len)
{
	const char *me = self_address(cfg);
	struct raft_configuration conf;
	struct kc_cluster *c;
	int rc;

	if (me == NULL) {
		snprintf(err, err_len, "node %" PRIu64 " is not one of the "
			 "cluster's nodes", cfg->self);
		return NULL;
	}
	if (mkdir(cfg->dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, err_len, "cannot make %s: %s", cfg->dir,
			 strerror(errno));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto nomem;
	c->cfg = *cfg;
	c->hooks = *hooks;
	c->qcap = cfg->max_queued ? cfg->max_queued : 1;
	c->q = calloc(c->qcap, sizeof(*c->q));
	c->g = kc_cglue_create(&glue_ops, c, cfg->self,
			       cfg->max_inflight ? cfg->max_inflight : 1);
	if (c->q == NULL || c->g == NULL) {
		kc_cglue_free(c->g);
		free(c->q);
		free(c);
		goto nomem;
	}
	pthread_mutex_init(&c->qlock, NULL);
	pthread_mutex_init(&c->slock, NULL);
	for (uint16_t s = 0; s < KC_CGLUE_SHARDS_MAX; s++)
		if (cfg->next_seq[s] != 0)
			kc_cglue_start_at(c->g, s, cfg->next_seq[s]);
	/* libuv writes to sockets without MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&c->loop);
	uv_async_init(&c->loop, &c->wake, on_wake);
	uv_check_init(&c->loop, &c->check);
	uv_timer_init(&c->loop, &c->timer);
	c->wake.data = c->check.data = c->timer.data = c;
	rc = raft_uv_tcp_init(&c->tr, &c->loop);
	c->tr_up = rc == 0;
	if (rc == 0)
		rc = raft_uv_init(&c->io, &c->loop, cfg->dir, &c->tr);
	c->io_up = c->tr_up && rc == 0;
	if (rc != 0) {
		snprintf(err, err_len, "the Raft log in %s: %s", cfg->dir,
			 c->tr_up && c->io.errmsg[0] ? c->io.errmsg :
			 raft_strerror(rc));
		abandon(c, false);
		return NULL;
	}
	/* A damaged log stops the node (RAFT_CORRUPT) instead of being set
	 * aside with its committed entries (docs/cluster.md). */
	raft_uv_set_auto_recovery(&c->io, false);
	rc = raft_init(&c->r, &c->io, kc_cglue_fsm(c->g), cfg->self, me);
	if (rc != 0) {
		snprintf(err, err_len, "raft_init: %s", raft_errmsg(&c->r));
		abandon(c, false);
		return NULL;
	}
	c->r.data = c;
	kc_cglue_attach(c->g, &c->r);
	raft_configuration_init(&conf);
	for (uint32_t i = 0; i < cfg->nb_nodes; i++)
		raft_configuration_add(&conf, cfg->nodes[i].id,
				       cfg->nodes[i].address, RAFT_VOTER);
	rc = raft_bootstrap(&c->r, &conf);
	raft_configuration_close(&conf);
	if (rc != 0 && rc != RAFT_CANTBOOTSTRAP) {
		snprintf(err, err_len, "raft_bootstrap in %s: %s", cfg->dir,
			 raft_errmsg(&c->r));
		abandon(c, true);
		return NULL;
	}
	if (cfg->election_timeout_ms != 0)
		raft_set_election_timeout(&c->r, cfg->election_timeout_ms);
	if (cfg->heartbeat_ms != 0)
		raft_set_heartbeat_timeout(&c->r, cfg->heartbeat_ms);
	if (cfg->snapshot_threshold != 0)
		raft_set_snapshot_threshold(&c->r, cfg->snapshot_threshold);
	if (cfg->snapshot_trailing != 0)
		raft_set_snapshot_trailing(&c->r, cfg->snapshot_trailing);
	if (cfg->install_snapshot_timeout_ms != 0)
		raft_set_install_snapshot_timeout(&c->r,
					cfg->install_snapshot_timeout_ms);
	rc = raft_start(&c->r);
	if (rc != 0) {
		snprintf(err, err_len, "raft_start in %s: %s", cfg->dir,
			 raft_errmsg(&c->r));
		abandon(c, true);
		return NULL;
	}
	uv_check_start(&c->check, on_check);
	uv_timer_start(&c->timer, on_timer, POLL_MS, POLL_MS);
	publish(c);
	rc = pthread_create(&c->thread, NULL, loop_main, c);
	if (rc != 0) {
		snprintf(err, err_len, "cannot start the Raft thread: %s",
			 strerror(rc));
		uv_check_stop(&c->check);
		uv_timer_stop(&c->timer);
		abandon(c, true);
		return NULL;
	}
	pthread_setname_np(c->thread, "kc-raft");
	return c;
nomem:
	snprintf(err, err_len, "out of memory for the cluster node");
	return NULL;
}

void kc_cluster_stop(struct kc_cluster *c)
{
	if (c == NULL)
		return;
	/* No hand-over from here on may wake a loop that is closing. */
	pthread_mutex_lock(&c->qlock);
	c->closed = true;
	__atomic_store_n(&c->serving, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->qlock);
	__atomic_store_n(&c->quit, 1, __ATOMIC_RELEASE);
	uv_async_send(&c->wake);
	pthread_join(c->thread, NULL);
	release(c);
}

int kc_cluster_submit(struct kc_cluster *c, const struct kc_cbatch *b)
{
	const struct iovec one = { (void *)(uintptr_t)b->records, b->len };

	return kc_cluster_submitv(c, b, &one, 1);
}

int kc_cluster_submitv(struct kc_cluster *c, const struct kc_cbatch *b,
		       const struct iovec *iov, int nb_iov)
{
	struct queued *t;
	uint8_t *copy;
	size_t off = 0;

	if (!__atomic_load_n(&c->serving, __ATOMIC_ACQUIRE))
		return -ENOTCONN;
	copy = malloc(b->len ? b->len : 1);
	if (copy == NULL)
		return -ENOMEM;
	for (int i = 0; i < nb_iov && off + iov[i].iov_len <= b->len; i++) {
		memcpy(copy + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	pthread_mutex_lock(&c->qlock);
	if (c->closed || c->qnb == c->qcap) {
		int rc = c->closed ? -ENOTCONN : -EAGAIN;

		pthread_mutex_unlock(&c->qlock);
		free(copy);
		return rc;
	}
	t = &c->q[(c->qhead + c->qnb) % c->qcap];
	t->b = *b;
	t->b.records = copy;
	t->copy = copy;
	c->qnb++;
	/* Under the lock: kc_cluster_stop closes the handle only after it
	 * has set closed under it. */
	uv_async_send(&c->wake);
	pthread_mutex_unlock(&c->qlock);
	return 0;
}

uint64_t kc_cluster_released(const struct kc_cluster *c, uint16_t shard)
{
	return shard < KC_CGLUE_SHARDS_MAX ?
	       __atomic_load_n(&c->released[shard], __ATOMIC_ACQUIRE) : 0;
}

void kc_cluster_status(struct kc_cluster *c, struct kc_cluster_status *st)
{
	pthread_mutex_lock(&c->slock);
	*st = c->st;
	pthread_mutex_unlock(&c->slock);
}
