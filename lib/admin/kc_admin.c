/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The admin server (kc_admin.h, docs/admin.md): civetweb with its own
 * worker threads, a sampler thread that reads the data path's published
 * figures once a second, and request handlers that render the latest
 * sample as JSON, Prometheus text or the status page. Actions (POST) need
 * the token of admin.token_file, compared in constant time; each is
 * logged, without the token.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/statvfs.h>

#include <civetweb.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "kc_admin_priv.h"
#include "kc_admin_tls.h"

#define SAMPLE_NS 1000000000ull
#define CTL_TIMEOUT_MS 2000u
#define DRAIN_WAIT_MS 10000u

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the sampler -------------------------------------------------------- */

static void event(struct kc_admin *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record an event for the page (the lock is held by the caller). */
static void event(struct kc_admin *a, const char *fmt, ...)
{
	struct kc_admin_event *e = &a->events[a->nb_events % KC_ADMIN_EVENTS];
	va_list ap;

	e->wall_ns = clock_ns(CLOCK_REALTIME);
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	a->nb_events++;
}

static double per_s(uint64_t now, uint64_t before, double dt)
{
	return dt > 0 && now >= before ? (double)(now - before) / dt : 0;
}

/* The pipeline's sample: on the heap, it is large for a thread's stack. */
static struct kc_pipeline_sample *pipeline_sample(const struct kc_admin *a)
{
	struct kc_pipeline_sample *ps = malloc(sizeof(*ps));

	if (ps != NULL)
		kc_pipeline_sample(a->c.p, ps);
	return ps;
}

/* The resident set (/proc/self/statm's second field, in pages) and the
 * EAL's heaps. */
static void memory(struct kc_admin_sample *s)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%llu %llu", &size, &resident) == 2)
			s->rss_bytes = resident * (uint64_t)sysconf(
				_SC_PAGESIZE);
		fclose(f);
	}
	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i),
						&st) != 0)
			continue;
		s->heap_bytes += st.heap_totalsz_bytes;
		s->heap_allocated_bytes += st.heap_allocsz_bytes;
		s->heap_allocations += st.alloc_count;
	}
}

/* Free space where the journal is: what "disk full" comes from. */
static void journal_fs(const struct kc_admin *a, struct kc_admin_sample *s)
{
	struct statvfs v;
	const char *dir = a->c.cfg->journal.dir;

	if (dir[0] == '\0' || statvfs(dir, &v) != 0)
		return;
	s->journal_fs = true;
	s->journal_fs_free = (uint64_t)v.f_bavail * v.f_frsize;
	s->journal_fs_size = (uint64_t)v.f_blocks * v.f_frsize;
}

static void take(struct kc_admin *a, struct kc_admin_sample *s)
{
	const struct kc_admin_ctx *c = &a->c;
	struct kc_pipeline_sample *ps = pipeline_sample(a);
	const struct kc_lcore_info *li;

	memset(s, 0, sizeof(*s));
	s->t_ns = clock_ns(CLOCK_MONOTONIC);
	s->wall_ns = clock_ns(CLOCK_REALTIME);
	kc_stats_sum(s->counters);
	kc_stats_lat_sum(s->lat);
	memory(s);
	journal_fs(a, s);
	if (ps == NULL)
		return;
	li = ps->lcores;
	s->nb_lcores = RTE_MIN(ps->nb_lcores, (uint32_t)KC_LCORES_MAX);
	for (uint32_t i = 0; i < s->nb_lcores; i++) {
		struct kc_admin_lcore *l = &s->lcores[i];
		const volatile uint64_t *ctr = kc_stats[li[i].lcore_id].c;

		l->info = li[i];
		l->busy_cycles = ctr[KC_CTR_busy_cycles];
		l->total_cycles = ctr[KC_CTR_total_cycles];
		l->rx_packets = ctr[KC_CTR_rx_packets];
		l->kcp_requests = ctr[KC_CTR_kcp_requests];
		l->kcp_replies = ctr[KC_CTR_kcp_replies];
		if (li[i].ring != NULL) {
			l->ring_size = rte_ring_get_capacity(li[i].ring);
			l->ring_count = rte_ring_count(li[i].ring);
		}
	}
	s->nb_ports = c->nb_ports;
	for (uint16_t i = 0; i < c->nb_ports; i++) {
		struct rte_eth_link link;

		rte_eth_stats_get(c->ports[i].port_id, &s->ports[i].st);
		if (c->ports[i].mp != NULL) {
			s->ports[i].mbufs = c->ports[i].mp->size;
			s->ports[i].mbufs_in_use =
				rte_mempool_in_use_count(c->ports[i].mp);
		}
		if (rte_eth_link_get_nowait(c->ports[i].port_id, &link) == 0) {
			s->ports[i].link_up = link.link_status ==
					      RTE_ETH_LINK_UP;
			s->ports[i].speed_mbps = link.link_speed;
		}
	}
	s->nb_shards = ps->nb_workers;
	memcpy(s->shards, ps->shards, sizeof(s->shards));
	s->ledger = ps->ledger;
	s->ledger_sum = ps->ledger_sum;
	s->draining = ps->draining;
	s->in_flight = ps->in_flight;
	free(ps);
}

/* The number of workers and the requests on their way (UINT64_MAX: the
 * sample could not be taken). */
static uint32_t workers(const struct kc_admin *a)
{
	struct kc_pipeline_sample *ps = pipeline_sample(a);
	uint32_t n = ps != NULL ? ps->nb_workers : 0;

	free(ps);
	return n;
}

static uint64_t in_flight(const struct kc_admin *a)
{
	struct kc_pipeline_sample *ps = pipeline_sample(a);
	uint64_t n = ps != NULL ? ps->in_flight : UINT64_MAX;

	free(ps);
	return n;
}

/* Rates against the previous sample, and events worth telling. */
static void derive(struct kc_admin *a, struct kc_admin_sample *s,
		   const struct kc_admin_sample *p)
{
	double dt = (double)(s->t_ns - p->t_ns) / 1e9;

	s->requests_per_s = per_s(s->counters[KC_CTR_kcp_requests],
				  p->counters[KC_CTR_kcp_requests], dt);
	s->replies_per_s = per_s(s->counters[KC_CTR_kcp_replies],
				 p->counters[KC_CTR_kcp_replies], dt);
	s->drops_per_s = per_s(kc_stats_drops(s->counters),
			       kc_stats_drops(p->counters), dt);
	for (unsigned int b = 0; b < KC_LAT_BUCKETS; b++)
		s->lat_interval[b] = s->lat[b] - p->lat[b];
	for (uint32_t i = 0; i < s->nb_lcores && i < p->nb_lcores; i++) {
		struct kc_admin_lcore *l = &s->lcores[i];
		const struct kc_admin_lcore *o = &p->lcores[i];
		uint64_t total = l->total_cycles - o->total_cycles;

		l->busy_pct = total ? 100.0 * (double)(l->busy_cycles -
			o->busy_cycles) / (double)total : 0;
		l->rx_pps = per_s(l->rx_packets, o->rx_packets, dt);
		l->requests_per_s = per_s(l->kcp_requests, o->kcp_requests,
					  dt);
	}
	for (uint16_t i = 0; i < s->nb_ports; i++) {
		struct kc_admin_port_sample *ps = &s->ports[i];
		const struct kc_admin_port_sample *po = &p->ports[i];

		ps->rx_pps = per_s(ps->st.ipackets, po->st.ipackets, dt);
		ps->tx_pps = per_s(ps->st.opackets, po->st.opackets, dt);
		ps->rx_bps = 8 * per_s(ps->st.ibytes, po->st.ibytes, dt);
		ps->tx_bps = 8 * per_s(ps->st.obytes, po->st.obytes, dt);
		if (ps->link_up != po->link_up)
			event(a, "port %s: link %s", a->c.ports[i].name,
			      ps->link_up ? "up" : "down");
	}
	/* Drops and refusals by reason, as they happen. */
	for (unsigned int k = 0; k < KC_CTR_COUNT; k++) {
		const char *n = kc_counter_name(k);

		if (s->counters[k] == p->counters[k] ||
		    (strncmp(n, "drop_", 5) != 0 &&
		     strncmp(n, "refused_", 8) != 0 &&
		     strcmp(n, "kcp_expired_old") != 0 &&
		     strcmp(n, "replies_failed_unsynced") != 0))
			continue;
		event(a, "%s +%" PRIu64 ": %s", n,
		      s->counters[k] - p->counters[k], kc_counter_desc(k));
	}
	for (uint32_t i = 0; i < s->nb_shards && i < p->nb_shards; i++)
		if (s->shards[i].state != p->shards[i].state)
			event(a, "journal shard %u: %s", i,
			      s->shards[i].state == KC_JOURNAL_FULL ?
			      "disk full" : s->shards[i].state ==
			      KC_JOURNAL_FAILED ? "a write failed" : "ok");
}

static void *sampler_main(void *arg)
{
	struct kc_admin *a = arg;
	struct kc_admin_sample *s = malloc(sizeof(*s));

	while (s != NULL && !__atomic_load_n(&a->quit, __ATOMIC_ACQUIRE)) {
		take(a, s);
		pthread_mutex_lock(&a->lock);
		if (a->have_sample) {
			a->prev = a->cur;
			derive(a, s, &a->prev);
		}
		a->cur = *s;
		a->have_sample = true;
		pthread_mutex_unlock(&a->lock);
		for (int i = 0; i < 10 &&
				!__atomic_load_n(&a->quit, __ATOMIC_ACQUIRE);
		     i++)
			usleep(SAMPLE_NS / 10000);
	}
	free(s);
	return NULL;
}

/* A copy of the latest sample (heap: it is large). */
static struct kc_admin_sample *latest(struct kc_admin *a)
{
	struct kc_admin_sample *s = malloc(sizeof(*s));

	if (s == NULL)
		return NULL;
	pthread_mutex_lock(&a->lock);
	*s = a->cur;
	pthread_mutex_unlock(&a->lock);
	return s;
}

/* ---- HTTP helpers ------------------------------------------------------- */

static int reply(struct mg_connection *conn, int status, const char *type,
		 const char *body, size_t len)
{
	struct kc_admin *a = mg_get_user_data(mg_get_context(conn));

	if (a != NULL && status >= 200 && status < 600)
		__atomic_fetch_add(&a->responses[status / 100], 1,
				   __ATOMIC_RELAXED);
	mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		  "Content-Length: %zu\r\nCache-Control: no-store\r\n"
		  "X-Content-Type-Options: nosniff\r\n\r\n", status,
		  mg_get_response_code_text(conn, status), type, len);
	mg_write(conn, body, len);
	return status;
}

/* Send a JSON document and free it. */
static int reply_json(struct mg_connection *conn, int status, json_t *doc)
{
	char *text = doc != NULL ?
		json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII |
				    JSON_REAL_PRECISION(10)) : NULL;
	int rc;

	json_decref(doc);
	if (text == NULL)
		return reply(conn, 500, "text/plain", "out of memory\n", 14);
	rc = reply(conn, status, "application/json", text, strlen(text));
	free(text);
	return rc;
}

static int reply_error(struct mg_connection *conn, int status,
		       const char *why)
{
	return reply_json(conn, status, json_pack("{s:s}", "error", why));
}

/* Who sent the request: behind the TLS front end, the client it relays. */
static const char *client_addr(struct kc_admin *a, struct mg_connection *conn)
{
	static __thread char who[64];
	const struct mg_request_info *ri = mg_get_request_info(conn);

	if (a->tls_front != NULL &&
	    kc_tls_front_client(a->tls_front, (uint16_t)ri->remote_port, who,
				sizeof(who)))
		return who;
	return ri->remote_addr;
}

/*
 * With TLS, civetweb serves plain HTTP on 127.0.0.1 for the TLS front end
 * alone: a request that did not come through one of its relays (a local
 * user who found the port) is refused, so the API is HTTPS only.
 */
static bool through_front(struct kc_admin *a, struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char who[64];

	return !a->tls || (a->tls_front != NULL &&
			   kc_tls_front_client(a->tls_front,
					       (uint16_t)ri->remote_port, who,
					       sizeof(who)));
}

static int refuse_inner(struct mg_connection *conn)
{
	return reply_error(conn, 403, "this port serves the admin server's "
			   "TLS front end only: use https:// on admin.port");
}

/* ---- queues, through the workers' control rings ------------------------- */

static json_t *queues_json(struct kc_admin *a)
{
	const struct kc_config *cfg = a->c.cfg;
	uint32_t mq = cfg->queues.max_queues;
	uint32_t mc = cfg->queues.max_consumers_per_queue;
	json_t *arr = json_array();
	struct kc_ctl *msg = calloc(1, sizeof(*msg));
	struct kc_ctl_queue *q = calloc(mq, sizeof(*q));
	struct kc_ctl_consumer *cons = calloc((size_t)mq * mc, sizeof(*cons));
	int rc = 0;

	if (msg == NULL || q == NULL || cons == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < mq; i++)
		q[i].consumers = cons + (size_t)i * mc;
	pthread_mutex_lock(&a->ctl_lock);
	for (uint32_t w = 0, n = workers(a); rc == 0 && w < n; w++) {
		*msg = (struct kc_ctl){
			.op = KC_CTL_QUEUES, .queues = q, .max_queues = mq,
			.max_consumers = mc,
		};
		rc = kc_pipeline_ctl(a->c.p, w, msg, CTL_TIMEOUT_MS);
		for (uint32_t i = 0; rc == 0 && i < msg->nb_queues; i++) {
			const struct kc_queue_info *qi = &q[i].info;
			json_t *cs = json_array();

			for (uint32_t k = 0; k < qi->consumers; k++) {
				uint64_t off = q[i].consumers[k].offset;

				json_array_append_new(cs, json_pack(
					"{s:s, s:I, s:I}", "name",
					q[i].consumers[k].name, "offset",
					(json_int_t)off, "lag", (json_int_t)
					(qi->end > off ? qi->end - off : 0)));
			}
			json_array_append_new(arr, json_pack(
				"{s:i, s:s, s:I, s:I, s:I, s:I, s:o}",
				"worker", (int)w, "name", qi->name.s,
				"low", (json_int_t)qi->low,
				"end", (json_int_t)qi->end,
				"depth", (json_int_t)(qi->end - qi->low),
				"bytes", (json_int_t)qi->bytes,
				"consumers", cs));
		}
	}
	pthread_mutex_unlock(&a->ctl_lock);
out:
	if (rc == -ETIMEDOUT) {
		/* The worker still has msg and the arrays: leave them. */
		json_decref(arr);
		return NULL;
	}
	free(msg);
	free(q);
	free(cons);
	if (rc != 0) {
		json_decref(arr);
		return NULL;
	}
	return json_pack("{s:o}", "queues", arr);
}

/* ---- actions ------------------------------------------------------------ */

/* Constant time whatever the lengths: compare digests of both. */
static bool token_ok(const struct kc_admin *a, const char *got)
{
	uint8_t x[SHA256_DIGEST_LENGTH], y[SHA256_DIGEST_LENGTH];

	if (a->token_len == 0 || got == NULL)
		return false;
	SHA256((const uint8_t *)a->token, a->token_len, x);
	SHA256((const uint8_t *)got, strlen(got), y);
	return CRYPTO_memcmp(x, y, sizeof(x)) == 0;
}

static const char *bearer(struct mg_connection *conn)
{
	const char *h = mg_get_header(conn, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	return h + 7;
}

static json_t *action_audit(struct kc_admin *a, int *status)
{
	struct kc_ctl *msg = calloc(1, sizeof(*msg));
	json_t *doc;
	int rc;

	if (msg == NULL) {
		*status = 500;
		return NULL;
	}
	msg->op = KC_CTL_AUDIT;
	pthread_mutex_lock(&a->ctl_lock);
	rc = kc_pipeline_ctl(a->c.p, 0, msg, CTL_TIMEOUT_MS);
	pthread_mutex_unlock(&a->ctl_lock);
	if (rc == -ETIMEDOUT) {
		*status = 503;
		return json_pack("{s:s}", "error", "worker 0 did not answer");
	}
	if (rc != 0 || msg->rc != 0) {
		free(msg);
		*status = rc != 0 ? 503 : 409;
		return json_pack("{s:s}", "error", rc != 0 ?
				 "worker 0 is busy" : "the ledger is off");
	}
	pthread_mutex_lock(&a->lock);
	a->have_audit = true;
	a->last_audit = msg->audit;
	a->last_audit_wall_ns = clock_ns(CLOCK_REALTIME);
	if (!msg->audit.ok)
		event(a, "AUDIT found %u violation(s)", msg->audit.violations);
	pthread_mutex_unlock(&a->lock);
	doc = kc_admin_json_audit(&msg->audit);
	free(msg);
	*status = 200;
	return doc;
}

static json_t *action_snapshot(struct kc_admin *a, int *status)
{
	uint32_t n = workers(a), done = 0;

	pthread_mutex_lock(&a->ctl_lock);
	for (uint32_t w = 0; w < n; w++) {
		struct kc_ctl *msg = calloc(1, sizeof(*msg));

		if (msg == NULL)
			break;
		msg->op = KC_CTL_SNAPSHOT;
		if (kc_pipeline_ctl(a->c.p, w, msg, CTL_TIMEOUT_MS) ==
		    -ETIMEDOUT)
			continue; /* the worker keeps msg */
		done += msg->rc == 0;
		free(msg);
	}
	pthread_mutex_unlock(&a->ctl_lock);
	*status = done == n ? 200 : 503;
	return json_pack("{s:s, s:i, s:i}", "result", done == n ?
			 "snapshots are due: the workers write them in their "
			 "next poll loops" : "not every worker could take one",
			 "workers", (int)n, "requested", (int)done);
}

static json_t *action_drain(struct kc_admin *a, int *status)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), left, waited_ms;
	uint64_t refused0 = 0, sum[KC_CTR_COUNT];

	kc_stats_sum(sum);
	refused0 = sum[KC_CTR_refused_draining];
	kc_pipeline_drain(a->c.p, true);
	/* A burst already read but not yet handed over is in no count:
	 * give the RX lcores a moment first. */
	usleep(10000);
	while ((left = in_flight(a)) != 0 &&
	       clock_ns(CLOCK_MONOTONIC) - t0 < DRAIN_WAIT_MS * 1000000ull)
		usleep(1000);
	waited_ms = (clock_ns(CLOCK_MONOTONIC) - t0) / 1000000u;
	kc_stats_sum(sum);
	*status = left == 0 ? 200 : 504;
	return json_pack("{s:b, s:I, s:I, s:I, s:s}", "draining", 1,
			 "in_flight", (json_int_t)left,
			 "waited_ms", (json_int_t)waited_ms,
			 "refused_while_draining",
			 (json_int_t)(sum[KC_CTR_refused_draining] - refused0),
			 "result", left == 0 ? "drained: nothing in flight; "
			 "new requests are answered UNAVAILABLE until resume" :
			 "still in flight after 10 s");
}

static int handle_action(struct mg_connection *conn, struct kc_admin *a,
			 const char *name)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int status = 404;
	json_t *doc = NULL;

	if (strcmp(ri->request_method, "POST") != 0) {
		status = reply_error(conn, 405, "actions are POST");
		goto log;
	}
	if (!token_ok(a, bearer(conn))) {
		status = reply_error(conn, 401, a->token_len == 0 ?
			"actions are off: admin.token_file is not set" :
			"a valid 'Authorization: Bearer TOKEN' header is "
			"needed");
		goto log;
	}
	if (strcmp(name, "audit") == 0) {
		doc = action_audit(a, &status);
	} else if (strcmp(name, "snapshot") == 0) {
		doc = action_snapshot(a, &status);
	} else if (strcmp(name, "drain") == 0) {
		doc = action_drain(a, &status);
	} else if (strcmp(name, "resume") == 0) {
		kc_pipeline_drain(a->c.p, false);
		status = 200;
		doc = json_pack("{s:b}", "draining", 0);
	} else if (strcmp(name, "rule") == 0) {
		char body[1024];
		int n = mg_read(conn, body, sizeof(body));

		doc = kc_admin_rule(a, body, n > 0 ? (size_t)n : 0, &status);
	} else {
		status = reply_error(conn, 404, "no such action (audit, "
				     "snapshot, drain, resume, rule)");
		goto log;
	}
	if (doc == NULL)
		status = reply_error(conn, 500, "out of memory");
	else
		reply_json(conn, status, doc);
	pthread_mutex_lock(&a->lock);
	event(a, "action %s by %s: %d", name, client_addr(a, conn), status);
	pthread_mutex_unlock(&a->lock);
log:
	/* Audit log: who asked what and the answer; never the token. The
	 * URI is the client's: only printable characters go to the log. */
	{
		char uri[128];
		size_t i;

		for (i = 0; ri->local_uri[i] != '\0' && i < sizeof(uri) - 1;
		     i++)
			uri[i] = ri->local_uri[i] > 0x20 &&
				 ri->local_uri[i] < 0x7f ?
				 ri->local_uri[i] : '?';
		uri[i] = '\0';
		printf("kingcobra: admin: %s %s from %s: %d\n",
		       ri->request_method, uri, client_addr(a, conn),
		       status);
	}
	fflush(stdout);
	return status;
}

/* ---- routing ------------------------------------------------------------ */

static int handle_api(struct mg_connection *conn, void *cbdata)
{
	struct kc_admin *a = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *what = ri->local_uri + strlen("/api/v1/");
	struct kc_admin_sample *s;
	json_t *doc = NULL;

	if (!through_front(a, conn))
		return refuse_inner(conn);
	if (strncmp(what, "actions/", 8) == 0)
		return handle_action(conn, a, what + 8);
	if (strcmp(ri->request_method, "GET") != 0)
		return reply_error(conn, 405, "the API's documents are GET");
	if (strcmp(what, "queues") == 0) {
		doc = queues_json(a);
		return doc ? reply_json(conn, 200, doc) :
			     reply_error(conn, 503, "a worker did not answer");
	}
	if (strcmp(what, "events") == 0)
		return reply_json(conn, 200, kc_admin_json_events(a));
	if (strncmp(what, "analytics/", 10) == 0) {
		const char *why = NULL;
		int status;

		doc = kc_admin_analytics_json(a, what + 10, ri->query_string,
					      &status, &why);
		return doc ? reply_json(conn, status, doc) :
			     reply_error(conn, status, why);
	}
	if (strcmp(what, "services") == 0 || strcmp(what, "calls") == 0 ||
	    strcmp(what, "reports") == 0) {
		doc = kc_admin_services_json(a, what);
		return doc ? reply_json(conn, 200, doc) :
			     reply_error(conn, 503, "worker 0 did not answer");
	}
	s = latest(a);
	if (s == NULL)
		return reply_error(conn, 500, "out of memory");
	if (strcmp(what, "status") == 0)
		doc = kc_admin_json_status(a, s);
	else if (strcmp(what, "ports") == 0)
		doc = kc_admin_json_ports(a, s);
	else if (strcmp(what, "lcores") == 0)
		doc = kc_admin_json_lcores(s);
	else if (strcmp(what, "rings") == 0)
		doc = kc_admin_json_rings(s);
	else if (strcmp(what, "stats") == 0)
		doc = kc_admin_json_stats(s);
	else if (strcmp(what, "latency") == 0)
		doc = kc_admin_json_latency(s);
	else if (strcmp(what, "journal") == 0)
		doc = kc_admin_json_journal(s);
	else if (strcmp(what, "ledger") == 0)
		doc = kc_admin_json_ledger(a, s);
	/* Which sample: documents read together can be matched. */
	if (doc != NULL)
		json_object_set_new(doc, "sample_ms",
				    json_integer((json_int_t)(s->wall_ns /
							      1000000u)));
	free(s);
	if (doc == NULL)
		return reply_error(conn, 404, "no such document (status, "
				   "ports, lcores, rings, stats, latency, "
				   "journal, ledger, queues, services, calls, "
				   "reports, events, analytics/...)");
	return reply_json(conn, 200, doc);
}

static int handle_metrics(struct mg_connection *conn, void *cbdata)
{
	struct kc_admin *a = cbdata;
	struct kc_admin_sample *s;
	char *text;
	int rc;

	if (!through_front(a, conn))
		return refuse_inner(conn);
	s = latest(a);
	text = s != NULL ? kc_admin_metrics(a, s) : NULL;
	free(s);
	if (text != NULL)
		text = kc_admin_services_metrics(a, text);
	if (text == NULL)
		return reply(conn, 500, "text/plain", "out of memory\n", 14);
	rc = reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
		   text, strlen(text));
	free(text);
	return rc;
}

static int handle_page(struct mg_connection *conn, void *cbdata)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);

	if (!through_front(cbdata, conn))
		return refuse_inner(conn);
	if (strcmp(ri->local_uri, "/") != 0 &&
	    strcmp(ri->local_uri, "/index.html") != 0)
		return reply(conn, 404, "text/plain", "not found\n", 10);
	return reply(conn, 200, "text/html; charset=utf-8",
		     kc_status_page_html, kc_status_page_html_len);
}

/* ---- start and stop ----------------------------------------------------- */

static int read_token(struct kc_admin *a, const char *path, char *err,
		      size_t err_len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL) {
		snprintf(err, err_len, "admin.token_file %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	/* The first line; a longer one is refused, not cut. */
	if (fgets(a->token, sizeof(a->token), f) == NULL)
		a->token[0] = '\0';
	fclose(f);
	n = strcspn(a->token, "\r\n");
	if (a->token[n] == '\0' && n == sizeof(a->token) - 1) {
		snprintf(err, err_len, "admin.token_file %s: the token is "
			 "longer than %zu characters", path,
			 sizeof(a->token) - 2);
		return -EINVAL;
	}
	while (n > 0 && a->token[n - 1] == ' ')
		n--;
	a->token[n] = '\0';
	if (n < 16) {
		snprintf(err, err_len, "admin.token_file %s: the token is %zu "
			 "characters (expected at least 16 on its first line)",
			 path, n);
		return -EINVAL;
	}
	a->token_len = n;
	return 0;
}

static int log_message(const struct mg_connection *conn, const char *msg)
{
	(void)conn;
	printf("kingcobra: admin server: %s\n", msg);
	fflush(stdout);
	return 1;
}

struct kc_admin *kc_admin_start(const struct kc_admin_ctx *c, char *err,
				size_t err_len)
{
	const struct kc_config *cfg = c->cfg;
	struct mg_callbacks cb = { .log_message = log_message };
	char ports[96], threads[16];
	const char *opts[16];
	struct kc_admin *a;
	int n = 0;

	err[0] = '\0';
	if (!cfg->admin.enabled)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	a->c = *c;
	a->start_wall_ns = clock_ns(CLOCK_REALTIME);
	a->start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	a->tls = cfg->admin.tls_certificate[0] != '\0';
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->ctl_lock, NULL);
	if (cfg->admin.token_file[0] != '\0' &&
	    read_token(a, cfg->admin.token_file, err, err_len) != 0)
		goto fail;
	mg_init_library(0);
	/* With TLS, civetweb serves plain HTTP on loopback at a port the
	 * kernel picks, behind our TLS front end (kc_admin_tls.c). */
	if (a->tls)
		snprintf(ports, sizeof(ports), "127.0.0.1:0");
	else
		snprintf(ports, sizeof(ports), "%s:%u", cfg->admin.listen,
			 cfg->admin.port);
	snprintf(threads, sizeof(threads), "%u", cfg->admin.threads);
	opts[n++] = "listening_ports";
	opts[n++] = ports;
	opts[n++] = "num_threads";
	opts[n++] = threads;
	opts[n++] = "request_timeout_ms";
	opts[n++] = "10000";
	opts[n++] = "enable_keep_alive";
	opts[n++] = "yes";
	/* A page polling once a second must not hold a thread between
	 * polls: other clients would wait. */
	opts[n++] = "keep_alive_timeout_ms";
	opts[n++] = "500";
	/* civetweb writes headers and body apart: with Nagle on, the body
	 * of every answer on a kept-alive connection waited for the
	 * client's delayed ACK (about 40 ms, so 20 answers a second). */
	opts[n++] = "tcp_nodelay";
	opts[n++] = "1";
	opts[n] = NULL;
	/* The first sample before anyone asks. */
	take(a, &a->cur);
	a->have_sample = true;
	if (pthread_create(&a->sampler, NULL, sampler_main, a) != 0) {
		snprintf(err, err_len, "cannot start the admin sampler thread");
		goto fail;
	}
	pthread_setname_np(a->sampler, "kc-admin-stats");
	a->mg = mg_start(&cb, a, opts);
	if (a->mg == NULL) {
		snprintf(err, err_len, "cannot serve on %s (%s): address in "
			 "use, not an address of this host, or a bad "
			 "certificate (see the admin server's message above)",
			 ports, a->tls ? "HTTPS" : "HTTP");
		__atomic_store_n(&a->quit, 1, __ATOMIC_RELEASE);
		pthread_join(a->sampler, NULL);
		goto fail;
	}
	if (a->tls) {
		struct mg_server_port sp;

		if (mg_get_server_ports(a->mg, 1, &sp) != 1 ||
		    (a->tls_front = kc_tls_front_start(cfg->admin.listen,
			cfg->admin.port, cfg->admin.tls_certificate,
			(uint16_t)sp.port, 8 * cfg->admin.threads, err,
			err_len)) == NULL) {
			if (err[0] == '\0')
				snprintf(err, err_len, "cannot start HTTPS");
			mg_stop(a->mg);
			__atomic_store_n(&a->quit, 1, __ATOMIC_RELEASE);
			pthread_join(a->sampler, NULL);
			goto fail;
		}
	}
	mg_set_request_handler(a->mg, "/api/v1/", handle_api, a);
	mg_set_request_handler(a->mg, "/metrics$", handle_metrics, a);
	mg_set_request_handler(a->mg, "/", handle_page, a);
	kc_admin_telemetry_attach(a);
	return a;
fail:
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->ctl_lock);
	free(a);
	return NULL;
}

void kc_admin_stop(struct kc_admin *a)
{
	if (a == NULL)
		return;
	kc_admin_telemetry_attach(NULL);
	kc_tls_front_stop(a->tls_front);
	mg_stop(a->mg);
	__atomic_store_n(&a->quit, 1, __ATOMIC_RELEASE);
	pthread_join(a->sampler, NULL);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->ctl_lock);
	explicit_bzero(a->token, sizeof(a->token));
	free(a);
}
