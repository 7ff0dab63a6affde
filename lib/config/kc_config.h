/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The appliance's configuration: one YAML file (docs/configuration.md).
 * Parsed with libyaml before anything touches a device; every error names
 * the file, line and column and what was expected.
 *
 * No DPDK dependency: the parser runs before rte_eal_init() and the EAL
 * argument vector is built from the result.
 */
#ifndef KC_CONFIG_H
#define KC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_lcores.h"
#include "kc_limits.h"

/* The config's own sizes; the limits other libraries share (ports,
 * lcores, workers, burst) are lib/limits/kc_limits.h's. */
#define KC_CFG_PATH_MAX 256u
#define KC_CFG_NAME_MAX 32u
#define KC_CFG_CLUSTER_NODES_MAX 7u
#define KC_CFG_EAL_EXTRA_MAX 16u
#define KC_CFG_ARG_MAX 256u
#define KC_CFG_ERR_MAX 512u
#define KC_CFG_IFNAME_MAX 15u	  /* Linux interface names (IFNAMSIZ - 1) */
/* DPDK's RTE_PKTMBUF_HEADROOM (checked where DPDK is included): an mbuf's
 * data room must hold it and a whole frame, as segmented frames are dropped. */
#define KC_CFG_MBUF_HEADROOM 128u
#define KC_CFG_FILE_MAX (1u << 20) /* a config file larger than this is refused */
/* Exception path of a port: its ring toward the kernel, deep enough for a
 * TCP window's burst while the exception thread waits for its CPU (a
 * clean-clone CI run once dropped with 1024); its ring from the kernel,
 * which the thread fills only as far as it has room; and the descriptors
 * of each of its TAP's two queues. */
#define KC_CFG_EXCEPTION_IN_RING 4096u
#define KC_CFG_EXCEPTION_OUT_RING 1024u
#define KC_CFG_EXCEPTION_TAP_DESC 512u

enum kc_port_driver {
	KC_PORT_TAP,	   /* net_tap: creates an interface on the host */
	KC_PORT_AF_PACKET, /* net_af_packet on an existing interface */
	KC_PORT_AF_XDP,	   /* net_af_xdp on an existing interface */
	KC_PORT_MEMIF,	   /* net_memif: shared memory with another process */
	KC_PORT_PCAP,	   /* net_pcap: read/write pcap files */
	KC_PORT_RING,	   /* net_ring: in-process rings (tests) */
	KC_PORT_NULL,	   /* net_null: sink and source (tests) */
	KC_PORT_PCI,	   /* a NIC bound to vfio-pci */
};

enum kc_memif_role { KC_MEMIF_SERVER, KC_MEMIF_CLIENT };

enum kc_idle_policy {
	KC_IDLE_SPIN,	  /* poll flat out (production) */
	KC_IDLE_ADAPTIVE, /* back off with rte_pause and short sleeps */
};

enum kc_journal_durability {
	KC_CFG_DURABILITY_NONE,	 /* REPLY may leave before its group is on disk */
	KC_CFG_DURABILITY_BATCH, /* REPLY leaves after its group is on disk */
};

enum kc_journal_reads {
	KC_CFG_READS_NONE, /* requests that change nothing are not journaled */
	KC_CFG_READS_ALL,  /* every request and its REPLY is journaled */
};

enum kc_log_level {
	KC_LOG_ERROR,
	KC_LOG_WARNING,
	KC_LOG_NOTICE,
	KC_LOG_INFO,
	KC_LOG_DEBUG,
};

struct kc_ipv4_cidr {
	uint32_t addr;	  /* host byte order */
	uint8_t prefix;	  /* netmask as prefix length, 0..32 */
};

struct kc_port_cfg {
	char name[KC_CFG_NAME_MAX];	 /* operator's name for the port */
	enum kc_port_driver driver;
	char iface[KC_CFG_NAME_MAX];	 /* tap/af_packet/af_xdp: host iface */
	char pci[KC_CFG_NAME_MAX];	 /* pci: DDDD:BB:DD.F */
	char socket_path[KC_CFG_PATH_MAX]; /* memif */
	enum kc_memif_role memif_role;
	uint32_t memif_id;
	char rx_pcap[KC_CFG_PATH_MAX];	 /* pcap */
	char tx_pcap[KC_CFG_PATH_MAX];
	char devargs[KC_CFG_ARG_MAX];	 /* extra driver arguments, appended */
	struct kc_ipv4_cidr ip;		 /* the appliance's address/netmask */
	bool has_mac;
	uint8_t mac[6];			 /* override of the port's MAC */
	bool has_host_ip;
	struct kc_ipv4_cidr host_ip;	 /* tap: address given to the host side */
	uint16_t rx_desc;
	uint16_t tx_desc;
	uint16_t mtu;
	uint32_t link_wait_ms;		 /* how long to wait for link up */
	/* Exception path: frames the appliance does not handle go to the
	 * kernel through this TAP interface and back ("" = off). */
	char exception_iface[KC_CFG_NAME_MAX];
	bool has_exception_host_ip;
	struct kc_ipv4_cidr exception_host_ip;
	bool flow_steering;		 /* try rte_flow rules for it */
};

/* Where the pipeline stages run. An lcore listed as both rx and worker runs
 * them run-to-completion (RX, execute, TX in one loop, no ring between). */
struct kc_lcore_map {
	uint32_t rx_count;
	uint32_t rx[KC_LCORES_MAX];
	uint32_t worker_count;
	uint32_t worker[KC_LCORES_MAX];
};

struct kc_config {
	/* Where it came from, for messages and relative paths. */
	char source[KC_CFG_PATH_MAX]; /* file path or "<embedded default>" */
	char base_dir[KC_CFG_PATH_MAX];

	bool production;
	enum kc_log_level log_level;

	struct {
		char lcores[KC_CFG_ARG_MAX];	/* EAL --lcores list */
		uint64_t lcore_set;		/* parsed: bit n = lcore n */
		uint32_t main_lcore;
		uint32_t memory_mb;
		bool hugepages;			/* false: --no-huge */
		bool in_memory;			/* --in-memory */
		char file_prefix[KC_CFG_NAME_MAX];
		uint32_t extra_count;
		char extra[KC_CFG_EAL_EXTRA_MAX][KC_CFG_ARG_MAX];
	} eal;

	uint32_t port_count;
	struct kc_port_cfg ports[KC_PORTS_MAX];

	struct {
		struct kc_lcore_map lcores;
		uint32_t burst;		 /* packets per burst, 1..256 */
		uint32_t ring_size;	 /* entries, power of two */
		enum kc_idle_policy idle;
		uint32_t idle_sleep_max_us; /* adaptive: longest sleep */
	} pipeline;

	struct {
		uint32_t mbufs;		/* per mempool */
		uint32_t cache;		/* per-lcore cache */
		uint32_t data_room;	/* bytes per mbuf, headroom included */
	} mempool;

	struct {
		uint16_t udp_port;
		char keys_file[KC_CFG_PATH_MAX]; /* resolved against base_dir */
		/* Read REPLY bytes beyond their requests', a second, per
		 * source address and per client; 0: no limit. */
		uint32_t reflection_limit_source;
		uint32_t reflection_limit_client;
	} kcp;

	struct {
		uint32_t max_queues;		/* per worker */
		uint32_t max_bytes_per_queue;
		uint32_t max_messages_per_queue;
		uint32_t max_consumers_per_queue;
	} queues;

	struct {
		char dir[KC_CFG_PATH_MAX];  /* shards in dir/shard-NN */
		enum kc_journal_durability durability;
		enum kc_journal_reads reads;
		uint64_t segment_bytes;	    /* preallocated per segment */
		uint64_t buffer_bytes;	    /* per worker, power of two */
		uint32_t group_max;	    /* records per group commit */
		uint32_t group_wait_us;	    /* longest wait to fill one */
		uint32_t max_pending;	    /* replies held per worker */
		uint64_t reserve_bytes;	    /* disk kept for non-PUBLISH */
		uint64_t snapshot_bytes;    /* journal bytes between cycles */
		uint64_t retention_bytes;   /* per shard; 0: no size rule */
		uint32_t retention_age_s;   /* 0: no age rule */
	} journal;

	struct {
		uint32_t window_s;	    /* replies kept for retries */
		uint32_t entries;	    /* per worker */
		uint32_t max_clock_skew_s;  /* message ids ahead of now */
	} idempotency;

	struct {
		bool enabled;		    /* the ledger runs on worker 0 */
		uint32_t mint_authority;    /* client id that may MINT */
		uint32_t max_accounts;
		uint32_t max_coins;	    /* LIVE + DEAD not yet reaped */
		uint32_t reap_after_s;	    /* DEAD coins stay this long */
		uint32_t snapshot_every_ops; /* mutations between snapshots */
		uint32_t trail_max_hops;    /* longest trail TRAIL walks */
	} ledger;

	struct {
		bool enabled;		    /* service calls (docs/services.md) */
		uint32_t max_services;	    /* (type, account) pairs */
		uint32_t max_types;
		uint32_t max_calls;	    /* in flight and kept */
		uint32_t max_payload;	    /* bytes of a call or response */
		uint32_t max_deadline_ms;
		uint32_t report_window_s;
		uint32_t settle_hold_s;	    /* 0: paid at once */
	} services;

	struct {
		uint32_t quarantine_below_ppm; /* score, in millionths */
		uint32_t min_calls;
		uint32_t quarantine_s;
	} arbiter;

	struct {
		bool enabled;		    /* the section is there */
		uint32_t node_id;	    /* this node's */
		uint32_t nb_nodes;
		struct kc_cluster_node_cfg {
			uint32_t id;	    /* 1.. */
			char address[KC_CFG_NAME_MAX]; /* "a.b.c.d:port" */
		} nodes[KC_CFG_CLUSTER_NODES_MAX]; /* every voter, this too */
		uint32_t election_timeout_ms;
		uint32_t heartbeat_ms;
		uint32_t snapshot_threshold; /* entries (batches) */
		uint32_t snapshot_trailing;
		uint32_t install_snapshot_timeout_ms;
		char dir[KC_CFG_PATH_MAX];  /* the Raft log; "": journal.dir/raft */
	} cluster;

	struct {
		bool enabled;		    /* the live graphs (docs/analytics.md);
					     * with the ledger and the journal */
		uint32_t max_vertices;	    /* the money-flow graph's caps */
		uint32_t max_edges;
	} analytics;

	struct {
		bool enabled;
		char listen[KC_CFG_NAME_MAX];	    /* IPv4 address */
		uint16_t port;
		char tls_certificate[KC_CFG_PATH_MAX]; /* PEM; "": plain HTTP */
		char token_file[KC_CFG_PATH_MAX];   /* "": actions refused */
		uint32_t threads;
	} admin;

	struct {
		uint32_t stats_interval_s; /* console counters; 0: off */
	} control;
};

/* config/default.yaml, compiled into the binary. */
extern const char kc_default_config_yaml[];
extern const size_t kc_default_config_yaml_len;


/*
 * Parse YAML text into cfg. source names it in messages ("FILE" or
 * "<embedded default>"); base_dir resolves relative paths in it. Returns 0,
 * or -EINVAL with one message "SOURCE:LINE:COLUMN: what is wrong (expected
 * what)" in err. cfg is fully initialised either way.
 */
int kc_config_parse(const char *text, size_t len, const char *source,
		    const char *base_dir, struct kc_config *cfg, char *err,
		    size_t err_len);
/* Read and parse a file; the file's directory becomes base_dir. */
int kc_config_load(const char *path, struct kc_config *cfg, char *err,
		   size_t err_len);
/* The embedded default; base_dir is KC_DEFAULT_CONFIG_DIR. */
int kc_config_load_default(struct kc_config *cfg, char *err, size_t err_len);

const char *kc_port_driver_name(enum kc_port_driver d);

/*
 * Port queues this lcore map needs: one RX queue per RX lcore, one TX queue
 * per distinct data-path lcore (each sends on its own).
 */
void kc_config_queue_needs(const struct kc_config *cfg, uint16_t *nb_rxq,
			   uint16_t *nb_txq);

/*
 * Queues a port of this driver gets when the lcore map needs nb_rxq RX and
 * nb_txq TX queues. TAP, AF_PACKET and AF_XDP make queues in pairs (a TAP
 * queue pair is one file descriptor, an AF_PACKET or AF_XDP pair one socket)
 * and the kernel spreads received frames over every pair, so they get
 * max(nb_rxq, nb_txq) of each and the RX lcores poll the extra RX queues
 * too; any other driver gets exactly what was asked.
 */
void kc_port_queues(enum kc_port_driver d, uint16_t nb_rxq, uint16_t nb_txq,
		    uint16_t *rxq, uint16_t *txq);

/*
 * What the data path takes from the EAL's memory (eal.memory_mb): the mbuf
 * pool, and per worker its journal buffer, message-id index, queue store,
 * held replies and ring, plus a margin for the EAL's own tables. An
 * estimate a little above what the allocations take.
 */
uint64_t kc_config_memory_bytes(const struct kc_config *cfg);
/* The most bytes one queue's snapshot takes in the journal. */
uint64_t kc_config_snapshot_bytes_max(const struct kc_config *cfg);
/* The most bytes the ledger's snapshot takes (kc_ledger_snapshot_max). */
uint64_t kc_config_ledger_snapshot_bytes_max(const struct kc_config *cfg);
/* The most bytes the services' snapshot takes (0: services off). */
uint64_t kc_config_services_snapshot_bytes_max(const struct kc_config *cfg);

/* Format an address as dotted quad into out (16 bytes). */
void kc_ipv4_format(uint32_t addr, char out[16]);

#endif /* KC_CONFIG_H */
