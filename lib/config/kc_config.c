/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The YAML config parser. libyaml loads the file into a node tree (every
 * node keeps its line and column); a table per section then says which keys
 * exist, their type, range and default, and a walker fills struct kc_config
 * from it. Checks that involve several keys (lcores against the EAL set,
 * driver-specific port keys, mempool against rings and descriptors) run
 * after the walk and point at the node that is wrong.
 *
 * The first error stops the parse: one message, "SOURCE:LINE:COLUMN: what is
 * wrong (expected what)", lines and columns counted from 1.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/ether.h>

#include <yaml.h>

#include "kc_config.h"
#include "kc_journal.h"
#include "kc_ledger.h"
#include "kc_services.h"
#include "kc_queue.h"

/* ---- the schema ------------------------------------------------------- */

enum ftype {
	F_BOOL,
	F_U32,		/* min..max */
	F_U16,		/* min..max */
	F_U32_POW2,	/* min..max, a power of two */
	F_U64,		/* min..max */
	F_U64_POW2,	/* min..max, a power of two */
	F_FRACTION,	/* a decimal 0..1 -> uint32 millionths, min..max */
	F_STR,		/* size bytes, charset */
	F_PATH,		/* resolved against the config's directory */
	F_ENUM,		/* names[] -> int */
	F_CIDR,		/* struct kc_ipv4_cidr */
	F_MAC,		/* uint8_t[6] */
	F_PCI,		/* DDDD:BB:DD.F, normalised */
	F_EAL_LCORES,	/* EAL --lcores syntax -> string and lcore_set */
	F_LCORE_LIST,	/* [n, ...] -> uint32_t array + count at aux */
	F_STR_LIST,	/* [s, ...] -> char[n][KC_CFG_ARG_MAX] + count at aux */
	F_SECTION,	/* a mapping described by sub */
	F_PORTS,	/* the list of ports */
	F_NODES,	/* the cluster's nodes */
};

enum charset {
	CS_NAME,	/* [A-Za-z0-9_.-] */
	CS_ARG,		/* printable, no space (devargs, EAL arguments) */
	CS_PATH,	/* printable, no ',' (it would split devargs) */
};

/* Which port drivers a port key applies to (bit per enum kc_port_driver). */
#define D(x) (1u << KC_PORT_##x)
#define D_ALL 0u

struct field {
	const char *key;
	enum ftype type;
	size_t off;		/* into struct kc_config, or kc_port_cfg */
	size_t aux;		/* list count offset */
	size_t size;		/* F_STR/F_PATH buffer, list capacity */
	uint64_t min, max;
	enum charset cs;
	const char *const *names; /* F_ENUM, NULL-terminated */
	const struct field *sub;  /* F_SECTION */
	bool required;
	uint32_t drivers;	/* port keys: D(...) mask, D_ALL for all */
	const char *expect;	/* what a good value looks like */
};

#define FIELDS_MAX 24u

static const char *const port_driver_names[] = {
	[KC_PORT_TAP] = "tap",
	[KC_PORT_AF_PACKET] = "af_packet",
	[KC_PORT_AF_XDP] = "af_xdp",
	[KC_PORT_MEMIF] = "memif",
	[KC_PORT_PCAP] = "pcap",
	[KC_PORT_RING] = "ring",
	[KC_PORT_NULL] = "null",
	[KC_PORT_PCI] = "pci",
	NULL,
};

static const char *const log_level_names[] = {
	[KC_LOG_ERROR] = "error",
	[KC_LOG_WARNING] = "warning",
	[KC_LOG_NOTICE] = "notice",
	[KC_LOG_INFO] = "info",
	[KC_LOG_DEBUG] = "debug",
	NULL,
};

static const char *const idle_names[] = {
	[KC_IDLE_SPIN] = "spin",
	[KC_IDLE_ADAPTIVE] = "adaptive",
	NULL,
};

static const char *const durability_names[] = {
	[KC_CFG_DURABILITY_NONE] = "none",
	[KC_CFG_DURABILITY_BATCH] = "batch",
	NULL,
};

static const char *const reads_names[] = {
	[KC_CFG_READS_NONE] = "none",
	[KC_CFG_READS_ALL] = "all",
	NULL,
};

static const char *const memif_role_names[] = {
	[KC_MEMIF_SERVER] = "server",
	[KC_MEMIF_CLIENT] = "client",
	NULL,
};

/* Indexes into the tables below, for the checks across keys. */
enum { EAL_LCORES, EAL_MAIN_LCORE, EAL_MEMORY_MB, EAL_HUGEPAGES, EAL_IN_MEMORY, EAL_FILE_PREFIX, EAL_EXTRA_ARGS };
enum { PL_RX_LCORES, PL_WORKER_LCORES, PL_BURST, PL_RING_SIZE, PL_IDLE, PL_IDLE_SLEEP_MAX_US };
enum { MP_MBUFS, MP_CACHE, MP_DATA_ROOM };
enum { JR_DIR, JR_DURABILITY, JR_SEGMENT_BYTES, JR_BUFFER_BYTES, JR_GROUP_MAX, JR_GROUP_WAIT_US, JR_MAX_PENDING, JR_RESERVE_BYTES, JR_SNAPSHOT_BYTES, JR_RETENTION_BYTES, JR_RETENTION_AGE_S, JR_READS };
enum { LG_ENABLED, LG_MINT_AUTHORITY, LG_MAX_ACCOUNTS, LG_MAX_COINS, LG_REAP_AFTER_S, LG_SNAPSHOT_EVERY_OPS, LG_TRAIL_MAX_HOPS };
enum { SV_ENABLED, SV_MAX_SERVICES, SV_MAX_TYPES, SV_MAX_CALLS, SV_MAX_PAYLOAD, SV_MAX_DEADLINE_MS, SV_REPORT_WINDOW_S, SV_SETTLE_HOLD_S };
enum { AR_QUARANTINE_BELOW, AR_MIN_CALLS, AR_QUARANTINE_S };
enum { AN_ENABLED, AN_MAX_VERTICES, AN_MAX_EDGES };
enum { CL_NODE_ID, CL_NODES, CL_ELECTION_TIMEOUT_MS, CL_HEARTBEAT_MS, CL_SNAPSHOT_THRESHOLD, CL_SNAPSHOT_TRAILING, CL_INSTALL_SNAPSHOT_TIMEOUT_MS, CL_DIR };
enum { ND_ID, ND_ADDRESS };
enum { AD_ENABLED, AD_LISTEN, AD_PORT, AD_TLS_CERTIFICATE, AD_TOKEN_FILE, AD_THREADS };
enum { TOP_PRODUCTION, TOP_LOG_LEVEL, TOP_EAL, TOP_PORTS, TOP_PIPELINE, TOP_MEMPOOL, TOP_KCP, TOP_QUEUES, TOP_JOURNAL, TOP_IDEMPOTENCY, TOP_LEDGER, TOP_SERVICES, TOP_ARBITER, TOP_ANALYTICS, TOP_CLUSTER, TOP_ADMIN, TOP_CONTROL };

#define C(m) offsetof(struct kc_config, m)
#define P(m) offsetof(struct kc_port_cfg, m)
#define STR(m, cs_) .off = C(m), .size = sizeof(((struct kc_config *)0)->m), \
	.cs = cs_
#define PSTR(m, cs_) .off = P(m), .size = sizeof(((struct kc_port_cfg *)0)->m), \
	.cs = cs_
#define N(m) offsetof(struct kc_cluster_node_cfg, m)

static const struct field eal_fields[] = {
	[EAL_LCORES] = { "lcores", F_EAL_LCORES, STR(eal.lcores, CS_ARG),
	  .expect = "EAL lcore ids 0..63: \"0-1\", \"0,2,4\" or "
		    "\"0@0,(1-2)@1\"" },
	[EAL_MAIN_LCORE] = { "main_lcore", F_U32, .off = C(eal.main_lcore), .min = 0,
	  .max = KC_LCORES_MAX - 1, .expect = "an lcore id of eal.lcores" },
	[EAL_MEMORY_MB] = { "memory_mb", F_U32, .off = C(eal.memory_mb), .min = 64,
	  .max = 1u << 20, .expect = "megabytes for the EAL, 64..1048576" },
	[EAL_HUGEPAGES] = { "hugepages", F_BOOL, .off = C(eal.hugepages) },
	[EAL_IN_MEMORY] = { "in_memory", F_BOOL, .off = C(eal.in_memory) },
	[EAL_FILE_PREFIX] = { "file_prefix", F_STR, STR(eal.file_prefix, CS_NAME),
	  .expect = "a name of [A-Za-z0-9_.-]" },
	[EAL_EXTRA_ARGS] = { "extra_args", F_STR_LIST, .off = C(eal.extra),
	  .aux = C(eal.extra_count), .size = KC_CFG_EAL_EXTRA_MAX,
	  .cs = CS_ARG, .expect = "a list of EAL arguments" },
	[EAL_EXTRA_ARGS + 1] = { NULL },
};

enum port_field {
	PF_NAME,
	PF_DRIVER,
	PF_IFACE,
	PF_PCI,
	PF_SOCKET,
	PF_ROLE,
	PF_ID,
	PF_RX_PCAP,
	PF_TX_PCAP,
	PF_DEVARGS,
	PF_IP,
	PF_MAC,
	PF_HOST_IP,
	PF_RX_DESC,
	PF_TX_DESC,
	PF_MTU,
	PF_LINK_WAIT_MS,
	PF_EXCEPTION_IFACE,
	PF_EXCEPTION_HOST_IP,
	PF_FLOW_STEERING,
};

static const struct field port_fields[] = {
	[PF_NAME] = { "name", F_STR, PSTR(name, CS_NAME), .required = true,
	  .expect = "a port name of [A-Za-z0-9_.-]" },
	[PF_DRIVER] = { "driver", F_ENUM, .off = P(driver), .names = port_driver_names,
	  .required = true },
	[PF_IFACE] = { "iface", F_STR, PSTR(iface, CS_NAME),
	  .drivers = D(TAP) | D(AF_PACKET) | D(AF_XDP),
	  .max = KC_CFG_IFNAME_MAX,
	  .expect = "a Linux interface name of at most 15 characters" },
	[PF_PCI] = { "pci", F_PCI, .off = P(pci), .drivers = D(PCI),
	  .expect = "a PCI address such as 0000:3b:00.0" },
	[PF_SOCKET] = { "socket", F_PATH, PSTR(socket_path, CS_PATH), .drivers = D(MEMIF),
	  .expect = "the path of the memif control socket" },
	[PF_ROLE] = { "role", F_ENUM, .off = P(memif_role), .names = memif_role_names,
	  .drivers = D(MEMIF) },
	[PF_ID] = { "id", F_U32, .off = P(memif_id), .min = 0, .max = UINT32_MAX,
	  .drivers = D(MEMIF), .expect = "a memif interface id" },
	[PF_RX_PCAP] = { "rx_pcap", F_PATH, PSTR(rx_pcap, CS_PATH), .drivers = D(PCAP),
	  .expect = "a pcap file to read frames from" },
	[PF_TX_PCAP] = { "tx_pcap", F_PATH, PSTR(tx_pcap, CS_PATH), .drivers = D(PCAP),
	  .expect = "a pcap file to write frames to" },
	[PF_DEVARGS] = { "devargs", F_STR, PSTR(devargs, CS_ARG),
	  .expect = "driver arguments key=value[,key=value]" },
	[PF_IP] = { "ip", F_CIDR, .off = P(ip), .required = true,
	  .expect = "the appliance's ADDRESS/PREFIX, e.g. 10.77.0.2/24" },
	[PF_MAC] = { "mac", F_MAC, .off = P(mac),
	  .expect = "a unicast MAC such as \"02:4b:43:00:00:02\"" },
	[PF_HOST_IP] = { "host_ip", F_CIDR, .off = P(host_ip), .drivers = D(TAP),
	  .expect = "the host side's ADDRESS/PREFIX, e.g. 10.77.0.1/24" },
	[PF_RX_DESC] = { "rx_desc", F_U16, .off = P(rx_desc), .min = 64, .max = 32768,
	  .expect = "RX descriptors, 64..32768" },
	[PF_TX_DESC] = { "tx_desc", F_U16, .off = P(tx_desc), .min = 64, .max = 32768,
	  .expect = "TX descriptors, 64..32768" },
	[PF_MTU] = { "mtu", F_U16, .off = P(mtu), .min = 576, .max = 9000,
	  .expect = "bytes, 576..9000" },
	[PF_LINK_WAIT_MS] = { "link_wait_ms", F_U32, .off = P(link_wait_ms), .min = 0,
	  .max = 60000, .expect = "milliseconds, 0..60000" },
	[PF_EXCEPTION_IFACE] = { "exception_iface", F_STR,
	  PSTR(exception_iface, CS_NAME),
	  .drivers = D(PCI) | D(AF_PACKET) | D(AF_XDP) | D(TAP),
	  .max = KC_CFG_IFNAME_MAX,
	  .expect = "a Linux interface name of at most 15 characters" },
	[PF_EXCEPTION_HOST_IP] = { "exception_host_ip", F_CIDR,
	  .off = P(exception_host_ip),
	  .drivers = D(PCI) | D(AF_PACKET) | D(AF_XDP) | D(TAP),
	  .expect = "the host kernel's ADDRESS/PREFIX on the exception "
		    "interface, e.g. 192.0.2.10/24" },
	[PF_FLOW_STEERING] = { "flow_steering", F_BOOL, .off = P(flow_steering),
	  .drivers = D(PCI) | D(AF_PACKET) | D(AF_XDP) | D(TAP) },
	[PF_FLOW_STEERING + 1] = { NULL },
};

static const struct field pipeline_fields[] = {
	[PL_RX_LCORES] = { "rx_lcores", F_LCORE_LIST, .off = C(pipeline.lcores.rx),
	  .aux = C(pipeline.lcores.rx_count), .size = KC_LCORES_MAX,
	  .expect = "a list of lcore ids, e.g. [1]" },
	[PL_WORKER_LCORES] = { "worker_lcores", F_LCORE_LIST, .off = C(pipeline.lcores.worker),
	  .aux = C(pipeline.lcores.worker_count), .size = KC_WORKERS_MAX,
	  .expect = "a list of at most " KC_STR(KC_WORKERS_MAX)
		    " lcore ids, e.g. [1]" },
	[PL_BURST] = { "burst", F_U32, .off = C(pipeline.burst), .min = 1,
	  .max = KC_BURST_MAX,
	  .expect = "packets per burst, 1.." KC_STR(KC_BURST_MAX) },
	[PL_RING_SIZE] = { "ring_size", F_U32_POW2, .off = C(pipeline.ring_size), .min = 64,
	  .max = 1u << 20, .expect = "a power of two, 64..1048576" },
	[PL_IDLE] = { "idle", F_ENUM, .off = C(pipeline.idle), .names = idle_names },
	[PL_IDLE_SLEEP_MAX_US] = { "idle_sleep_max_us", F_U32, .off = C(pipeline.idle_sleep_max_us),
	  .min = 1, .max = 100000, .expect = "microseconds, 1..100000" },
	[PL_IDLE_SLEEP_MAX_US + 1] = { NULL },
};

static const struct field mempool_fields[] = {
	[MP_MBUFS] = { "mbufs", F_U32, .off = C(mempool.mbufs), .min = 1023,
	  .max = 1u << 24, .expect = "mbufs per pool, 1023..16777216" },
	[MP_CACHE] = { "cache", F_U32, .off = C(mempool.cache), .min = 0, .max = 512,
	  .expect = "mbufs per lcore cache, 0..512" },
	[MP_DATA_ROOM] = { "data_room", F_U32, .off = C(mempool.data_room), .min = 1024,
	  .max = 65535, .expect = "bytes per mbuf, headroom included, 1024..65535" },
	[MP_DATA_ROOM + 1] = { NULL },
};

static const struct field kcp_fields[] = {
	{ "udp_port", F_U16, .off = C(kcp.udp_port), .min = 1, .max = 65535,
	  .expect = "a UDP port, 1..65535" },
	{ "keys_file", F_PATH, STR(kcp.keys_file, CS_PATH), .required = true,
	  .expect = "the path of the keys file" },
	{ "reflection_limit_source", F_U32,
	  .off = C(kcp.reflection_limit_source), .min = 0, .max = UINT32_MAX,
	  .expect = "bytes a second, 0 (no limit)..4294967295" },
	{ "reflection_limit_client", F_U32,
	  .off = C(kcp.reflection_limit_client), .min = 0, .max = UINT32_MAX,
	  .expect = "bytes a second, 0 (no limit)..4294967295" },
	{ NULL },
};

static const struct field queues_fields[] = {
	{ "max_queues", F_U32, .off = C(queues.max_queues), .min = 1,
	  .max = 65536, .expect = "queues per worker, 1..65536" },
	{ "max_bytes_per_queue", F_U32, .off = C(queues.max_bytes_per_queue),
	  .min = 4096, .max = 1u << 30, .expect = "bytes, 4096..1073741824" },
	{ "max_messages_per_queue", F_U32,
	  .off = C(queues.max_messages_per_queue), .min = 1, .max = 1u << 24,
	  .expect = "messages, 1..16777216" },
	{ "max_consumers_per_queue", F_U32,
	  .off = C(queues.max_consumers_per_queue), .min = 1, .max = 4096,
	  .expect = "consumers, 1..4096" },
	{ NULL },
};

static const struct field journal_fields[] = {
	[JR_DIR] = { "dir", F_PATH, STR(journal.dir, CS_PATH),
	  .expect = "the journal's directory" },
	[JR_DURABILITY] = { "durability", F_ENUM, .off = C(journal.durability),
	  .names = durability_names },
	[JR_SEGMENT_BYTES] = { "segment_bytes", F_U64, .off = C(journal.segment_bytes),
	  .min = 1u << 20, .max = 1ull << 32,
	  .expect = "bytes per segment file, 1048576..4294967296" },
	[JR_BUFFER_BYTES] = { "buffer_bytes", F_U64_POW2, .off = C(journal.buffer_bytes),
	  .min = 1u << 20, .max = 1u << 30,
	  .expect = "bytes of journal buffer per worker, a power of two, "
		    "1048576..1073741824" },
	[JR_GROUP_MAX] = { "group_max", F_U32, .off = C(journal.group_max), .min = 1,
	  .max = 65536, .expect = "records per group commit, 1..65536" },
	[JR_GROUP_WAIT_US] = { "group_wait_us", F_U32, .off = C(journal.group_wait_us), .min = 0,
	  .max = 100000, .expect = "microseconds, 0..100000" },
	[JR_MAX_PENDING] = { "max_pending", F_U32, .off = C(journal.max_pending), .min = 64,
	  .max = 1u << 20,
	  .expect = "replies held per worker until durable, 64..1048576" },
	[JR_RESERVE_BYTES] = { "reserve_bytes", F_U64, .off = C(journal.reserve_bytes), .min = 0,
	  .max = 1ull << 31,
	  .expect = "bytes of journal space kept for reads and commits, at "
		    "most half of segment_bytes" },
	[JR_SNAPSHOT_BYTES] = { "snapshot_bytes", F_U64,
	  .off = C(journal.snapshot_bytes), .min = 1u << 16,
	  .max = 1ull << 40,
	  .expect = "journal bytes between two snapshots of every queue, "
		    "65536..1099511627776" },
	[JR_RETENTION_BYTES] = { "retention_bytes", F_U64,
	  .off = C(journal.retention_bytes), .min = 0, .max = 1ull << 50,
	  .expect = "bytes a shard keeps before deleting what is no longer "
		    "needed; 0: no size rule" },
	[JR_RETENTION_AGE_S] = { "retention_age_s", F_U32,
	  .off = C(journal.retention_age_s), .min = 0, .max = 1u << 30,
	  .expect = "seconds after which a segment no longer needed is "
		    "deleted; 0: no age rule" },
	[JR_READS] = { "reads", F_ENUM, .off = C(journal.reads),
	  .names = reads_names },
	[JR_READS + 1] = { NULL },
};

static const struct field idempotency_fields[] = {
	{ "window_s", F_U32, .off = C(idempotency.window_s), .min = 1,
	  .max = 86400, .expect = "seconds, 1..86400" },
	{ "entries", F_U32, .off = C(idempotency.entries), .min = 1024,
	  .max = 1u << 24, .expect = "entries per worker, 1024..16777216" },
	{ "max_clock_skew_s", F_U32, .off = C(idempotency.max_clock_skew_s),
	  .min = 1, .max = 3600, .expect = "seconds, 1..3600" },
	{ NULL },
};

static const struct field ledger_fields[] = {
	[LG_ENABLED] = { "enabled", F_BOOL, .off = C(ledger.enabled) },
	[LG_MINT_AUTHORITY] = { "mint_authority", F_U32,
	  .off = C(ledger.mint_authority), .min = 1, .max = UINT32_MAX,
	  .expect = "the client id (keys file) whose key may MINT" },
	[LG_MAX_ACCOUNTS] = { "max_accounts", F_U32,
	  .off = C(ledger.max_accounts), .min = 16, .max = 1u << 20,
	  .expect = "accounts, 16..1048576" },
	[LG_MAX_COINS] = { "max_coins", F_U32, .off = C(ledger.max_coins),
	  .min = 16, .max = 1u << 28, .expect = "coins, 16..268435456" },
	[LG_REAP_AFTER_S] = { "reap_after_s", F_U32,
	  .off = C(ledger.reap_after_s), .min = 0, .max = 1u << 30,
	  .expect = "seconds a DEAD coin stays in memory, 0.." },
	[LG_SNAPSHOT_EVERY_OPS] = { "snapshot_every_ops", F_U32,
	  .off = C(ledger.snapshot_every_ops), .min = 1, .max = 1u << 30,
	  .expect = "ledger mutations between two snapshots, 1.." },
	[LG_TRAIL_MAX_HOPS] = { "trail_max_hops", F_U32,
	  .off = C(ledger.trail_max_hops), .min = 16, .max = 1u << 22,
	  .expect = "hops one TRAIL may walk, 16..4194304" },
	[LG_TRAIL_MAX_HOPS + 1] = { NULL },
};

static const struct field services_fields[] = {
	[SV_ENABLED] = { "enabled", F_BOOL, .off = C(services.enabled) },
	[SV_MAX_SERVICES] = { "max_services", F_U32,
	  .off = C(services.max_services), .min = 1, .max = 1u << 16,
	  .expect = "(type, account) registrations, 1..65536" },
	[SV_MAX_TYPES] = { "max_types", F_U32, .off = C(services.max_types),
	  .min = 1, .max = 1u << 16, .expect = "request types, 1..65536" },
	[SV_MAX_CALLS] = { "max_calls", F_U32, .off = C(services.max_calls),
	  .min = 16, .max = 1u << 20,
	  .expect = "calls in flight and kept after, 16..1048576" },
	[SV_MAX_PAYLOAD] = { "max_payload", F_U32,
	  .off = C(services.max_payload), .min = 0,
	  .max = KC_CALL_PAYLOAD_MAX,
	  .expect = "bytes of a call's or a response's payload, 0..1024" },
	[SV_MAX_DEADLINE_MS] = { "max_deadline_ms", F_U32,
	  .off = C(services.max_deadline_ms), .min = 1, .max = 3600000,
	  .expect = "the longest deadline a CALL may ask, 1..3600000 ms" },
	[SV_REPORT_WINDOW_S] = { "report_window_s", F_U32,
	  .off = C(services.report_window_s), .min = 1, .max = 1u << 24,
	  .expect = "seconds after a call its caller may REPORT, 1.." },
	[SV_SETTLE_HOLD_S] = { "settle_hold_s", F_U32,
	  .off = C(services.settle_hold_s), .min = 0, .max = 1u << 24,
	  .expect = "seconds a paid call's price waits for problem reports; "
		    "0: paid at once" },
	[SV_SETTLE_HOLD_S + 1] = { NULL },
};

static const struct field arbiter_fields[] = {
	[AR_QUARANTINE_BELOW] = { "quarantine_below", F_FRACTION,
	  .off = C(arbiter.quarantine_below_ppm), .min = 0, .max = 1000000,
	  .expect = "a score 0..1 (a decimal, e.g. 0.5)" },
	[AR_MIN_CALLS] = { "min_calls", F_U32, .off = C(arbiter.min_calls),
	  .min = 1, .max = 1u << 30,
	  .expect = "outcomes of a service before its score counts, 1.." },
	[AR_QUARANTINE_S] = { "quarantine_s", F_U32,
	  .off = C(arbiter.quarantine_s), .min = 1, .max = 1u << 24,
	  .expect = "seconds a quarantine lasts, 1.." },
	[AR_QUARANTINE_S + 1] = { NULL },
};

static const struct field analytics_fields[] = {
	[AN_ENABLED] = { "enabled", F_BOOL, .off = C(analytics.enabled) },
	[AN_MAX_VERTICES] = { "max_vertices", F_U32,
	  .off = C(analytics.max_vertices), .min = 2, .max = 1u << 24,
	  .expect = "accounts in the money-flow graph, 2..16777216" },
	[AN_MAX_EDGES] = { "max_edges", F_U32, .off = C(analytics.max_edges),
	  .min = 1, .max = 1u << 26,
	  .expect = "edges of the money-flow graph, 1..67108864" },
	[AN_MAX_EDGES + 1] = { NULL },
};

static const struct field node_fields[] = {
	[ND_ID] = { "id", F_U32, .off = N(id), .min = 1, .max = 1u << 30,
	  .required = true, .expect = "the node's id, 1..1073741824" },
	[ND_ADDRESS] = { "address", F_STR, .off = N(address),
	  .size = sizeof(((struct kc_cluster_node_cfg *)0)->address),
	  .cs = CS_ARG, .required = true,
	  .expect = "its replication address, a.b.c.d:port" },
	[ND_ADDRESS + 1] = { NULL },
};

static const struct field cluster_fields[] = {
	[CL_NODE_ID] = { "node_id", F_U32, .off = C(cluster.node_id),
	  .min = 1, .max = 1u << 30, .required = true,
	  .expect = "this node's id, one of nodes' ids" },
	[CL_NODES] = { "nodes", F_NODES, .required = true,
	  .expect = "a list of 1.." KC_STR(KC_CFG_CLUSTER_NODES_MAX)
		    " nodes, each with id and address" },
	[CL_ELECTION_TIMEOUT_MS] = { "election_timeout_ms", F_U32,
	  .off = C(cluster.election_timeout_ms), .min = 50, .max = 60000,
	  .expect = "ms without a leader before a node stands, 50..60000" },
	[CL_HEARTBEAT_MS] = { "heartbeat_ms", F_U32,
	  .off = C(cluster.heartbeat_ms), .min = 5, .max = 30000,
	  .expect = "ms between a leader's heartbeats, 5..30000, under "
		    "election_timeout_ms" },
	[CL_SNAPSHOT_THRESHOLD] = { "snapshot_threshold", F_U32,
	  .off = C(cluster.snapshot_threshold), .min = 16, .max = 1u << 24,
	  .expect = "batches between two snapshots of the Raft log, 16.." },
	[CL_SNAPSHOT_TRAILING] = { "snapshot_trailing", F_U32,
	  .off = C(cluster.snapshot_trailing), .min = 0, .max = 1u << 24,
	  .expect = "batches kept in the log after a snapshot, 0.." },
	[CL_INSTALL_SNAPSHOT_TIMEOUT_MS] = { "install_snapshot_timeout_ms",
	  F_U32, .off = C(cluster.install_snapshot_timeout_ms), .min = 100,
	  .max = 3600000,
	  .expect = "ms before a snapshot a follower did not take is sent "
		    "again, 100..3600000" },
	[CL_DIR] = { "dir", F_PATH, STR(cluster.dir, CS_PATH),
	  .expect = "the Raft log's directory (default: journal.dir/raft)" },
	[CL_DIR + 1] = { NULL },
};

static const struct field admin_fields[] = {
	[AD_ENABLED] = { "enabled", F_BOOL, .off = C(admin.enabled) },
	[AD_LISTEN] = { "listen", F_STR, STR(admin.listen, CS_ARG),
	  .expect = "an IPv4 address to listen on, e.g. 127.0.0.1" },
	[AD_PORT] = { "port", F_U16, .off = C(admin.port), .min = 1,
	  .max = 65535, .expect = "a TCP port, 1..65535" },
	[AD_TLS_CERTIFICATE] = { "tls_certificate", F_PATH,
	  STR(admin.tls_certificate, CS_PATH),
	  .expect = "a PEM file holding the certificate and its key" },
	[AD_TOKEN_FILE] = { "token_file", F_PATH,
	  STR(admin.token_file, CS_PATH),
	  .expect = "a file holding the token POST actions need" },
	[AD_THREADS] = { "threads", F_U32, .off = C(admin.threads),
	  .min = 1, .max = 16, .expect = "HTTP worker threads, 1..16" },
	[AD_THREADS + 1] = { NULL },
};

static const struct field control_fields[] = {
	{ "stats_interval_s", F_U32, .off = C(control.stats_interval_s),
	  .min = 0, .max = 86400, .expect = "seconds, 0 (off)..86400" },
	{ NULL },
};

static const struct field top_fields[] = {
	[TOP_PRODUCTION] = { "production", F_BOOL, .off = C(production) },
	[TOP_LOG_LEVEL] = { "log_level", F_ENUM, .off = C(log_level), .names = log_level_names },
	[TOP_EAL] = { "eal", F_SECTION, .sub = eal_fields },
	[TOP_PORTS] = { "ports", F_PORTS, .required = true,
	  .expect = "a list of 1.." KC_STR(KC_PORTS_MAX) " ports" },
	[TOP_PIPELINE] = { "pipeline", F_SECTION, .sub = pipeline_fields },
	[TOP_MEMPOOL] = { "mempool", F_SECTION, .sub = mempool_fields },
	[TOP_KCP] = { "kcp", F_SECTION, .sub = kcp_fields, .required = true },
	[TOP_QUEUES] = { "queues", F_SECTION, .sub = queues_fields },
	[TOP_JOURNAL] = { "journal", F_SECTION, .sub = journal_fields },
	[TOP_IDEMPOTENCY] = { "idempotency", F_SECTION,
			      .sub = idempotency_fields },
	[TOP_LEDGER] = { "ledger", F_SECTION, .sub = ledger_fields },
	[TOP_SERVICES] = { "services", F_SECTION, .sub = services_fields },
	[TOP_ARBITER] = { "arbiter", F_SECTION, .sub = arbiter_fields },
	[TOP_ANALYTICS] = { "analytics", F_SECTION, .sub = analytics_fields },
	[TOP_CLUSTER] = { "cluster", F_SECTION, .sub = cluster_fields },
	[TOP_ADMIN] = { "admin", F_SECTION, .sub = admin_fields },
	[TOP_CONTROL] = { "control", F_SECTION, .sub = control_fields },
	[TOP_CONTROL + 1] = { NULL },
};


/* ---- the walker ------------------------------------------------------- */

/* The value node of each key of a mapping that was present. */
struct seen {
	const yaml_node_t *key[FIELDS_MAX];
	const yaml_node_t *val[FIELDS_MAX];
};

struct parser {
	yaml_document_t *doc;
	const char *source;
	const char *base_dir;
	char *err;
	size_t err_len;
	struct kc_config *cfg;
	const yaml_node_t *root;
	struct seen top, eal, pipeline, mempool, journal, ledger, services;
	struct seen arbiter, analytics, cluster, admin;
	const yaml_node_t *node_map[KC_CFG_CLUSTER_NODES_MAX];
	struct seen node[KC_CFG_CLUSTER_NODES_MAX];
	const yaml_node_t *port_map[KC_PORTS_MAX];
	struct seen port[KC_PORTS_MAX];
};

static int fail_at(struct parser *ps, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *ps, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(ps->err, ps->err_len, "%s:%zu:%zu: ", ps->source,
		     mark.line + 1, mark.column + 1);
	if (n < 0 || (size_t)n >= ps->err_len)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define FAIL(ps, node, ...) fail_at(ps, (node)->start_mark, __VA_ARGS__)

static const yaml_node_t *node_at(const struct parser *ps, int i)
{
	return yaml_document_get_node(ps->doc, i);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(scalar(n), nulls[i]) == 0)
			return true;
	return false;
}

/* What a node is, for "got ..." in messages. */
static const char *got(const yaml_node_t *n, char *buf, size_t len)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (is_null(n))
		return "nothing";
	snprintf(buf, len, "'%.60s'%s", scalar(n),
		 n->data.scalar.length > 60 ? "..." : "");
	return buf;
}

static int want_scalar(struct parser *ps, const yaml_node_t *n,
		       const char *key, const char *expect)
{
	char b[80];

	if (n->type == YAML_SCALAR_NODE && !is_null(n))
		return 0;
	return FAIL(ps, n, "wrong type for '%s': got %s (expected %s)", key,
		    got(n, b, sizeof(b)), expect);
}

static bool charset_ok(enum charset cs, char c)
{
	switch (cs) {
	case CS_NAME:
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		       (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		       c == '-';
	case CS_ARG:
		return c > ' ' && c < 0x7f;
	case CS_PATH:
		return c >= ' ' && c < 0x7f && c != ',';
	}
	return false;
}

static int parse_uint(struct parser *ps, const yaml_node_t *n,
		      const struct field *f, uint64_t *out)
{
	const char *s;
	uint64_t v = 0;

	if (want_scalar(ps, n, f->key, f->expect) != 0)
		return -EINVAL;
	s = scalar(n);
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return FAIL(ps, n, "wrong type for '%s': got the quoted string "
			    "\"%.40s\" (expected an integer: %s)", f->key, s,
			    f->expect);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return FAIL(ps, n, "wrong type for '%s': got '%.40s' "
				    "(expected an integer: %s)", f->key, s,
				    f->expect);
		if (v > (UINT64_MAX - 9) / 10)
			return FAIL(ps, n, "'%s' out of range: %.40s "
				    "(expected %s)", f->key, s, f->expect);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < f->min || v > f->max)
		return FAIL(ps, n, "'%s' out of range: %llu (expected %s)",
			    f->key, (unsigned long long)v, f->expect);
	if ((f->type == F_U32_POW2 || f->type == F_U64_POW2) &&
	    (v & (v - 1)) != 0)
		return FAIL(ps, n, "'%s' is not a power of two: %llu "
			    "(expected %s)", f->key, (unsigned long long)v,
			    f->expect);
	*out = v;
	return 0;
}

/* A decimal 0..1 with up to six digits after the point, in millionths. */
static int parse_fraction(struct parser *ps, const yaml_node_t *n,
			  const struct field *f, uint32_t *out)
{
	const char *s, *p;
	uint64_t v = 0, scale = 1000000;
	int digits = 0;

	if (want_scalar(ps, n, f->key, f->expect) != 0)
		return -EINVAL;
	s = scalar(n);
	p = s;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (*p != '0' && *p != '1'))
		goto bad;
	v = (uint64_t)(*p++ - '0') * scale;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 6)
				goto bad;
			scale /= 10;
			v += (uint64_t)(*p - '0') * scale;
		}
		if (digits == 0)
			goto bad;
	}
	if (*p != '\0')
		goto bad;
	if (v < f->min || v > f->max)
		return FAIL(ps, n, "'%s' out of range: %.40s (expected %s)",
			    f->key, s, f->expect);
	*out = (uint32_t)v;
	return 0;
bad:
	return FAIL(ps, n, "wrong type for '%s': got '%.40s' (expected %s)",
		    f->key, s, f->expect);
}

static int parse_bool(struct parser *ps, const yaml_node_t *n,
		      const struct field *f, bool *out)
{
	static const char *const t[] = { "true", "True", "TRUE" };
	static const char *const fl[] = { "false", "False", "FALSE" };

	if (want_scalar(ps, n, f->key, "true or false") != 0)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		if (strcmp(scalar(n), t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(scalar(n), fl[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return FAIL(ps, n, "wrong type for '%s': got '%.40s' (expected true "
		    "or false)", f->key, scalar(n));
}

static int parse_enum(struct parser *ps, const yaml_node_t *n,
		      const struct field *f, int *out)
{
	char list[256] = "";
	size_t used = 0;

	/* Names first: "driver: null" is the null driver, not YAML's null. */
	for (int i = 0; n->type == YAML_SCALAR_NODE && f->names[i] != NULL;
	     i++)
		if (strcmp(scalar(n), f->names[i]) == 0) {
			*out = i;
			return 0;
		}
	if (want_scalar(ps, n, f->key, "a name") != 0)
		return -EINVAL;
	for (int i = 0; f->names[i] != NULL; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", i ? " | " : "", f->names[i]);
	return FAIL(ps, n, "bad value for '%s': '%.40s' (expected one of: %s)",
		    f->key, scalar(n), list);
}

static int parse_str(struct parser *ps, const yaml_node_t *n,
		     const struct field *f, char *out)
{
	size_t len, max = f->max != 0 ? f->max : f->size - 1;
	const char *s;

	if (want_scalar(ps, n, f->key, f->expect) != 0)
		return -EINVAL;
	s = scalar(n);
	len = n->data.scalar.length;
	if (len == 0)
		return FAIL(ps, n, "'%s' is empty (expected %s)", f->key,
			    f->expect);
	if (len > max)
		return FAIL(ps, n, "'%s' is too long: %zu characters (expected "
			    "%s, at most %zu characters)", f->key, len,
			    f->expect, max);
	for (size_t i = 0; i < len; i++)
		if (!charset_ok(f->cs, s[i]))
			return FAIL(ps, n, "bad character in '%s' at position "
				    "%zu: '%.40s' (expected %s)", f->key, i + 1,
				    s, f->expect);
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int parse_path(struct parser *ps, const yaml_node_t *n,
		      const struct field *f, char *out)
{
	char rel[KC_CFG_PATH_MAX];
	int w;

	if (parse_str(ps, n, f, rel) != 0)
		return -EINVAL;
	if (rel[0] == '/')
		w = snprintf(out, f->size, "%s", rel);
	else
		w = snprintf(out, f->size, "%s/%s", ps->base_dir, rel);
	if (w < 0 || (size_t)w >= f->size)
		return FAIL(ps, n, "'%s' is too long once resolved against %s "
			    "(expected at most %zu characters)", f->key,
			    ps->base_dir, f->size - 1);
	/* Paths end up in driver arguments, which commas separate. */
	if (strchr(out, ',') != NULL)
		return FAIL(ps, n, "'%s' resolves to %s, which holds a comma "
			    "(expected a path without commas)", f->key, out);
	return 0;
}

static int parse_cidr(struct parser *ps, const yaml_node_t *n,
		      const struct field *f, struct kc_ipv4_cidr *out)
{
	char addr[32];
	const char *s, *slash;
	struct in_addr a;
	uint64_t prefix = 0;
	uint32_t h;

	if (want_scalar(ps, n, f->key, f->expect) != 0)
		return -EINVAL;
	s = scalar(n);
	slash = strchr(s, '/');
	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr) ||
	    slash[1] == '\0' || strlen(slash + 1) > 2)
		return FAIL(ps, n, "bad IPv4 address/prefix for '%s': '%.40s' "
			    "(expected %s)", f->key, s, f->expect);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	for (const char *p = slash + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return FAIL(ps, n, "bad prefix length for '%s': '%.40s' "
				    "(expected %s)", f->key, s, f->expect);
		prefix = prefix * 10 + (uint64_t)(*p - '0');
	}
	if (inet_pton(AF_INET, addr, &a) != 1)
		return FAIL(ps, n, "bad IPv4 address for '%s': '%.40s' "
			    "(expected %s)", f->key, s, f->expect);
	if (prefix < 1 || prefix > 32)
		return FAIL(ps, n, "prefix length of '%s' out of range: %llu "
			    "(expected 1..32)", f->key,
			    (unsigned long long)prefix);
	h = ntohl(a.s_addr);
	if (h == 0 || h == UINT32_MAX || (h >> 28) == 0xe || (h >> 24) == 0 ||
	    (h >> 24) == 127)
		return FAIL(ps, n, "'%s' is not a usable host address: %s "
			    "(expected a unicast address outside 0/8, "
			    "127/8 and 224/4)", f->key, addr);
	if (prefix < 31) {
		uint32_t mask = ~0u << (32 - prefix);

		if ((h & ~mask) == 0 || (h & ~mask) == ~mask)
			return FAIL(ps, n, "'%s' is the network or broadcast "
				    "address of its subnet: %s/%llu (expected "
				    "a host address)", f->key, addr,
				    (unsigned long long)prefix);
	}
	out->addr = h;
	out->prefix = (uint8_t)prefix;
	return 0;
}

static int parse_mac(struct parser *ps, const yaml_node_t *n,
		     const struct field *f, uint8_t mac[6])
{
	struct ether_addr ea;
	const char *s;
	bool zero = true;

	if (want_scalar(ps, n, f->key, f->expect) != 0)
		return -EINVAL;
	s = scalar(n);
	/* ether_aton() also takes single digits: insist on the long form. */
	if (n->data.scalar.length != 17)
		goto bad;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			goto bad;
	if (ether_aton_r(s, &ea) == NULL)
		goto bad;
	memcpy(mac, ea.ether_addr_octet, 6);
	for (int i = 0; i < 6; i++)
		zero &= mac[i] == 0;
	if (zero || (mac[0] & 1) != 0)
		return FAIL(ps, n, "'%s' is not a unicast MAC: %s (expected %s)",
			    f->key, s, f->expect);
	return 0;
bad:
	return FAIL(ps, n, "bad MAC for '%s': '%.40s' (expected %s)", f->key, s,
		    f->expect);
}

/* DDDD:BB:DD.F or BB:DD.F (domain 0), hex; normalised to the long form. */
static int parse_pci(struct parser *ps, const yaml_node_t *n,
		     const struct field *f, char *out)
{
	unsigned int dom = 0, bus, dev, fn;
	const char *s;
	char tail;

	if (want_scalar(ps, n, f->key, f->expect) != 0)
		return -EINVAL;
	s = scalar(n);
	for (const char *p = s; *p != '\0'; p++)
		if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
			goto bad;
	if (sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) != 4) {
		dom = 0;
		if (sscanf(s, "%2x:%2x.%1x%c", &bus, &dev, &fn, &tail) != 3)
			goto bad;
	}
	if (dev > 0x1f || fn > 7)
		goto bad;
	snprintf(out, KC_CFG_NAME_MAX, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
bad:
	return FAIL(ps, n, "bad PCI address for '%s': '%.40s' (expected %s)",
		    f->key, s, f->expect);
}

static int parse_eal_lcores(struct parser *ps, const yaml_node_t *n,
			    const struct field *f, char *out)
{
	struct kc_cpuset cpus[KC_LCORES_MAX]; /* 8 KiB */
	uint64_t set = 0;
	int rc;

	if (parse_str(ps, n, f, out) != 0)
		return -EINVAL;
	rc = kc_lcores_parse(out, cpus);
	if (rc == -ERANGE)
		return FAIL(ps, n, "'%s' names an lcore id above %u: '%s' "
			    "(expected %s)", f->key, KC_LCORES_MAX - 1,
			    out, f->expect);
	if (rc == -EOVERFLOW)
		return FAIL(ps, n, "'%s' names a CPU id above %u: '%s' "
			    "(expected %s)", f->key, KC_CPUS_MAX - 1,
			    out, f->expect);
	if (rc != 0)
		return FAIL(ps, n, "bad lcore list for '%s': '%s' (expected "
			    "%s)", f->key, out, f->expect);
	for (uint32_t l = 0; l < KC_LCORES_MAX; l++)
		if (!kc_cpuset_empty(&cpus[l]))
			set |= 1ull << l;
	ps->cfg->eal.lcore_set = set;
	return 0;
}

static int parse_lcore_list(struct parser *ps, const yaml_node_t *n,
			    const struct field *f, uint32_t *ids,
			    uint32_t *count)
{
	const struct field item = {
		.key = f->key, .type = F_U32, .min = 0,
		.max = KC_LCORE_ID_MAX,
		.expect = "an lcore id, 0.." KC_STR(KC_LCORE_ID_MAX),
	};
	char b[80];
	uint64_t dup = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return FAIL(ps, n, "wrong type for '%s': got %s (expected %s)",
			    f->key, got(n, b, sizeof(b)), f->expect);
	*count = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		const yaml_node_t *in = node_at(ps, *it);
		uint64_t v;

		if (*count >= f->size)
			return FAIL(ps, in, "too many lcores in '%s' (expected "
				    "at most %zu)", f->key, f->size);
		if (parse_uint(ps, in, &item, &v) != 0)
			return -EINVAL;
		if (dup & (1ull << v))
			return FAIL(ps, in, "lcore %llu is listed twice in '%s'",
				    (unsigned long long)v, f->key);
		dup |= 1ull << v;
		ids[(*count)++] = (uint32_t)v;
	}
	if (*count == 0)
		return FAIL(ps, n, "'%s' is empty (expected %s)", f->key,
			    f->expect);
	return 0;
}

static int parse_str_list(struct parser *ps, const yaml_node_t *n,
			  const struct field *f, char (*out)[KC_CFG_ARG_MAX],
			  uint32_t *count)
{
	const struct field item = {
		.key = f->key, .type = F_STR, .size = KC_CFG_ARG_MAX,
		.cs = f->cs, .expect = "an argument without spaces",
	};
	char b[80];

	if (n->type != YAML_SEQUENCE_NODE)
		return FAIL(ps, n, "wrong type for '%s': got %s (expected %s)",
			    f->key, got(n, b, sizeof(b)), f->expect);
	*count = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		const yaml_node_t *in = node_at(ps, *it);

		if (*count >= f->size)
			return FAIL(ps, in, "too many entries in '%s' (expected "
				    "at most %zu)", f->key, f->size);
		if (parse_str(ps, in, &item, out[*count]) != 0)
			return -EINVAL;
		(*count)++;
	}
	return 0;
}

static int walk_mapping(struct parser *ps, const yaml_node_t *n,
			const struct field *table, const char *where,
			void *base, struct seen *seen);
static int walk_ports(struct parser *ps, const yaml_node_t *n,
		      const struct field *f);
static int walk_nodes(struct parser *ps, const yaml_node_t *n,
		      const struct field *f);

static int parse_value(struct parser *ps, const yaml_node_t *n,
		       const struct field *f, void *base, struct seen *sub)
{
	uint8_t *dst = (uint8_t *)base + f->off;
	uint64_t v = 0;
	int e = 0, rc;

	switch (f->type) {
	case F_BOOL:
		return parse_bool(ps, n, f, (bool *)dst);
	case F_U32:
	case F_U32_POW2:
		rc = parse_uint(ps, n, f, &v);
		if (rc == 0)
			*(uint32_t *)dst = (uint32_t)v;
		return rc;
	case F_U16:
		rc = parse_uint(ps, n, f, &v);
		if (rc == 0)
			*(uint16_t *)dst = (uint16_t)v;
		return rc;
	case F_U64:
	case F_U64_POW2:
		rc = parse_uint(ps, n, f, &v);
		if (rc == 0)
			*(uint64_t *)dst = v;
		return rc;
	case F_FRACTION:
		return parse_fraction(ps, n, f, (uint32_t *)dst);
	case F_STR:
		return parse_str(ps, n, f, (char *)dst);
	case F_PATH:
		return parse_path(ps, n, f, (char *)dst);
	case F_ENUM:
		rc = parse_enum(ps, n, f, &e);
		if (rc == 0)
			*(int *)dst = e;
		return rc;
	case F_CIDR:
		return parse_cidr(ps, n, f, (struct kc_ipv4_cidr *)dst);
	case F_MAC:
		return parse_mac(ps, n, f, dst);
	case F_PCI:
		return parse_pci(ps, n, f, (char *)dst);
	case F_EAL_LCORES:
		return parse_eal_lcores(ps, n, f, (char *)dst);
	case F_LCORE_LIST:
		return parse_lcore_list(ps, n, f, (uint32_t *)dst,
					(uint32_t *)((uint8_t *)base + f->aux));
	case F_STR_LIST:
		return parse_str_list(ps, n, f, (char (*)[KC_CFG_ARG_MAX])dst,
				      (uint32_t *)((uint8_t *)base + f->aux));
	case F_SECTION:
		return walk_mapping(ps, n, f->sub, f->key, base, sub);
	case F_PORTS:
		return walk_ports(ps, n, f);
	case F_NODES:
		return walk_nodes(ps, n, f);
	}
	return FAIL(ps, n, "internal error: key '%s' has no parser", f->key);
}

static struct seen *section_seen(struct parser *ps, const struct field *f)
{
	if (f->sub == eal_fields)
		return &ps->eal;
	if (f->sub == pipeline_fields)
		return &ps->pipeline;
	if (f->sub == mempool_fields)
		return &ps->mempool;
	if (f->sub == journal_fields)
		return &ps->journal;
	if (f->sub == ledger_fields)
		return &ps->ledger;
	if (f->sub == services_fields)
		return &ps->services;
	if (f->sub == arbiter_fields)
		return &ps->arbiter;
	if (f->sub == analytics_fields)
		return &ps->analytics;
	if (f->sub == cluster_fields)
		return &ps->cluster;
	if (f->sub == admin_fields)
		return &ps->admin;
	return NULL;
}

static int walk_mapping(struct parser *ps, const yaml_node_t *n,
			const struct field *table, const char *where,
			void *base, struct seen *seen)
{
	struct seen local;
	char b[80];

	if (seen == NULL)
		seen = &local;
	memset(seen, 0, sizeof(*seen));
	if (is_null(n))
		goto required; /* "eal:" with nothing: every default */
	if (n->type != YAML_MAPPING_NODE)
		return FAIL(ps, n, "wrong type for '%s': got %s (expected a "
			    "mapping of keys)", where, got(n, b, sizeof(b)));
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     pr < n->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = node_at(ps, pr->key);
		const yaml_node_t *v = node_at(ps, pr->value);
		char keys[512];
		size_t used = 0;
		int i;

		if (k->type != YAML_SCALAR_NODE)
			return FAIL(ps, k, "a key in '%s' is %s (expected a "
				    "plain name)", where, got(k, b, sizeof(b)));
		for (i = 0; table[i].key != NULL; i++)
			if (strcmp(scalar(k), table[i].key) == 0)
				break;
		if (table[i].key == NULL) {
			for (int j = 0; table[j].key != NULL; j++)
				used += (size_t)snprintf(keys + used,
					sizeof(keys) - used, "%s%s",
					j ? ", " : "", table[j].key);
			return FAIL(ps, k, "unknown key '%.60s' in %s (expected "
				    "one of: %s)", scalar(k), where, keys);
		}
		if (seen->key[i] != NULL)
			return FAIL(ps, k, "duplicate key '%s' in %s (first at "
				    "line %zu)", table[i].key, where,
				    seen->key[i]->start_mark.line + 1);
		seen->key[i] = k;
		seen->val[i] = v;
		if (parse_value(ps, v, &table[i], base,
				section_seen(ps, &table[i])) != 0)
			return -EINVAL;
	}
required:
	for (int i = 0; table[i].key != NULL; i++)
		if (table[i].required && seen->key[i] == NULL)
			return FAIL(ps, n, "missing key '%s' in %s%s%s%s",
				    table[i].key, where,
				    table[i].expect ? " (expected " : "",
				    table[i].expect ? table[i].expect : "",
				    table[i].expect ? ")" : "");
	return 0;
}

static void port_defaults(struct kc_port_cfg *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->rx_desc = 1024;
	pc->tx_desc = 1024;
	pc->mtu = 1500;
	pc->link_wait_ms = 3000;
	pc->memif_role = KC_MEMIF_SERVER;
	pc->flow_steering = true;
}

/* Keys of one port that depend on its driver. */
static int check_port(struct parser *ps, uint32_t i)
{
	struct kc_port_cfg *pc = &ps->cfg->ports[i];
	const struct seen *s = &ps->port[i];
	const char *drv = port_driver_names[pc->driver];

	for (int f = 0; port_fields[f].key != NULL; f++) {
		uint32_t mask = port_fields[f].drivers;
		char for_[64] = "";
		size_t used = 0;

		if (s->key[f] == NULL || mask == D_ALL ||
		    (mask & (1u << pc->driver)) != 0)
			continue;
		for (int d = 0; port_driver_names[d] != NULL; d++)
			if (mask & (1u << d))
				used += (size_t)snprintf(for_ + used,
					sizeof(for_) - used, "%s%s",
					used ? ", " : "", port_driver_names[d]);
		return FAIL(ps, s->key[f], "key '%s' does not apply to driver "
			    "%s (it is for: %s)", port_fields[f].key, drv,
			    for_);
	}
	pc->has_mac = s->key[PF_MAC] != NULL;
	pc->has_host_ip = s->key[PF_HOST_IP] != NULL;
	pc->has_exception_host_ip = s->key[PF_EXCEPTION_HOST_IP] != NULL;
	if (pc->has_exception_host_ip && pc->exception_iface[0] == '\0')
		return FAIL(ps, s->key[PF_EXCEPTION_HOST_IP], "key "
			    "'exception_host_ip' needs 'exception_iface' in "
			    "port '%s' (expected the interface the address is "
			    "given to)", pc->name);
	if (s->key[PF_FLOW_STEERING] != NULL && pc->exception_iface[0] == '\0')
		return FAIL(ps, s->key[PF_FLOW_STEERING], "key 'flow_steering' "
			    "needs 'exception_iface' in port '%s' (flow rules "
			    "split KCP from what the exception path hands to "
			    "the kernel)", pc->name);
	switch (pc->driver) {
	case KC_PORT_TAP:
		if (pc->iface[0] == '\0') {
			if (strlen(pc->name) > KC_CFG_IFNAME_MAX)
				return FAIL(ps, ps->port_map[i], "port '%s' "
					    "needs 'iface': its name is too "
					    "long for an interface name",
					    pc->name);
			memcpy(pc->iface, pc->name, strlen(pc->name) + 1);
		}
		if (pc->has_host_ip) {
			uint32_t mask = ~0u << (32 - pc->host_ip.prefix);

			if (pc->host_ip.addr == pc->ip.addr)
				return FAIL(ps, s->val[PF_HOST_IP], "host_ip is the "
					    "appliance's own address (expected "
					    "another address of its subnet)");
			if ((pc->host_ip.addr & mask) !=
			    (pc->ip.addr & mask) ||
			    pc->host_ip.prefix != pc->ip.prefix)
				return FAIL(ps, s->val[PF_HOST_IP], "host_ip is not in "
					    "the subnet of ip (expected an "
					    "address of the same subnet and "
					    "prefix, so the host can reach "
					    "the appliance)");
		}
		break;
	case KC_PORT_AF_PACKET:
	case KC_PORT_AF_XDP:
		if (pc->iface[0] == '\0')
			return FAIL(ps, ps->port_map[i], "missing key 'iface' "
				    "in port '%s' (expected the existing "
				    "interface driver %s attaches to)",
				    pc->name, drv);
		break;
	case KC_PORT_PCI:
		if (pc->pci[0] == '\0')
			return FAIL(ps, ps->port_map[i], "missing key 'pci' in "
				    "port '%s' (expected a PCI address such "
				    "as 0000:3b:00.0)", pc->name);
		break;
	case KC_PORT_MEMIF:
		if (pc->socket_path[0] == '\0')
			return FAIL(ps, ps->port_map[i], "missing key 'socket' "
				    "in port '%s' (expected the path of the "
				    "memif control socket)", pc->name);
		break;
	case KC_PORT_PCAP:
		if (pc->rx_pcap[0] == '\0')
			return FAIL(ps, ps->port_map[i], "missing key "
				    "'rx_pcap' in port '%s' (expected a pcap "
				    "file to read frames from)", pc->name);
		break;
	case KC_PORT_RING:
	case KC_PORT_NULL:
		break;
	}
	if (pc->exception_iface[0] != '\0' &&
	    strcmp(pc->exception_iface, pc->iface) == 0)
		return FAIL(ps, s->val[PF_EXCEPTION_IFACE], "exception_iface "
			    "'%s' is the port's own interface (expected a new "
			    "TAP interface for the kernel)", pc->iface);
	for (uint32_t j = 0; j < i; j++) {
		const struct kc_port_cfg *o = &ps->cfg->ports[j];

		if (strcmp(o->name, pc->name) == 0)
			return FAIL(ps, s->val[PF_NAME], "port name '%s' is used "
				    "twice (expected a unique name)", pc->name);
		if (o->ip.addr == pc->ip.addr)
			return FAIL(ps, s->val[PF_IP], "ip is also port '%s''s "
				    "(expected one address per port)",
				    o->name);
		if (pc->iface[0] != '\0' && strcmp(o->iface, pc->iface) == 0)
			return FAIL(ps, s->val[PF_IFACE] ? s->val[PF_IFACE] : s->val[PF_NAME],
				    "interface '%s' is also port '%s''s "
				    "(expected one port per interface)",
				    pc->iface, o->name);
		if (pc->exception_iface[0] != '\0' &&
		    (strcmp(o->iface, pc->exception_iface) == 0 ||
		     strcmp(o->exception_iface, pc->exception_iface) == 0))
			return FAIL(ps, s->val[PF_EXCEPTION_IFACE], "interface "
				    "'%s' is also port '%s''s (expected one "
				    "port per interface)", pc->exception_iface,
				    o->name);
		if (pc->pci[0] != '\0' && strcmp(o->pci, pc->pci) == 0)
			return FAIL(ps, s->val[PF_PCI], "PCI device %s is also "
				    "port '%s''s", pc->pci, o->name);
	}
	return 0;
}

static int walk_ports(struct parser *ps, const yaml_node_t *n,
		      const struct field *f)
{
	struct kc_config *cfg = ps->cfg;
	char b[80];

	if (n->type != YAML_SEQUENCE_NODE)
		return FAIL(ps, n, "wrong type for 'ports': got %s (expected "
			    "%s)", got(n, b, sizeof(b)), f->expect);
	cfg->port_count = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		const yaml_node_t *pn = node_at(ps, *it);
		uint32_t i = cfg->port_count;
		char where[32];

		if (i >= KC_PORTS_MAX)
			return FAIL(ps, pn, "too many ports (expected at most "
				    "%u)", KC_PORTS_MAX);
		port_defaults(&cfg->ports[i]);
		snprintf(where, sizeof(where), "ports[%u]", i);
		if (pn->type != YAML_MAPPING_NODE)
			return FAIL(ps, pn, "wrong type for %s: got %s "
				    "(expected a mapping with name, driver, "
				    "ip...)", where, got(pn, b, sizeof(b)));
		ps->port_map[i] = pn;
		if (walk_mapping(ps, pn, port_fields, where, &cfg->ports[i],
				 &ps->port[i]) != 0)
			return -EINVAL;
		cfg->port_count++;
		if (check_port(ps, i) != 0)
			return -EINVAL;
	}
	if (cfg->port_count == 0)
		return FAIL(ps, n, "'ports' is empty (expected %s)", f->expect);
	return 0;
}

/* "a.b.c.d:port", port 1..65535. */
static bool ipv4_port(const char *s)
{
	char ip[16], *end;
	const char *colon = strrchr(s, ':');
	struct in_addr a;
	unsigned long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(ip))
		return false;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	return inet_pton(AF_INET, ip, &a) == 1 && colon[1] >= '0' &&
	       colon[1] <= '9' && *end == '\0' && errno == 0 && port >= 1 &&
	       port <= 65535;
}

static int walk_nodes(struct parser *ps, const yaml_node_t *n,
		      const struct field *f)
{
	struct kc_config *cfg = ps->cfg;
	char b[80];

	if (n->type != YAML_SEQUENCE_NODE)
		return FAIL(ps, n, "wrong type for 'cluster.nodes': got %s "
			    "(expected %s)", got(n, b, sizeof(b)), f->expect);
	cfg->cluster.nb_nodes = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		const yaml_node_t *nn = node_at(ps, *it);
		uint32_t i = cfg->cluster.nb_nodes;
		struct kc_cluster_node_cfg *nc = &cfg->cluster.nodes[i];
		char where[32];

		if (i >= KC_CFG_CLUSTER_NODES_MAX)
			return FAIL(ps, nn, "too many cluster nodes (expected "
				    "at most %u)", KC_CFG_CLUSTER_NODES_MAX);
		memset(nc, 0, sizeof(*nc));
		snprintf(where, sizeof(where), "cluster.nodes[%u]", i);
		if (nn->type != YAML_MAPPING_NODE)
			return FAIL(ps, nn, "wrong type for %s: got %s "
				    "(expected a mapping with id and address)",
				    where, got(nn, b, sizeof(b)));
		ps->node_map[i] = nn;
		if (walk_mapping(ps, nn, node_fields, where, nc,
				 &ps->node[i]) != 0)
			return -EINVAL;
		if (!ipv4_port(nc->address))
			return FAIL(ps, ps->node[i].val[ND_ADDRESS], "bad "
				    "address '%s' in %s (expected a.b.c.d:port, "
				    "port 1..65535)", nc->address, where);
		for (uint32_t k = 0; k < i; k++) {
			if (cfg->cluster.nodes[k].id == nc->id)
				return FAIL(ps, ps->node[i].val[ND_ID],
					    "duplicate cluster node id %u "
					    "(also cluster.nodes[%u])", nc->id,
					    k);
			if (strcmp(cfg->cluster.nodes[k].address,
				   nc->address) == 0)
				return FAIL(ps, ps->node[i].val[ND_ADDRESS],
					    "duplicate cluster node address "
					    "%s (also cluster.nodes[%u])",
					    nc->address, k);
		}
		cfg->cluster.nb_nodes++;
	}
	if (cfg->cluster.nb_nodes == 0)
		return FAIL(ps, n, "'cluster.nodes' is empty (expected %s)",
			    f->expect);
	return 0;
}

/* ---- checks across sections ------------------------------------------- */

/* The node to blame: the first present of a value, its section, the root. */
static const yaml_node_t *blame(const struct parser *ps,
				const struct seen *sec, int idx, int top_idx)
{
	if (sec != NULL && sec->val[idx] != NULL)
		return sec->val[idx];
	if (ps->top.val[top_idx] != NULL)
		return ps->top.key[top_idx];
	return ps->root;
}

/* The value of field idx of sec if the file sets it, else fallback. */
static const yaml_node_t *set_or(const struct seen *sec, int idx,
				 const yaml_node_t *fallback)
{
	return sec->val[idx] != NULL ? sec->val[idx] : fallback;
}

/* The item of a sequence node holding value v (for lcore lists). */
static const yaml_node_t *item_of(const struct parser *ps,
				  const yaml_node_t *seq, uint32_t v)
{
	char s[16];

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return seq;
	snprintf(s, sizeof(s), "%u", v);
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++)
		if (strcmp(scalar(node_at(ps, *it)), s) == 0)
			return node_at(ps, *it);
	return seq;
}

static bool in_list(const uint32_t *ids, uint32_t n, uint32_t v)
{
	for (uint32_t i = 0; i < n; i++)
		if (ids[i] == v)
			return true;
	return false;
}

static int check_lcores(struct parser *ps)
{
	const struct kc_config *cfg = ps->cfg;
	const struct kc_lcore_map *map = &cfg->pipeline.lcores;
	const yaml_node_t *rx = blame(ps, &ps->pipeline, PL_RX_LCORES, TOP_PIPELINE);
	const yaml_node_t *wk = blame(ps, &ps->pipeline, PL_WORKER_LCORES,
				      TOP_PIPELINE);
	uint64_t set = cfg->eal.lcore_set;
	bool shared = false;

	if ((set & (1ull << cfg->eal.main_lcore)) == 0)
		return FAIL(ps, blame(ps, &ps->eal, EAL_MAIN_LCORE, TOP_EAL),
			    "main_lcore %u is not in eal.lcores '%s' (expected "
			    "one of its lcore ids)", cfg->eal.main_lcore,
			    cfg->eal.lcores);
	for (int list = 0; list < 2; list++) {
		const uint32_t *ids = list == 0 ? map->rx : map->worker;
		uint32_t n = list == 0 ? map->rx_count : map->worker_count;
		const yaml_node_t *node = list == 0 ? rx : wk;
		const char *name = list == 0 ? "rx_lcores" : "worker_lcores";

		for (uint32_t i = 0; i < n; i++) {
			if ((set & (1ull << ids[i])) == 0)
				return FAIL(ps, item_of(ps, node, ids[i]),
					    "lcore %u of %s is not in "
					    "eal.lcores '%s' (expected an "
					    "lcore the EAL starts)", ids[i],
					    name, cfg->eal.lcores);
			if (ids[i] == cfg->eal.main_lcore)
				return FAIL(ps, item_of(ps, node, ids[i]),
					    "lcore %u of %s is the main lcore, "
					    "which runs the control plane "
					    "(expected another lcore of "
					    "eal.lcores)", ids[i], name);
		}
	}
	for (uint32_t i = 0; i < map->worker_count; i++)
		shared |= in_list(map->rx, map->rx_count, map->worker[i]);
	/* Run-to-completion is one lcore doing everything; an lcore in both
	 * lists beside others would leave rings without a consumer. */
	if (shared && (map->rx_count != 1 || map->worker_count != 1))
		return FAIL(ps, wk, "an lcore is in both rx_lcores and "
			    "worker_lcores, but the lists differ (expected "
			    "either the same single lcore in both, for "
			    "run-to-completion, or two lists with no lcore in "
			    "common, for a pipeline)");
	return 0;
}

void kc_port_queues(enum kc_port_driver d, uint16_t nb_rxq, uint16_t nb_txq,
		    uint16_t *rxq, uint16_t *txq)
{
	bool paired = d == KC_PORT_TAP || d == KC_PORT_AF_PACKET ||
		      d == KC_PORT_AF_XDP;

	*rxq = paired ? (nb_rxq > nb_txq ? nb_rxq : nb_txq) : nb_rxq;
	*txq = paired ? (nb_rxq > nb_txq ? nb_rxq : nb_txq) : nb_txq;
}

void kc_config_queue_needs(const struct kc_config *cfg, uint16_t *nb_rxq,
			   uint16_t *nb_txq)
{
	const struct kc_lcore_map *map = &cfg->pipeline.lcores;
	uint32_t distinct = map->rx_count;

	for (uint32_t w = 0; w < map->worker_count; w++)
		distinct += in_list(map->rx, map->rx_count, map->worker[w]) ?
			0 : 1;
	*nb_rxq = (uint16_t)map->rx_count;
	*nb_txq = (uint16_t)distinct;
}

uint64_t kc_config_snapshot_bytes_max(const struct kc_config *cfg)
{
	/* What kc_queue_snapshot writes at most (lib/queue), cut into
	 * SNAPSHOT records (lib/journal). */
	const struct kc_queue_limits lim = {
		.max_queues = cfg->queues.max_queues,
		.max_bytes_per_queue = cfg->queues.max_bytes_per_queue,
		.max_messages_per_queue = cfg->queues.max_messages_per_queue,
		.max_consumers_per_queue = cfg->queues.max_consumers_per_queue,
	};

	return kc_jsnap_bytes_max(kc_queue_snapshot_max(&lim));
}

uint64_t kc_config_services_snapshot_bytes_max(const struct kc_config *cfg)
{
	const struct kc_services_limits lim = {
		.max_services = cfg->services.max_services,
		.max_types = cfg->services.max_types,
		.max_calls = cfg->services.max_calls,
		.max_payload = cfg->services.max_payload,
	};

	if (!cfg->services.enabled)
		return 0;
	return kc_services_snapshot_max(&lim);
}

uint64_t kc_config_ledger_snapshot_bytes_max(const struct kc_config *cfg)
{
	const struct kc_ledger_limits lim = {
		.max_accounts = cfg->ledger.max_accounts,
		.max_coins = cfg->ledger.max_coins,
	};

	if (!cfg->ledger.enabled)
		return 0;
	return kc_ledger_snapshot_max(&lim);
}

uint64_t kc_config_memory_bytes(const struct kc_config *cfg)
{
	const uint64_t mbuf_overhead = 128 + 64; /* struct rte_mbuf, pool */
	uint64_t workers = cfg->pipeline.lcores.worker_count;
	uint64_t per_queue = (uint64_t)cfg->queues.max_bytes_per_queue +
		(uint64_t)cfg->queues.max_messages_per_queue * 24 +
		(uint64_t)cfg->queues.max_consumers_per_queue * 80 + 160;
	uint64_t per_worker = cfg->journal.buffer_bytes +
		/* index entries, and rte_hash's buckets and keys for them */
		(uint64_t)cfg->idempotency.entries * (128 + 128) +
		(uint64_t)cfg->queues.max_queues * per_queue +
		(uint64_t)cfg->journal.max_pending * 16 +
		(uint64_t)cfg->pipeline.ring_size * 8 +
		/* snapshot scratch, and recovery's two of them */
		3 * kc_config_snapshot_bytes_max(cfg);

	/* The ledger (worker 0): its tables (about 100 bytes a coin with
	 * rte_hash's, 60 an account) and snapshot buffers. */
	uint64_t ledger = !cfg->ledger.enabled ? 0 :
		(uint64_t)cfg->ledger.max_coins * 100 +
		(uint64_t)cfg->ledger.max_accounts * 60 +
		2 * kc_config_ledger_snapshot_bytes_max(cfg) + (2u << 20);

	/* Service calls (worker 0, beside the ledger). */
	const struct kc_services_limits svl = {
		.max_services = cfg->services.max_services,
		.max_types = cfg->services.max_types,
		.max_calls = cfg->services.max_calls,
		.max_payload = cfg->services.max_payload,
	};
	uint64_t services = cfg->services.enabled && cfg->ledger.enabled ?
		kc_services_bytes(&svl) : 0;

	/* 32 MiB for the EAL's own tables, telemetry and the ports. */
	return (uint64_t)cfg->mempool.mbufs *
		       (cfg->mempool.data_room + mbuf_overhead) +
	       workers * per_worker + ledger + services + (32ull << 20);
}

static int check_journal(struct parser *ps)
{
	struct kc_config *cfg = ps->cfg;
	uint64_t snap_max = kc_config_snapshot_bytes_max(cfg);
	uint64_t pair, seg_room;
	const yaml_node_t *at;

	if (cfg->journal.reserve_bytes == UINT64_MAX)
		cfg->journal.reserve_bytes = cfg->journal.segment_bytes / 8;
	if (cfg->journal.snapshot_bytes == UINT64_MAX)
		cfg->journal.snapshot_bytes = cfg->journal.segment_bytes / 4;
	/* A queue's snapshot is appended in one go. */
	if (snap_max > cfg->journal.buffer_bytes / 2)
		return FAIL(ps, blame(ps, &ps->journal, JR_BUFFER_BYTES,
				      TOP_JOURNAL),
			    "journal.buffer_bytes %llu cannot take a snapshot "
			    "of one queue, up to %llu bytes with these queues "
			    "limits (expected at least twice that, or smaller "
			    "queue limits)",
			    (unsigned long long)cfg->journal.buffer_bytes,
			    (unsigned long long)snap_max);
	/* So is the ledger's. */
	if (kc_config_ledger_snapshot_bytes_max(cfg) >
	    cfg->journal.buffer_bytes / 2)
		return FAIL(ps, set_or(&ps->ledger, LG_MAX_COINS,
				       blame(ps, &ps->journal, JR_BUFFER_BYTES,
					     TOP_JOURNAL)),
			    "ledger.max_coins %u and max_accounts %u make a "
			    "ledger snapshot of up to %llu bytes, more than "
			    "half of journal.buffer_bytes %llu (expected fewer "
			    "coins or a larger journal buffer)",
			    cfg->ledger.max_coins, cfg->ledger.max_accounts,
			    (unsigned long long)
				    kc_config_ledger_snapshot_bytes_max(cfg),
			    (unsigned long long)cfg->journal.buffer_bytes);
	/* With service calls, theirs goes with the ledger's, at once. */
	if (cfg->services.enabled && cfg->ledger.enabled &&
	    kc_config_ledger_snapshot_bytes_max(cfg) +
			    kc_config_services_snapshot_bytes_max(cfg) >
		    cfg->journal.buffer_bytes / 2)
		return FAIL(ps, set_or(&ps->services, SV_MAX_CALLS,
				       blame(ps, &ps->journal, JR_BUFFER_BYTES,
					     TOP_JOURNAL)),
			    "the ledger's snapshot (up to %llu bytes) and the "
			    "services' (up to %llu: services.max_calls %u, "
			    "max_services %u, max_payload %u) are written "
			    "together and take more than half of "
			    "journal.buffer_bytes %llu (expected fewer calls "
			    "or coins, or a larger journal buffer)",
			    (unsigned long long)
				    kc_config_ledger_snapshot_bytes_max(cfg),
			    (unsigned long long)
				    kc_config_services_snapshot_bytes_max(cfg),
			    cfg->services.max_calls,
			    cfg->services.max_services,
			    cfg->services.max_payload,
			    (unsigned long long)cfg->journal.buffer_bytes);
	/* The ledger's snapshot (with the services') is appended whole once
	 * the journal has room for it: what is left of the current segment
	 * and the next one (preallocated), so it must fit one segment, or it
	 * would wait forever and the journal could never be trimmed. */
	pair = kc_jsnap_bytes_max(kc_config_ledger_snapshot_bytes_max(cfg)) +
	       (cfg->services.enabled && cfg->ledger.enabled ?
		kc_jsnap_bytes_max(kc_config_services_snapshot_bytes_max(cfg)) :
		0);
	seg_room = cfg->journal.segment_bytes > 2 * KC_JREC_MAX_SIZE +
			kc_jrec_size(KC_JSEG_PAYLOAD_LEN) ?
		cfg->journal.segment_bytes - 2 * KC_JREC_MAX_SIZE -
			kc_jrec_size(KC_JSEG_PAYLOAD_LEN) : 0;
	/* Blamed on the calls, else the coins, if set; else the segments. */
	at = set_or(&ps->ledger, LG_MAX_COINS,
		    blame(ps, &ps->journal, JR_SEGMENT_BYTES, TOP_JOURNAL));
	if (cfg->services.enabled)
		at = set_or(&ps->services, SV_MAX_CALLS, at);
	if (pair > seg_room)
		return FAIL(ps, at,
			    "the ledger's snapshot%s (up to %llu bytes in the "
			    "journal) must fit one journal segment: "
			    "segment_bytes %llu takes at most %llu (expected "
			    "fewer %s, or journal.segment_bytes of at least "
			    "%llu)", cfg->services.enabled ?
				" and the services' written with it" : "",
			    (unsigned long long)pair,
			    (unsigned long long)cfg->journal.segment_bytes,
			    (unsigned long long)seg_room,
			    cfg->services.enabled ? "services.max_calls or "
				"ledger.max_coins" : "ledger.max_coins",
			    (unsigned long long)(cfg->journal.segment_bytes -
						 seg_room + pair));
	/* So is a queue's, whole (kc_snapshot.c): a full queue's must fit
	 * one segment too. */
	if (kc_jsnap_bytes_max(snap_max) > seg_room)
		return FAIL(ps, ps->top.key[TOP_QUEUES] != NULL ?
				ps->top.key[TOP_QUEUES] :
				blame(ps, &ps->journal, JR_SEGMENT_BYTES,
				      TOP_JOURNAL),
			    "a full queue's snapshot (up to %llu bytes in the "
			    "journal with queues.max_bytes_per_queue %u and "
			    "max_messages_per_queue %u) must fit one journal "
			    "segment, or it would wait forever and the journal "
			    "could never be trimmed: segment_bytes %llu takes "
			    "at most %llu (expected smaller queue limits, or "
			    "journal.segment_bytes of at least %llu)",
			    (unsigned long long)kc_jsnap_bytes_max(snap_max),
			    cfg->queues.max_bytes_per_queue,
			    cfg->queues.max_messages_per_queue,
			    (unsigned long long)cfg->journal.segment_bytes,
			    (unsigned long long)seg_room,
			    (unsigned long long)(cfg->journal.segment_bytes -
						 seg_room +
						 kc_jsnap_bytes_max(snap_max)));
	if (cfg->journal.reserve_bytes > cfg->journal.segment_bytes / 2)
		return FAIL(ps, blame(ps, &ps->journal, JR_RESERVE_BYTES,
				      TOP_JOURNAL),
			    "journal.reserve_bytes %llu is more than half of "
			    "segment_bytes %llu (expected at most %llu)",
			    (unsigned long long)cfg->journal.reserve_bytes,
			    (unsigned long long)cfg->journal.segment_bytes,
			    (unsigned long long)cfg->journal.segment_bytes / 2);
	return 0;
}

/* Service calls hold coins in escrow: the ledger's, made durable by the
 * journal before the call is delivered. */
static int check_services(struct parser *ps)
{
	const struct kc_config *cfg = ps->cfg;

	if (!cfg->services.enabled)
		return 0;
	if (!cfg->ledger.enabled)
		return FAIL(ps, blame(ps, &ps->services, SV_ENABLED,
				      TOP_SERVICES),
			    "services.enabled needs the ledger (the price of "
			    "a call is held in escrow): set ledger.enabled: "
			    "true, or services.enabled: false");
	if (cfg->journal.dir[0] == '\0')
		return FAIL(ps, blame(ps, &ps->services, SV_ENABLED,
				      TOP_SERVICES),
			    "services.enabled needs the journal (a call is "
			    "delivered once its escrow is durable): set "
			    "journal.dir, or services.enabled: false");
	return 0;
}

static int check_cluster(struct parser *ps)
{
	struct kc_config *cfg = ps->cfg;
	const struct seen *cl = &ps->cluster;
	bool member = false;

	cfg->cluster.enabled = ps->top.val[TOP_CLUSTER] != NULL;
	if (!cfg->cluster.enabled)
		return 0;
	for (uint32_t i = 0; i < cfg->cluster.nb_nodes; i++)
		member |= cfg->cluster.nodes[i].id == cfg->cluster.node_id;
	if (!member)
		return FAIL(ps, cl->val[CL_NODE_ID], "cluster.node_id %u is "
			    "not one of cluster.nodes' ids (expected this "
			    "node's entry among them)", cfg->cluster.node_id);
	if (cfg->cluster.heartbeat_ms >= cfg->cluster.election_timeout_ms)
		return FAIL(ps, set_or(cl, CL_HEARTBEAT_MS,
				       set_or(cl, CL_ELECTION_TIMEOUT_MS,
					      ps->top.key[TOP_CLUSTER])),
			    "cluster.heartbeat_ms %u is not under "
			    "election_timeout_ms %u (a leader must be heard "
			    "from before followers stand)",
			    cfg->cluster.heartbeat_ms,
			    cfg->cluster.election_timeout_ms);
	if (cfg->journal.dir[0] == '\0')
		return FAIL(ps, ps->top.key[TOP_CLUSTER], "the cluster "
			    "replicates the journal: set journal.dir");
	return 0;
}

static int check_admin(struct parser *ps)
{
	struct in_addr a;

	if (inet_pton(AF_INET, ps->cfg->admin.listen, &a) != 1)
		return FAIL(ps, blame(ps, &ps->admin, AD_LISTEN, TOP_ADMIN),
			    "admin.listen '%s' is not an IPv4 address "
			    "(expected e.g. 127.0.0.1, or 0.0.0.0 for every "
			    "interface)", ps->cfg->admin.listen);
	/* The bearer token of the actions must not cross a network in
	 * clear: off the loopback, production wants TLS. */
	if (ps->cfg->production && ps->cfg->admin.enabled &&
	    (ntohl(a.s_addr) >> 24) != 127 &&
	    ps->cfg->admin.tls_certificate[0] == '\0')
		return FAIL(ps, blame(ps, &ps->admin, AD_LISTEN, TOP_ADMIN),
			    "admin.listen %s without admin.tls_certificate "
			    "is refused with production: true: the admin "
			    "token would cross the network in clear (expected "
			    "a certificate, or a loopback address such as "
			    "127.0.0.1)", ps->cfg->admin.listen);
	return 0;
}

static int check_resources(struct parser *ps)
{
	const struct kc_config *cfg = ps->cfg;
	uint64_t need = 0;
	uint32_t mtu_max = 0;
	uint16_t nb_rxq, nb_txq;
	bool rtc;

	kc_config_queue_needs(cfg, &nb_rxq, &nb_txq);
	rtc = cfg->pipeline.lcores.rx_count == 1 &&
	      cfg->pipeline.lcores.worker_count == 1 &&
	      cfg->pipeline.lcores.rx[0] == cfg->pipeline.lcores.worker[0];
	for (uint32_t i = 0; i < cfg->port_count; i++) {
		uint16_t rxq, txq;

		kc_port_queues(cfg->ports[i].driver, nb_rxq, nb_txq, &rxq,
			       &txq);
		need += (uint64_t)cfg->ports[i].rx_desc * rxq +
			(uint64_t)cfg->ports[i].tx_desc * txq;
		/* Exception path: its rings, its TAP's queues and the spare
		 * queue pair flow steering may add. */
		if (cfg->ports[i].exception_iface[0] != '\0')
			need += KC_CFG_EXCEPTION_IN_RING +
				KC_CFG_EXCEPTION_OUT_RING +
				2ull * KC_CFG_EXCEPTION_TAP_DESC;
		if (cfg->ports[i].exception_iface[0] != '\0' &&
		    cfg->ports[i].flow_steering &&
		    (cfg->ports[i].driver == KC_PORT_PCI ||
		     cfg->ports[i].driver == KC_PORT_TAP))
			need += (uint64_t)cfg->ports[i].rx_desc +
				cfg->ports[i].tx_desc;
		if (cfg->ports[i].mtu > mtu_max)
			mtu_max = cfg->ports[i].mtu;
	}
	if (!rtc)
		need += (uint64_t)cfg->pipeline.ring_size *
			cfg->pipeline.lcores.worker_count;
	/* Replies held until their journal group is on disk. */
	need += (uint64_t)cfg->journal.max_pending *
		cfg->pipeline.lcores.worker_count;
	/* Every data-path lcore may hold a cache, a burst in hand and a TX
	 * buffer per port. */
	need += (uint64_t)(nb_txq + 1) *
		(cfg->mempool.cache + cfg->pipeline.burst *
		 (1 + cfg->port_count));
	if (cfg->mempool.mbufs < need)
		return FAIL(ps, blame(ps, &ps->mempool, MP_MBUFS, TOP_MEMPOOL),
			    "mempool.mbufs %u is fewer than the %llu that the "
			    "ports' descriptors, the worker rings, the replies "
			    "awaiting the journal, the exception paths and the "
			    "lcore caches can "
			    "hold at once (expected at least %llu)", cfg->mempool.mbufs,
			    (unsigned long long)need, (unsigned long long)need);
	need = kc_config_memory_bytes(cfg);
	if ((uint64_t)cfg->eal.memory_mb << 20 < need)
		return FAIL(ps, blame(ps, &ps->eal, EAL_MEMORY_MB, TOP_EAL),
			    "eal.memory_mb %u is less than the %llu MB the "
			    "mbufs, journal buffers, message-id indexes, "
			    "queue stores and the ledger take (expected at "
			    "least %llu)",
			    cfg->eal.memory_mb,
			    (unsigned long long)(need >> 20) + 1,
			    (unsigned long long)(need >> 20) + 1);
	/* A whole KCP datagram always fits, whatever the MTU: a REPLY is
	 * then the same on every port and in journal recovery. */
	if (mtu_max < 1500u)
		mtu_max = 1500u;
	if (cfg->mempool.data_room <
	    KC_CFG_MBUF_HEADROOM + mtu_max + 14u + 4u)
		return FAIL(ps, blame(ps, &ps->mempool, MP_DATA_ROOM,
				      TOP_MEMPOOL),
			    "mempool.data_room %u cannot hold a whole frame "
			    "of MTU %u, the larger of 1500 and the ports' "
			    "(expected at least "
			    "%u: headroom %u + MTU + Ethernet header and "
			    "VLAN tag)", cfg->mempool.data_room, mtu_max,
			    KC_CFG_MBUF_HEADROOM + mtu_max + 18u,
			    KC_CFG_MBUF_HEADROOM);
	return 0;
}

/* ---- entry points ----------------------------------------------------- */

static void defaults(struct kc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = KC_LOG_INFO;
	snprintf(cfg->eal.lcores, sizeof(cfg->eal.lcores), "0-1");
	cfg->eal.lcore_set = 0x3;
	cfg->eal.main_lcore = 0;
	cfg->eal.memory_mb = 256;
	cfg->eal.in_memory = true;
	snprintf(cfg->eal.file_prefix, sizeof(cfg->eal.file_prefix),
		 "kingcobra");
	cfg->pipeline.lcores.rx_count = 1;
	cfg->pipeline.lcores.rx[0] = 1;
	cfg->pipeline.lcores.worker_count = 1;
	cfg->pipeline.lcores.worker[0] = 1;
	cfg->pipeline.burst = 32;
	cfg->pipeline.ring_size = 4096;
	cfg->pipeline.idle = KC_IDLE_ADAPTIVE;
	cfg->pipeline.idle_sleep_max_us = 200;
	cfg->mempool.mbufs = 8191;
	cfg->mempool.cache = 256;
	cfg->mempool.data_room = 2176;
	cfg->kcp.udp_port = 60000;
	cfg->kcp.reflection_limit_source = 4u << 20;
	cfg->kcp.reflection_limit_client = 16u << 20;
	cfg->queues.max_queues = 32;
	cfg->queues.max_bytes_per_queue = 1u << 20;
	cfg->queues.max_messages_per_queue = 16384;
	cfg->queues.max_consumers_per_queue = 32;
	snprintf(cfg->journal.dir, sizeof(cfg->journal.dir),
		 "/var/lib/kingcobra/journal");
	cfg->journal.durability = KC_CFG_DURABILITY_BATCH;
	cfg->journal.reads = KC_CFG_READS_NONE;
	cfg->journal.segment_bytes = 64ull << 20;
	cfg->journal.buffer_bytes = 16ull << 20;
	cfg->journal.group_max = 1024;
	cfg->journal.group_wait_us = 100;
	cfg->journal.max_pending = 4096;
	cfg->journal.reserve_bytes = UINT64_MAX; /* segment_bytes / 8 */
	cfg->journal.snapshot_bytes = UINT64_MAX; /* segment_bytes / 4 */
	cfg->journal.retention_bytes = 0;
	cfg->journal.retention_age_s = 86400;
	cfg->idempotency.window_s = 60;
	cfg->idempotency.entries = 131072;
	cfg->idempotency.max_clock_skew_s = 30;
	cfg->ledger.enabled = true;
	cfg->ledger.mint_authority = 1;
	cfg->ledger.max_accounts = 4096;
	cfg->ledger.max_coins = 131072;
	cfg->ledger.reap_after_s = 3600;
	cfg->ledger.snapshot_every_ops = 1048576;
	cfg->ledger.trail_max_hops = 65536;
	cfg->services.enabled = false;
	cfg->services.max_services = 1024;
	cfg->services.max_types = 256;
	cfg->services.max_calls = 1024;
	cfg->services.max_payload = KC_CALL_PAYLOAD_MAX;
	cfg->services.max_deadline_ms = 60000;
	cfg->services.report_window_s = 300;
	cfg->services.settle_hold_s = 0;
	cfg->arbiter.quarantine_below_ppm = 500000;
	cfg->arbiter.min_calls = 20;
	cfg->arbiter.quarantine_s = 300;
	cfg->cluster.election_timeout_ms = 1000;
	cfg->cluster.heartbeat_ms = 100;
	cfg->cluster.snapshot_threshold = 1024;
	cfg->cluster.snapshot_trailing = 2048;
	cfg->cluster.install_snapshot_timeout_ms = 10000;
	cfg->analytics.enabled = true;
	cfg->analytics.max_vertices = 65536;
	cfg->analytics.max_edges = 262144;
	cfg->admin.enabled = true;
	snprintf(cfg->admin.listen, sizeof(cfg->admin.listen), "127.0.0.1");
	cfg->admin.port = 8080;
	cfg->admin.threads = 4;
}

static int syntax_error(struct parser *ps, const yaml_parser_t *yp)
{
	if (yp->context != NULL)
		return fail_at(ps, yp->problem_mark, "YAML syntax error: %s "
			       "(%s at line %zu)", yp->problem, yp->context,
			       yp->context_mark.line + 1);
	return fail_at(ps, yp->problem_mark, "YAML syntax error: %s",
		       yp->problem != NULL ? yp->problem : "unreadable input");
}

int kc_config_parse(const char *text, size_t len, const char *source,
		    const char *base_dir, struct kc_config *cfg, char *err,
		    size_t err_len)
{
	struct parser *ps;
	yaml_parser_t yp;
	yaml_document_t doc, more;
	int rc;

	defaults(cfg);
	snprintf(cfg->source, sizeof(cfg->source), "%s", source);
	snprintf(cfg->base_dir, sizeof(cfg->base_dir), "%s", base_dir);
	err[0] = '\0';
	/* The parser's node bookkeeping is a few KiB: heap, not stack. */
	ps = calloc(1, sizeof(*ps));
	if (ps == NULL) {
		snprintf(err, err_len, "%s: out of memory", source);
		return -ENOMEM;
	}
	ps->doc = &doc;
	ps->source = source;
	ps->base_dir = base_dir;
	ps->err = err;
	ps->err_len = err_len;
	ps->cfg = cfg;

	if (!yaml_parser_initialize(&yp)) {
		free(ps);
		snprintf(err, err_len, "%s: cannot initialise libyaml", source);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	if (!yaml_parser_load(&yp, &doc)) {
		rc = syntax_error(ps, &yp);
		yaml_parser_delete(&yp);
		free(ps);
		return rc;
	}
	ps->root = yaml_document_get_root_node(&doc);
	if (ps->root == NULL) {
		yaml_mark_t start = { 0, 0, 0 };

		rc = fail_at(ps, start, "the config is empty (expected a "
			     "mapping with at least 'ports' and 'kcp')");
		goto out;
	}
	if (!yaml_parser_load(&yp, &more)) {
		rc = syntax_error(ps, &yp);
		goto out;
	}
	if (yaml_document_get_root_node(&more) != NULL) {
		rc = FAIL(ps, yaml_document_get_root_node(&more),
			  "a second YAML document (expected one config per "
			  "file)");
		yaml_document_delete(&more);
		goto out;
	}
	yaml_document_delete(&more);
	if (ps->root->type != YAML_MAPPING_NODE) {
		char b[80];

		rc = FAIL(ps, ps->root, "the config is %s (expected a mapping "
			  "of sections: eal, ports, pipeline, ...)",
			  got(ps->root, b, sizeof(b)));
		goto out;
	}
	rc = walk_mapping(ps, ps->root, top_fields, "the config", cfg,
			  &ps->top);
	if (rc == 0)
		rc = check_lcores(ps);
	if (rc == 0)
		rc = check_journal(ps);
	if (rc == 0)
		rc = check_services(ps);
	if (rc == 0)
		rc = check_cluster(ps);
	if (rc == 0)
		rc = check_admin(ps);
	if (rc == 0)
		rc = check_resources(ps);
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&yp);
	free(ps);
	return rc;
}

int kc_config_load(const char *path, struct kc_config *cfg, char *err,
		   size_t err_len)
{
	char dir[KC_CFG_PATH_MAX], real[PATH_MAX];
	char *text, *slash;
	size_t len = 0;
	FILE *f;
	int rc;

	defaults(cfg);
	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		snprintf(err, err_len, "%s: cannot open: %s", path,
			 strerror(errno));
		return rc;
	}
	text = malloc(KC_CFG_FILE_MAX + 1);
	if (text == NULL) {
		fclose(f);
		snprintf(err, err_len, "%s: out of memory", path);
		return -ENOMEM;
	}
	len = fread(text, 1, KC_CFG_FILE_MAX + 1, f);
	if (ferror(f) || len > KC_CFG_FILE_MAX) {
		rc = ferror(f) ? -EIO : -EFBIG;
		snprintf(err, err_len, "%s: %s", path, ferror(f) ?
			 "read error" : "larger than 1 MiB: not a config");
		fclose(f);
		free(text);
		return rc;
	}
	fclose(f);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	/* Relative paths in the file stay right if the process changes its
	 * working directory later. */
	if (realpath(dir, real) != NULL && strlen(real) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%s", real);
	rc = kc_config_parse(text, len, path, dir, cfg, err, err_len);
	free(text);
	return rc;
}

int kc_config_load_default(struct kc_config *cfg, char *err, size_t err_len)
{
	return kc_config_parse(kc_default_config_yaml,
			       kc_default_config_yaml_len,
			       "<embedded default>", KC_DEFAULT_CONFIG_DIR, cfg,
			       err, err_len);
}

const char *kc_port_driver_name(enum kc_port_driver d)
{
	if ((unsigned int)d > KC_PORT_PCI)
		return "?";
	return port_driver_names[d];
}

void kc_ipv4_format(uint32_t addr, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
		 (addr >> 8) & 0xff, addr & 0xff);
}
