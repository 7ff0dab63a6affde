/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ledger's part of worker 0, and its control thread.
 *
 * The worker owns the ledger and never blocks. What needs files is done by
 * a control thread ("kc-ledger"): walking a coin's money trail back through
 * the journal (TRAIL), and recording which ledger snapshot recovery may
 * start from (DIR/ledger.snapshot). TRAILs travel to it and back through
 * two single-producer, single-consumer rings of job pointers; the thread
 * reads nothing of the ledger itself, only the journal, so no lock is
 * shared with the data path.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "kc_worker.h"

#define TRAIL_WAIT_NS (2ull * 1000 * 1000 * 1000)
#define IDLE_US 500u

struct kc_ledger_ctl {
	pthread_t thread;
	int quit;
	struct kc_worker_state *w;
	struct kc_jlookup *x;
	struct kc_hop *hops;
	/* The trail in hops: a client pages through one trail with as many
	 * TRAILs, which then walk it once. */
	uint64_t hops_coin, hops_last;
	uint32_t hops_nb;
	uint64_t hint_written;
	char hint_path[KC_CFG_PATH_MAX + 32];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Service calls, beside the ledger: their tables, and the mbuf pool their
 * DELIVERs and callers' REPLYs come from (the ports' pool of this
 * socket, or any port's).
 */
static int services_create(const struct kc_config *cfg,
			   struct kc_worker_state *w, int socket_id,
			   char *err, size_t err_len)
{
	struct kc_ledger_ws *lw = w->ledger;
	const uint32_t replay_s = cfg->idempotency.window_s +
				  cfg->idempotency.max_clock_skew_s;
	const struct kc_services_limits lim = {
		.max_services = cfg->services.max_services,
		.max_types = cfg->services.max_types,
		.max_calls = cfg->services.max_calls,
		.max_payload = cfg->services.max_payload,
		.max_deadline_ms = cfg->services.max_deadline_ms,
		.report_window_s = cfg->services.report_window_s,
		.settle_hold_s = cfg->services.settle_hold_s,
		/* A retried CALL of a forgotten call would be a new one:
		 * a call is kept as long as its id may come back. */
		.keep_s = RTE_MAX(cfg->services.report_window_s, replay_s),
		.quarantine_below_ppm = cfg->arbiter.quarantine_below_ppm,
		.min_calls = cfg->arbiter.min_calls,
		.quarantine_s = cfg->arbiter.quarantine_s,
	};
	char name[RTE_MEMPOOL_NAMESIZE];

	snprintf(name, sizeof(name), "kc_mbufs_s%d", socket_id);
	lw->mp = rte_mempool_lookup(name);
	for (int s = 0; lw->mp == NULL && s < RTE_MAX_NUMA_NODES; s++) {
		snprintf(name, sizeof(name), "kc_mbufs_s%d", s);
		lw->mp = rte_mempool_lookup(name);
	}
	lw->svc = kc_services_create("kc_svc", &lim, socket_id);
	lw->svc_snap_cap = kc_services_snapshot_max(&lim);
	lw->svc_snap_buf = rte_malloc_socket("kc_svc_snap", lw->svc_snap_cap,
					     0, socket_id);
	if (lw->svc == NULL || lw->svc_snap_buf == NULL) {
		snprintf(err, err_len, "cannot allocate the service calls "
			 "(services.max_calls %u, max_services %u: about %"
			 PRIu64 " bytes on socket %d): %s", lim.max_calls,
			 lim.max_services, kc_services_bytes(&lim), socket_id,
			 rte_strerror(rte_errno ? rte_errno : ENOMEM));
		kc_ledger_ws_free(w);
		return -ENOMEM;
	}
	if (lw->mp == NULL) {
		snprintf(err, err_len, "service calls need an mbuf pool of "
			 "the ports' (kc_mbufs_sN): none was made");
		kc_ledger_ws_free(w);
		return -ENOENT;
	}
	return 0;
}

int kc_ledger_ws_create(const struct kc_config *cfg, struct kc_worker_state *w,
			int socket_id, char *err, size_t err_len)
{
	const struct kc_ledger_limits lim = {
		.max_accounts = cfg->ledger.max_accounts,
		.max_coins = cfg->ledger.max_coins,
		.reap_after_s = cfg->ledger.reap_after_s,
	};
	struct kc_ledger_ws *lw;

	/* The config's estimate is what the snapshot can take. */
	RTE_VERIFY(kc_ledger_snapshot_max(&lim) ==
		   kc_config_ledger_snapshot_bytes_max(cfg));
	if (kc_keyring_find(w->pc->keys, cfg->ledger.mint_authority) == NULL) {
		snprintf(err, err_len, "ledger.mint_authority %u is not a "
			 "client of the keys file %s (expected the client id "
			 "whose key may MINT)", cfg->ledger.mint_authority,
			 cfg->kcp.keys_file);
		return -EINVAL;
	}
	lw = rte_zmalloc_socket("kc_ledger_ws", sizeof(*lw),
				RTE_CACHE_LINE_SIZE, socket_id);
	if (lw == NULL)
		goto nomem;
	w->ledger = lw;
	lw->mint_authority = cfg->ledger.mint_authority;
	lw->trail_max_hops = cfg->ledger.trail_max_hops;
	lw->snap_every = cfg->ledger.snapshot_every_ops;
	lw->snap_due = lw->snap_every;
	lw->l = kc_ledger_create("kc_ledger", &lim, socket_id);
	lw->hop = rte_malloc_socket("kc_hop", KC_HOPREC_MAX, 0, socket_id);
	/* The whole snapshot, and one part of it with its header. */
	lw->snap_cap = kc_ledger_snapshot_max(&lim) + KC_JREC_PAYLOAD_MAX;
	lw->snap_buf = rte_malloc_socket("kc_ledger_snap", lw->snap_cap, 0,
					 socket_id);
	if (lw->l == NULL || lw->hop == NULL || lw->snap_buf == NULL)
		goto nomem;
	for (uint32_t i = 0; i < KC_TRAIL_JOBS; i++)
		lw->free_jobs[i] = &lw->jobs[i];
	lw->nb_free = KC_TRAIL_JOBS;
	lw->to_ctl = rte_ring_create("kc_trail_to", KC_TRAIL_JOBS, socket_id,
				     RING_F_SP_ENQ | RING_F_SC_DEQ |
				     RING_F_EXACT_SZ);
	lw->from_ctl = rte_ring_create("kc_trail_from", KC_TRAIL_JOBS,
				       socket_id, RING_F_SP_ENQ |
				       RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (lw->to_ctl == NULL || lw->from_ctl == NULL)
		goto nomem;
	if (cfg->services.enabled)
		return services_create(cfg, w, socket_id, err, err_len);
	return 0;
nomem:
	snprintf(err, err_len, "cannot allocate the ledger (max_coins %u, "
		 "max_accounts %u: about %" PRIu64 " bytes on socket %d): %s",
		 lim.max_coins, lim.max_accounts,
		 kc_ledger_bytes(&lim) + 2 * kc_ledger_snapshot_max(&lim),
		 socket_id, rte_strerror(rte_errno ? rte_errno : ENOMEM));
	kc_ledger_ws_free(w);
	return -ENOMEM;
}

void kc_ledger_ws_free(struct kc_worker_state *w)
{
	struct kc_ledger_ws *lw = w->ledger;

	if (lw == NULL)
		return;
	kc_ledger_ctl_stop(w);
	for (uint32_t i = 0; i < KC_TRAIL_JOBS; i++)
		if (lw->jobs[i].m != NULL)
			rte_pktmbuf_free(lw->jobs[i].m);
	rte_ring_free(lw->to_ctl);
	rte_ring_free(lw->from_ctl);
	kc_services_free(lw->svc);
	rte_free(lw->svc_snap_buf);
	kc_ledger_free(lw->l);
	rte_free(lw->hop);
	rte_free(lw->snap_buf);
	rte_free(lw);
	w->ledger = NULL;
}

/* One TRAIL: wait for its hops to be on disk, walk, write one page. */
static void serve(struct kc_ledger_ctl *c, struct kc_trail_job *job)
{
	struct kc_ledger_ws *lw = c->w->ledger;
	uint8_t *out = rte_pktmbuf_mtod_offset(job->m, uint8_t *, KC_KCP_OFF) +
		       KC_HDR_LEN + KC_TRAIL_SCRATCH_OFF;
	uint64_t until = mono_ns() + TRAIL_WAIT_NS;
	uint32_t nb = 0, first, count, fit;
	char err[256];
	int rc;

	while (kc_journal_durable_seq(c->w->j) < job->last_hop) {
		if (mono_ns() > until ||
		    kc_journal_state(c->w->j) == KC_JOURNAL_FAILED ||
		    __atomic_load_n(&c->quit, __ATOMIC_RELAXED)) {
			job->status = KC_STATUS_UNAVAILABLE;
			job->reason = "the coin's last hop is not on disk yet; "
				      "retry";
			return;
		}
		usleep(100);
	}
	if (c->hops_coin == job->coin && c->hops_last == job->last_hop) {
		nb = c->hops_nb;
		rc = 0;
	} else {
		c->hops_coin = 0;
		rc = kc_trail_walk(c->x, job->coin, job->last_hop, c->hops,
				   lw->trail_max_hops, &nb, &c->quit, err,
				   sizeof(err));
	}
	if (rc == -ECANCELED) {
		/* The shutdown: kc_ledger_ctl_stop drops the job. */
		job->status = KC_STATUS_UNAVAILABLE;
		job->reason = "the appliance is shutting down";
		return;
	}
	if (rc != 0) {
		RTE_LOG(WARNING, USER1, "kingcobra: TRAIL of coin %" PRIu64
			": %s\n", job->coin, err);
		if (rc == -E2BIG) {
			job->status = KC_STATUS_TOO_LARGE;
			job->reason = "the trail is longer than "
				      "ledger.trail_max_hops";
		} else if (rc == -ENOENT) {
			job->status = KC_STATUS_NOT_FOUND;
			job->reason = "journal retention deleted part of this "
				      "trail";
		} else {
			job->status = KC_STATUS_INTERNAL;
			job->reason = "the journal could not be read for this "
				      "trail (see the appliance log)";
		}
		return;
	}
	c->hops_coin = job->coin;
	c->hops_last = job->last_hop;
	c->hops_nb = nb;
	fit = (job->cap - KC_TRAIL_REPLY_FIXED) / KC_HOP_WIRE_LEN;
	first = RTE_MIN(job->skip, nb);
	count = RTE_MIN(nb - first, fit);
	if (count > KC_TRAIL_HOPS_MAX)
		count = KC_TRAIL_HOPS_MAX;
	kc_enc_trail_reply_fixed(out, nb, first, (uint16_t)count);
	for (uint32_t i = 0; i < count; i++)
		kc_enc_hop(out + KC_TRAIL_REPLY_FIXED + i * KC_HOP_WIRE_LEN,
			   &c->hops[first + i]);
	job->status = KC_STATUS_OK;
	job->len = KC_TRAIL_REPLY_FIXED + count * KC_HOP_WIRE_LEN;
}

/* DIR/ledger.snapshot, once the snapshot it names is durable. */
static void write_hint(struct kc_ledger_ctl *c, uint64_t seq0)
{
	int rc = kc_ledger_hint_write(c->hint_path, seq0);

	/* A failure is harmless: recovery then replays the ledger from
	 * further back. */
	if (rc != 0)
		RTE_LOG(WARNING, USER1, "kingcobra: cannot write %s: %s\n",
			c->hint_path, strerror(-rc));
	c->hint_written = seq0;
}

static void *ctl_main(void *arg)
{
	struct kc_ledger_ctl *c = arg;
	struct kc_ledger_ws *lw = c->w->ledger;

	while (!__atomic_load_n(&c->quit, __ATOMIC_ACQUIRE)) {
		struct kc_trail_job *jobs[8];
		unsigned int n = rte_ring_dequeue_burst(lw->to_ctl,
							(void **)jobs, 8,
							NULL);
		uint64_t hint = __atomic_load_n(&lw->hint_seq0,
						__ATOMIC_ACQUIRE);

		for (unsigned int i = 0; i < n; i++)
			serve(c, jobs[i]);
		/* As many slots as jobs: this never fails. */
		if (n != 0)
			RTE_VERIFY(rte_ring_enqueue_bulk(lw->from_ctl,
							 (void **)jobs, n,
							 NULL) == n);
		if (hint != 0 && hint != c->hint_written)
			write_hint(c, hint);
		if (n == 0)
			usleep(IDLE_US);
	}
	return NULL;
}

int kc_ledger_ctl_start(struct kc_worker_state *w, const char *journal_dir)
{
	struct kc_ledger_ctl *c;
	char sd[KC_CFG_PATH_MAX + 16];
	int rc;

	if (w->ledger == NULL || w->j == NULL)
		return 0;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->w = w;
	kc_jshard_path(sd, sizeof(sd), journal_dir, 0);
	kc_ledger_hint_path(c->hint_path, sizeof(c->hint_path), journal_dir);
	c->hint_written = w->ledger->hint_seq0;
	c->x = kc_jlookup_open(sd);
	c->hops = malloc(sizeof(*c->hops) * w->ledger->trail_max_hops);
	if (c->x == NULL || c->hops == NULL) {
		kc_jlookup_close(c->x);
		free(c->hops);
		free(c);
		return -ENOMEM;
	}
	rc = pthread_create(&c->thread, NULL, ctl_main, c);
	if (rc != 0) {
		kc_jlookup_close(c->x);
		free(c->hops);
		free(c);
		return -rc;
	}
	pthread_setname_np(c->thread, "kc-ledger");
	w->ledger->ctl = c;
	return 0;
}

void kc_ledger_ctl_stop(struct kc_worker_state *w)
{
	struct kc_ledger_ctl *c = w->ledger != NULL ? w->ledger->ctl : NULL;
	struct kc_trail_job *job;

	if (c == NULL)
		return;
	__atomic_store_n(&c->quit, 1, __ATOMIC_RELEASE);
	pthread_join(c->thread, NULL);
	/* TRAILs still in the rings are not answered: free their mbufs
	 * (kc_ledger_ws_free frees any job's mbuf). */
	while (rte_ring_dequeue(w->ledger->to_ctl, (void **)&job) == 0)
		;
	while (rte_ring_dequeue(w->ledger->from_ctl, (void **)&job) == 0)
		;
	kc_jlookup_close(c->x);
	free(c->hops);
	free(c);
	w->ledger->ctl = NULL;
}
