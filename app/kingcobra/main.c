/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kingcobra: the appliance. Reads the YAML config and the keys file (and
 * exits on any error before a device is touched), checks the host for what
 * the config asks (kc_preflight; --check runs only that), starts the EAL,
 * the ports and the pipeline lcores, then runs the control plane on the
 * main lcore until SIGINT or SIGTERM.
 *
 * Exit status: 0 after a clean shutdown, 1 on a start-up failure of the
 * host or a device, 2 on a usage, config or keys file error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_pdump.h>

#include "kc_admin.h"
#include "kc_analytics.h"
#include "kc_auth.h"
#include "kc_config.h"
#include "kc_journal.h"
#include "kc_pipeline.h"
#include "kc_port.h"
#include "kc_preflight.h"
#include "kc_recovery.h"
#include "kc_stats.h"

#define EXIT_START 1
#define EXIT_CONFIG 2
#define EAL_ARGS_MAX (24 + KC_PORT_EAL_ARGS_MAX + KC_CFG_EAL_EXTRA_MAX)

static int kc_logtype;
#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, kc_logtype, "kingcobra: " fmt "\n", \
		##__VA_ARGS__)

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kingcobra [--config FILE] [--journal-dir DIR] "
		"[--check-config | --check]\n"
		"       kingcobra --print-default-config | --version | --help\n"
		"\n"
		"  -c, --config FILE        YAML configuration (default: the "
		"embedded\n"
		"                           config/default.yaml)\n"
		"  -j, --journal-dir DIR    journal directory, instead of the "
		"config's\n"
		"                           journal.dir\n"
		"  -n, --check-config       validate the config and keys file, "
		"then exit\n"
		"      --check              validate the config, then check the "
		"host for it\n"
		"                           (hugepages, hugetlbfs, IOMMU, PCI "
		"devices bound to\n"
		"                           vfio-pci, NUMA, lcore CPUs): one "
		"line per check,\n"
		"                           each problem with its fix; exit 0 "
		"(ok or warnings)\n"
		"                           or 1 (failures). The same checks "
		"run at every start:\n"
		"                           a failure stops it (exit 1), a "
		"warning is printed.\n"
		"      --print-default-config  print the embedded default "
		"config\n"
		"  -V, --version            print the version\n"
		"  -h, --help               this text\n"
		"\n"
		"Exit status: 0 clean shutdown, 1 start-up failure (a failed "
		"host check too),\n2 usage, config or keys error.\n");
}

static uint32_t rte_level(enum kc_log_level l)
{
	static const uint32_t map[] = {
		[KC_LOG_ERROR] = RTE_LOG_ERR,
		[KC_LOG_WARNING] = RTE_LOG_WARNING,
		[KC_LOG_NOTICE] = RTE_LOG_NOTICE,
		[KC_LOG_INFO] = RTE_LOG_INFO,
		[KC_LOG_DEBUG] = RTE_LOG_DEBUG,
	};
	return map[l];
}

struct eal_args {
	int argc;
	char *argv[EAL_ARGS_MAX + 1];
	char buf[EAL_ARGS_MAX][2 * KC_CFG_ARG_MAX];
};

static void eal_add(struct eal_args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void eal_add(struct eal_args *a, const char *fmt, ...)
{
	va_list ap;

	if (a->argc >= (int)EAL_ARGS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(a->buf[a->argc], sizeof(a->buf[0]), fmt, ap);
	va_end(ap);
	a->argv[a->argc] = a->buf[a->argc];
	a->argc++;
}

static int eal_build(const struct kc_config *cfg, const char *prog,
		      uint16_t nb_rxq, uint16_t nb_txq, struct eal_args *a)
{
	char port_args[KC_PORT_EAL_ARGS_MAX][2 * KC_CFG_ARG_MAX];
	int nb_port_args;

	a->argc = 0;
	eal_add(a, "%s", prog);
	eal_add(a, "--lcores=%s", cfg->eal.lcores);
	eal_add(a, "--main-lcore=%u", cfg->eal.main_lcore);
	eal_add(a, "-m");
	eal_add(a, "%u", cfg->eal.memory_mb);
	/* DPDK takes --no-huge for legacy memory, which --in-memory refuses;
	 * without hugepages, --no-shconf is the part of --in-memory that
	 * remains (no shared config files). */
	if (!cfg->eal.hugepages)
		eal_add(a, "--no-huge");
	if (cfg->eal.in_memory)
		eal_add(a, cfg->eal.hugepages ? "--in-memory" : "--no-shconf");
	eal_add(a, "--file-prefix=%s", cfg->eal.file_prefix);
	/* DPDK's own libraries and drivers stay at warning unless we debug;
	 * the global level is a cap over every type, so it is ours. */
	eal_add(a, "--log-level=%u", rte_level(cfg->log_level));
	if (cfg->log_level != KC_LOG_DEBUG) {
		eal_add(a, "--log-level=lib.*:%u", RTE_LOG_WARNING);
		eal_add(a, "--log-level=pmd.*:%u", RTE_LOG_WARNING);
	}
	eal_add(a, "--log-level=kingcobra:%u", rte_level(cfg->log_level));
	nb_port_args = kc_ports_eal_args(cfg, nb_rxq, nb_txq, port_args,
					 KC_PORT_EAL_ARGS_MAX);
	if (nb_port_args < 0) {
		fprintf(stderr, "kingcobra: %s: a port's driver arguments "
			"(paths and devargs) are longer than %u bytes\n",
			cfg->source, 2 * KC_CFG_ARG_MAX - 1);
		return nb_port_args;
	}
	for (int i = 0; i < nb_port_args; i++)
		eal_add(a, "%s", port_args[i]);
	for (uint32_t i = 0; i < cfg->eal.extra_count; i++)
		eal_add(a, "%s", cfg->eal.extra[i]);
	a->argv[a->argc] = NULL;
	return 0;
}

/* The ports' own counters, summed: what the NIC or the kernel dropped
 * before an lcore saw it is not in the lcores' counters. */
static void print_port_counters(FILE *f, const struct kc_config *cfg,
				const struct kc_port_state *ports)
{
	uint64_t missed = 0, errors = 0, nombuf = 0;

	for (uint32_t i = 0; i < cfg->port_count; i++) {
		struct rte_eth_stats es;

		if (rte_eth_stats_get(ports[i].port_id, &es) != 0)
			continue;
		missed += es.imissed;
		errors += es.ierrors;
		nombuf += es.rx_nombuf;
	}
	fprintf(f, "  %-20s %20llu  frames the ports dropped before an lcore "
		"saw them (all ports)\n", "port_rx_missed",
		(unsigned long long)missed);
	fprintf(f, "  %-20s %20llu  frames received with errors (all "
		"ports)\n", "port_rx_errors", (unsigned long long)errors);
	fprintf(f, "  %-20s %20llu  receives without a free mbuf (all "
		"ports)\n", "port_rx_nombuf", (unsigned long long)nombuf);
}

/* The journal's own figures (its I/O threads), summed over the shards. */
static void print_journal_counters(FILE *f, const struct kc_pipeline *p)
{
	static const char *const desc[] = {
		"group commits (write and fdatasync)",
		"bytes written to journal segments",
		"fdatasync calls",
		"most records in one group",
		"longest fdatasync, microseconds",
		"segments preallocated",
		"segments deleted by retention",
		"bytes of segments deleted by retention",
		"failed journal writes or syncs",
	};
	static struct kc_pipeline_sample ps;
	const struct kc_journal_stats *js = &ps.journal;
	uint64_t v[9];

	kc_pipeline_sample(p, &ps);
	v[0] = js->groups;
	v[1] = js->bytes_written;
	v[2] = js->fsyncs;
	v[3] = js->group_records_max;
	v[4] = js->fsync_ns_max / 1000;
	v[5] = js->segments_created;
	v[6] = js->segments_deleted;
	v[7] = js->bytes_deleted;
	v[8] = js->write_errors;
	for (unsigned int i = 0; i < 9; i++) {
		static const char *const name[] = {
			"journal_groups", "journal_bytes", "journal_fsyncs",
			"journal_group_max", "journal_fsync_us_max",
			"journal_segments_made", "journal_segments_deleted",
			"journal_bytes_deleted", "journal_write_errors",
		};

		fprintf(f, "  %-24s %16llu  %s\n", name[i],
			(unsigned long long)v[i], desc[i]);
	}
}

static void print_ledger(FILE *f, const struct kc_pipeline *p)
{
	static struct kc_pipeline_sample ps;
	const struct kc_ledger_summary *ls = &ps.ledger_sum;

	kc_pipeline_sample(p, &ps);
	if (!ps.ledger)
		return;
	fprintf(f, "  %-20s %20u  accounts holding or having held coins\n"
		"  %-20s %20llu  LIVE coins\n"
		"  %-20s %20llu  DEAD coins not reaped yet\n"
		"  %-20s %20llu  minted - burnt\n"
		"  %-20s %20llu  ledger mutations since start\n",
		"ledger_accounts", ls->accounts, "ledger_live_coins",
		(unsigned long long)ls->live_coins, "ledger_dead_coins",
		(unsigned long long)ls->dead_coins, "ledger_supply",
		(unsigned long long)ls->supply, "ledger_mutations",
		(unsigned long long)ls->mutations);
}

static void print_counters(FILE *f, const char *title,
			   const struct kc_config *cfg,
			   const struct kc_port_state *ports,
			   const struct kc_pipeline *p)
{
	uint64_t sum[KC_CTR_COUNT];

	kc_stats_sum(sum);
	fprintf(f, "%s (the lcores' counters that are not zero, then the "
		"ports' and the journal's figures):\n", title);
	for (unsigned int i = 0; i < KC_CTR_COUNT; i++)
		if (sum[i] != 0)
			fprintf(f, "  %-20s %20llu  %s\n", kc_counter_name(i),
				(unsigned long long)sum[i], kc_counter_desc(i));
	fprintf(f, "  %-20s %20llu  every drop_* counter\n", "drops",
		(unsigned long long)kc_stats_drops(sum));
	print_ledger(f, p);
	if (ports != NULL)
		print_port_counters(f, cfg, ports);
	if (p != NULL)
		print_journal_counters(f, p);
	fflush(f);
}

/*
 * The hugepage files this process's EAL made (hugepages: true with
 * in_memory: false, where they stay so that secondary processes can map
 * the memory). DPDK leaves them behind at rte_eal_cleanup, holding the
 * pages until the next start clears them; the appliance removes its own
 * once the EAL is done with them. Paths are gathered from the memory
 * segments' file descriptors while the EAL is up.
 */
struct hugefiles {
	char (*path)[PATH_MAX];
	unsigned int n, cap;
};

static int hugefile_add(const struct rte_memseg_list *msl,
			const struct rte_memseg *ms, void *arg)
{
	struct hugefiles *h = arg;
	char link[64], path[PATH_MAX];
	int fd = rte_memseg_get_fd_thread_unsafe(ms);
	ssize_t len;

	(void)msl;
	if (fd < 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len <= 0)
		return 0;
	path[len] = '\0';
	/* One file may back many segments (--single-file-segments). */
	for (unsigned int i = h->n; i > 0; i--)
		if (strcmp(h->path[i - 1], path) == 0)
			return 0;
	if (h->n == h->cap) {
		unsigned int cap = h->cap ? 2 * h->cap : 64;
		char (*p)[PATH_MAX] = realloc(h->path, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		h->path = p;
		h->cap = cap;
	}
	memcpy(h->path[h->n++], path, (size_t)len + 1);
	return 0;
}

static void hugefiles_collect(const struct kc_config *cfg,
			      struct hugefiles *h)
{
	memset(h, 0, sizeof(*h));
	if (cfg->eal.hugepages && !cfg->eal.in_memory)
		rte_memseg_walk_thread_unsafe(hugefile_add, h);
}

/* After rte_eal_cleanup: the files go, and their pages with them. */
static void hugefiles_release(struct hugefiles *h)
{
	unsigned int gone = 0;

	for (unsigned int i = 0; i < h->n; i++) {
		if (unlink(h->path[i]) == 0 || errno == ENOENT)
			gone++;
		else
			fprintf(stderr, "kingcobra: cannot remove hugepage "
				"file %s: %s\n", h->path[i], strerror(errno));
	}
	if (h->n > 0)
		printf("kingcobra: %u hugepage file(s) released\n", gone);
	free(h->path);
}

/* --check: every line, on stdout. */
static void preflight_print_all(void *arg, enum kc_preflight_outcome o,
				const char *line)
{
	(void)o;
	fprintf(arg, "kingcobra: preflight: %s\n", line);
}

/* A start: only what needs the operator's eye, on stderr. */
static void preflight_print_problems(void *arg, enum kc_preflight_outcome o,
				     const char *line)
{
	if (o != KC_PREFLIGHT_OK)
		fprintf(arg, "kingcobra: preflight: %s\n", line);
}

/*
 * A secret others can read, as ssh judges a private key: refused with
 * production: true (true), a warning otherwise (false). A file that
 * cannot be stat'ed is left to whoever reads it to report.
 */
static bool secret_exposed(const struct kc_config *cfg, const char *what,
			   const char *path, const char *who_reads)
{
	struct stat st;

	if (path[0] == '\0' || stat(path, &st) != 0 ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
		return false;
	fprintf(stderr, "kingcobra: %s%s %s is readable by group or others "
		"(mode %04o): whoever reads it %s; chmod 600 %s%s\n",
		cfg->production ? "" : "warning: ", what, path,
		(unsigned int)(st.st_mode & 07777), who_reads, path,
		cfg->production ? " (refused with production: true)" : "");
	return cfg->production;
}

/* The host checks of kc_preflight against the real /sys and /proc. Returns
 * true when nothing failed. */
static bool preflight(const struct kc_config *cfg, bool verbose)
{
	struct kc_preflight_result r;
	enum kc_preflight_outcome o;

	o = kc_preflight_run(cfg, "/", verbose ? preflight_print_all :
			     preflight_print_problems, verbose ? stdout : stderr,
			     &r);
	if (verbose)
		printf("kingcobra: preflight: %u ok, %u warning(s), %u "
		       "failure(s)\n", r.oks, r.warnings, r.failures);
	else if (o == KC_PREFLIGHT_FAILURE)
		fprintf(stderr, "kingcobra: preflight: %u failure(s): not "
			"starting (kingcobra --check lists every check)\n",
			r.failures);
	return o != KC_PREFLIGHT_FAILURE;
}

static int load_config(const char *path, struct kc_config *cfg,
		       struct kc_keyring **keys)
{
	char err[KC_CFG_ERR_MAX];
	int rc;

	if (path != NULL)
		rc = kc_config_load(path, cfg, err, sizeof(err));
	else
		rc = kc_config_load_default(cfg, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "kingcobra: config error: %s\n", err);
		return -1;
	}
	if (cfg->cluster.enabled) {
		/* Parsed and checked, but not run yet: a node that took it
		 * and ran alone would lose what a cluster keeps. */
		fprintf(stderr, "kingcobra: config error: %s: cluster mode "
			"is not built yet (docs/cluster.md, issue 19): remove "
			"the cluster section to run one node\n", cfg->source);
		return -1;
	}
	*keys = kc_keyring_load(cfg->kcp.keys_file, err, sizeof(err));
	if (*keys == NULL) {
		fprintf(stderr, "kingcobra: keys file error: %s\n", err);
		return -1;
	}
	if ((*keys)->count == 0) {
		fprintf(stderr, "kingcobra: keys file %s holds no client: no "
			"request could be authenticated\n", cfg->kcp.keys_file);
		return -1;
	}
	if (cfg->production && (*keys)->has_dev_key) {
		fprintf(stderr, "kingcobra: keys file %s holds the development "
			"key, which is refused with production: true (%s); "
			"make real keys with deploy/kc-keygen\n",
			cfg->kcp.keys_file, cfg->source);
		return -1;
	}
	if (secret_exposed(cfg, "keys file", cfg->kcp.keys_file,
			   "signs as any client in it, the mint authority "
			   "included") ||
	    secret_exposed(cfg, "admin.token_file", cfg->admin.token_file,
			   "can drain the appliance and take snapshots") ||
	    secret_exposed(cfg, "admin.tls_certificate",
			   cfg->admin.tls_certificate,
			   "has the admin server's private key")) {
		kc_keyring_free(*keys);
		*keys = NULL;
		return -1;
	}
	return 0;
}

/*
 * One mbuf pool per NUMA socket that has a port, on that socket, so a NIC
 * never DMAs across the interconnect; port_mp[i] is port i's. Each pool
 * holds mempool.mbufs.
 */
static int pools_create(const struct kc_config *cfg,
			struct rte_mempool **pools,
			struct rte_mempool **port_mp)
{
	for (uint32_t i = 0; i < cfg->port_count; i++) {
		int s = kc_port_socket(cfg, i);
		char name[RTE_MEMPOOL_NAMESIZE];

		if (s < 0 || s >= RTE_MAX_NUMA_NODES)
			s = (int)rte_socket_id();
		if (pools[s] == NULL) {
			snprintf(name, sizeof(name), "kc_mbufs_s%d", s);
			pools[s] = rte_pktmbuf_pool_create(name,
				cfg->mempool.mbufs, cfg->mempool.cache, 0,
				(uint16_t)cfg->mempool.data_room, s);
		}
		if (pools[s] == NULL) {
			fprintf(stderr, "kingcobra: cannot create mbuf pool of "
				"%u mbufs of %u bytes on socket %d (port %s): "
				"%s\n", cfg->mempool.mbufs,
				cfg->mempool.data_room, s, cfg->ports[i].name,
				rte_strerror(rte_errno));
			return -1;
		}
		port_mp[i] = pools[s];
	}
	return 0;
}

static void pools_free(struct rte_mempool **pools)
{
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		rte_mempool_free(pools[s]);
		pools[s] = NULL;
	}
}

/*
 * The live money-flow and opinion graphs (docs/analytics.md): a control
 * thread following shard 0 of the journal, from its first record. Off
 * (NULL) without the ledger, the journal or analytics.enabled.
 */
static int analytics_start(const struct kc_config *cfg,
			   struct kc_pipeline *p, struct kc_analytics **out)
{
	const uint32_t replay_s = cfg->idempotency.window_s +
				  cfg->idempotency.max_clock_skew_s;
	/* A call's outcome and reports come at most this long after it
	 * was accepted: its deadline, then as long as it is kept. */
	const uint64_t keep_s = (uint64_t)cfg->services.max_deadline_ms /
				1000u + 1u + MAX(cfg->services.report_window_s,
						 replay_s);
	const struct kc_analytics_limits lim = {
		.max_vertices = cfg->analytics.max_vertices,
		.max_edges = cfg->analytics.max_edges,
		.max_calls = cfg->services.enabled ?
			     2u * cfg->services.max_calls : 1u,
		.call_keep_ns = keep_s * 1000000000ull,
		.opinions = cfg->services.enabled,
	};
	struct kc_worker_state *ws[1];
	char shard[KC_CFG_PATH_MAX + 16];
	struct kc_analytics *a;
	int rc;

	*out = NULL;
	if (!cfg->analytics.enabled || !cfg->ledger.enabled ||
	    cfg->journal.dir[0] == '\0' ||
	    kc_pipeline_worker_states(p, ws, 1) == 0 || ws[0]->j == NULL)
		return 0;
	a = kc_analytics_create(&lim);
	if (a == NULL)
		return -ENOMEM;
	kc_jshard_path(shard, sizeof(shard), cfg->journal.dir, 0);
	rc = kc_analytics_follow(a, shard, ws[0]->j);
	if (rc != 0) {
		kc_analytics_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

static void banner(const struct kc_config *cfg,
		   const struct kc_port_state *ps,
		   const struct kc_keyring *keys, const struct kc_pipeline *p)
{
	char lcores[1024];

	printf("kingcobra %s: config %s, KCP on UDP port %u, %u client "
	       "key(s)%s\n", KC_VERSION, cfg->source, cfg->kcp.udp_port,
	       keys->count, keys->has_dev_key ?
	       " (including the development key: local use only)" : "");
	printf("  journal %s, durability %s, reads %s, %u shard(s)\n",
	       cfg->journal.dir,
	       cfg->journal.durability == KC_CFG_DURABILITY_BATCH ? "batch" :
	       "none",
	       cfg->journal.reads == KC_CFG_READS_ALL ? "all" : "none",
	       cfg->pipeline.lcores.worker_count);
	for (uint32_t i = 0; i < cfg->port_count; i++) {
		const struct kc_port_cfg *pc = &cfg->ports[i];
		char ip[16], host[16];

		kc_ipv4_format(pc->ip.addr, ip);
		printf("  port %s: %s (%s, port %u, socket %d) mac "
		       RTE_ETHER_ADDR_PRT_FMT " ip %s/%u link %s",
		       pc->name, ps[i].dev_name, ps[i].driver, ps[i].port_id,
		       ps[i].socket_id, RTE_ETHER_ADDR_BYTES(&ps[i].mac), ip,
		       pc->ip.prefix, ps[i].link_up ? "up" : "DOWN");
		if (pc->driver == KC_PORT_TAP && pc->has_host_ip) {
			kc_ipv4_format(pc->host_ip.addr, host);
			printf(", host side %s %s/%u", pc->iface, host,
			       pc->host_ip.prefix);
		}
		printf("\n    %u rx / %u tx queue(s)", ps[i].nb_rxq,
		       ps[i].nb_txq);
		if (ps[i].exc_rxq != KC_PORT_NO_QUEUE)
			printf(" and rx queue %u for the exception path",
			       ps[i].exc_rxq);
		printf(", checksums: rx %s, tx %s\n",
		       ps[i].rx_cksum ? "NIC" : "software",
		       ps[i].tx_cksum ? "NIC" :
		       ps[i].udp_cksum_none ? "software, IPv4 only (UDP 0: "
					      "memif)" : "software");
		if (ps[i].exception)
			printf("    exception path to the kernel on %s, flow "
			       "steering %s\n", pc->exception_iface,
			       ps[i].flow);
	}
	kc_pipeline_describe(p, lcores, sizeof(lcores));
	printf("%s", lcores);
	printf("kingcobra ready\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "check", no_argument, NULL, 'H' },
		{ "journal-dir", required_argument, NULL, 'j' },
		{ "print-default-config", no_argument, NULL, 'P' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hugefiles huge;
	struct kc_port_state ports[KC_PORTS_MAX];
	struct kc_rx_port pports[KC_PORTS_MAX];
	struct kc_admin_port aports[KC_PORTS_MAX];
	struct kc_admin *admin = NULL;
	struct kc_analytics *analytics = NULL;
	const char *config_path = NULL;
	const char *journal_dir = NULL;
	struct kc_pipeline *pipeline;
	struct kc_keyring *keys = NULL;
	static struct kc_config cfg;
	static struct eal_args eal;
	struct rte_mempool *pools[RTE_MAX_NUMA_NODES] = { NULL };
	struct rte_mempool *port_mp[KC_PORTS_MAX];
	uint16_t nb_rxq, nb_txq;
	bool check_only = false, check_host = false;
	char err[512];
	int opt, rc;
	unsigned int ticks = 0;

	while ((opt = getopt_long(argc, argv, "c:j:nVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'j':
			journal_dir = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'H':
			check_host = true;
			break;
		case 'P':
			fwrite(kc_default_config_yaml, 1,
			       kc_default_config_yaml_len, stdout);
			return 0;
		case 'V':
			printf("kingcobra %s\n", KC_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "kingcobra: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (load_config(config_path, &cfg, &keys) != 0)
		return EXIT_CONFIG;
	if (journal_dir != NULL) {
		if (journal_dir[0] == '\0' ||
		    strlen(journal_dir) >= sizeof(cfg.journal.dir)) {
			fprintf(stderr, "kingcobra: --journal-dir: an empty or "
				"too long path (expected 1..%zu characters)\n",
				sizeof(cfg.journal.dir) - 1);
			kc_keyring_free(keys);
			return EXIT_CONFIG;
		}
		snprintf(cfg.journal.dir, sizeof(cfg.journal.dir), "%s",
			 journal_dir);
	}
	if (check_host) {
		bool ok = preflight(&cfg, true);

		kc_keyring_free(keys);
		return ok ? 0 : EXIT_START;
	}
	if (check_only) {
		printf("kingcobra: %s is valid: %u port(s), %u rx and %u "
		       "worker lcore(s), %u client key(s) from %s\n",
		       cfg.source, cfg.port_count, cfg.pipeline.lcores.rx_count,
		       cfg.pipeline.lcores.worker_count, keys->count,
		       cfg.kcp.keys_file);
		kc_keyring_free(keys);
		return 0;
	}

	if (!preflight(&cfg, false)) {
		kc_keyring_free(keys);
		return EXIT_START;
	}
	/* One appliance per journal, from before the EAL and the ports
	 * start: a second one must not touch the first one's port either.
	 * The lock is the process's until it exits. */
	if (cfg.journal.dir[0] != '\0' &&
	    kc_journal_lock(cfg.journal.dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "kingcobra: %s\n", err);
		kc_keyring_free(keys);
		return EXIT_START;
	}
	/* Nor a port another appliance drives, where the driver can tell. */
	if (kc_ports_check_free(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "kingcobra: %s\n", err);
		kc_keyring_free(keys);
		return EXIT_START;
	}
	kc_config_queue_needs(&cfg, &nb_rxq, &nb_txq);
	if (eal_build(&cfg, argv[0], nb_rxq, nb_txq, &eal) != 0) {
		kc_keyring_free(keys);
		return EXIT_CONFIG;
	}
	kc_logtype = rte_log_register_type_and_pick_level("kingcobra",
		rte_level(cfg.log_level));
	rc = rte_eal_init(eal.argc, eal.argv);
	if (rc < 0) {
		fprintf(stderr, "kingcobra: cannot initialise the EAL: %s "
			"(arguments:", rte_strerror(rte_errno));
		for (int i = 1; i < eal.argc; i++)
			fprintf(stderr, " %s", eal.argv[i]);
		fprintf(stderr, ")\n");
		kc_keyring_free(keys);
		return EXIT_START;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	rc = kc_stats_telemetry_register();
	if (rc != 0)
		LOG(WARNING, "telemetry commands not registered: %s",
		    rte_strerror(-rc));
	/* Where secondary processes can attach (hugepages, not in memory
	 * only), dpdk-dumpcap and dpdk-pdump can capture a port's traffic
	 * (docs/operations.md): the callbacks it installs run only while a
	 * capture does. */
	if (cfg.eal.hugepages && !cfg.eal.in_memory) {
		if (rte_pdump_init() != 0)
			LOG(WARNING, "packet capture (pdump) not available: %s",
			    rte_strerror(rte_errno));
		else
			LOG(INFO, "packet capture: dpdk-dumpcap --file-prefix=%s "
			    "-i PORT_INDEX", cfg.eal.file_prefix);
	}

	if (pools_create(&cfg, pools, port_mp) != 0)
		goto fail_eal;
	rc = kc_ports_start(&cfg, nb_rxq, nb_txq, port_mp, ports, err,
			    sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "kingcobra: %s\n", err);
		goto fail_eal;
	}
	for (uint32_t i = 0; i < cfg.port_count; i++) {
		pports[i].port_id = ports[i].port_id;
		pports[i].nb_rxq = ports[i].nb_rxq;
		pports[i].ip = cfg.ports[i].ip.addr;
		pports[i].netmask = cfg.ports[i].ip.prefix == 0 ? 0 :
			~0u << (32 - cfg.ports[i].ip.prefix);
		pports[i].mac = ports[i].mac;
		pports[i].tx_cksum = ports[i].tx_cksum;
		pports[i].udp_cksum_none = ports[i].udp_cksum_none;
		pports[i].exc_in = ports[i].exc_in;
		pports[i].exc_out = ports[i].exc_out;
		pports[i].exc_rxq = ports[i].exc_rxq;
		if (!ports[i].link_up)
			LOG(WARNING, "port %s: link still down after %u ms",
			    cfg.ports[i].name, cfg.ports[i].link_wait_ms);
	}
	pipeline = kc_pipeline_create(&cfg, keys, pports,
				      (uint16_t)cfg.port_count, err,
				      sizeof(err));
	if (pipeline == NULL) {
		fprintf(stderr, "kingcobra: %s\n", err);
		goto fail_ports;
	}
	if (cfg.journal.dir[0] != '\0') {
		struct kc_worker_state *ws[KC_WORKERS_MAX];
		uint32_t n = kc_pipeline_worker_states(pipeline, ws,
						       KC_WORKERS_MAX);

		if (kc_recover_workers(&cfg, ws, n, (int)rte_socket_id(), err,
				       sizeof(err)) != 0) {
			fprintf(stderr, "kingcobra: %s\n", err);
			kc_pipeline_free(pipeline);
			goto fail_ports;
		}
	}
	rc = kc_pipeline_launch(pipeline);
	if (rc != 0) {
		fprintf(stderr, "kingcobra: cannot launch the lcores: %s\n",
			rte_strerror(-rc));
		kc_pipeline_free(pipeline);
		goto fail_ports;
	}
	/* The main lcore runs no data path: its counters are the
	 * exception thread's. */
	rc = kc_exception_start(&cfg, ports, rte_get_main_lcore());
	if (rc != 0) {
		fprintf(stderr, "kingcobra: cannot start the exception "
			"thread: %s\n", strerror(-rc));
		kc_pipeline_stop(pipeline);
		kc_pipeline_free(pipeline);
		goto fail_ports;
	}
	for (uint32_t i = 0; i < cfg.port_count; i++) {
		aports[i].port_id = ports[i].port_id;
		aports[i].nb_rxq = ports[i].nb_rxq;
		snprintf(aports[i].name, sizeof(aports[i].name), "%s",
			 cfg.ports[i].name);
		snprintf(aports[i].driver, sizeof(aports[i].driver), "%s",
			 ports[i].driver);
		aports[i].socket_id = ports[i].socket_id;
		aports[i].mp = port_mp[i];
		aports[i].rx_cksum = ports[i].rx_cksum;
		aports[i].tx_cksum = ports[i].tx_cksum;
		snprintf(aports[i].exception_iface,
			 sizeof(aports[i].exception_iface), "%s",
			 ports[i].exception ? cfg.ports[i].exception_iface :
			 "");
		snprintf(aports[i].flow, sizeof(aports[i].flow), "%s",
			 ports[i].flow);
	}
	rc = analytics_start(&cfg, pipeline, &analytics);
	if (rc != 0) {
		fprintf(stderr, "kingcobra: cannot start the analytics "
			"thread: %s\n", strerror(-rc));
		kc_exception_stop();
		kc_pipeline_stop(pipeline);
		kc_pipeline_free(pipeline);
		goto fail_ports;
	}
	{
		const struct kc_admin_ctx ac = {
			.cfg = &cfg, .p = pipeline, .ports = aports,
			.nb_ports = (uint16_t)cfg.port_count,
			.analytics = analytics,
		};

		admin = kc_admin_start(&ac, err, sizeof(err));
		if (admin == NULL && err[0] != '\0') {
			fprintf(stderr, "kingcobra: %s\n", err);
			kc_analytics_free(analytics);
			kc_exception_stop();
			kc_pipeline_stop(pipeline);
			kc_pipeline_free(pipeline);
			goto fail_ports;
		}
		if (admin != NULL)
			printf("kingcobra: admin server on %s://%s:%u/ (JSON "
			       "API /api/v1/, metrics /metrics)%s\n",
			       cfg.admin.tls_certificate[0] ? "https" : "http",
			       cfg.admin.listen, cfg.admin.port,
			       cfg.admin.token_file[0] ? "" :
			       "; actions off: no admin.token_file");
	}
	banner(&cfg, ports, keys, pipeline);

	while (stop_signal == 0) {
		usleep(100 * 1000);
		if (cfg.control.stats_interval_s == 0)
			continue;
		if (++ticks % (cfg.control.stats_interval_s * 10) == 0)
			print_counters(stdout, "kingcobra counters", &cfg,
				       ports, pipeline);
	}
	LOG(NOTICE, "signal %d: stopping", (int)stop_signal);
	kc_admin_stop(admin);
	kc_analytics_free(analytics);
	kc_exception_stop();
	kc_pipeline_stop(pipeline);
	print_counters(stdout, "kingcobra stopped", &cfg, ports, pipeline);
	kc_ports_stop(&cfg, ports);
	kc_pipeline_free(pipeline);
	pools_free(pools);
	if (cfg.eal.hugepages && !cfg.eal.in_memory)
		rte_pdump_uninit();
	hugefiles_collect(&cfg, &huge);
	rte_eal_cleanup();
	hugefiles_release(&huge);
	kc_keyring_free(keys);
	return 0;

fail_ports:
	kc_ports_stop(&cfg, ports);
fail_eal:
	pools_free(pools);
	hugefiles_collect(&cfg, &huge);
	rte_eal_cleanup();
	hugefiles_release(&huge);
	kc_keyring_free(keys);
	return EXIT_START;
}
