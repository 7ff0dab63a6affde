/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The YAML config parser: the embedded default, defaults of omitted keys,
 * path resolution, the EAL lcore syntax, and one test per class of error,
 * each asserting the line and column the message names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kc_config.h"

static struct kc_config cfg;
static char err[KC_CFG_ERR_MAX];

/* A minimal valid config: the two sections without defaults. */
#define MIN_PORTS                 \
	"ports:\n"                \
	"  - name: kc0\n"         \
	"    driver: tap\n"       \
	"    ip: 10.77.0.2/24\n"
#define MIN_KCP                   \
	"kcp:\n"                  \
	"  keys_file: dev.keys\n"
#define MINIMAL MIN_PORTS MIN_KCP

static int parse(const char *text)
{
	return kc_config_parse(text, strlen(text), "t.yaml", "/etc/kc", &cfg,
			       err, sizeof(err));
}

/* The parse fails, and the message starts with t.yaml:LINE:COL: and
 * contains what. */
static void expect_error(const char *text, unsigned int line,
			 unsigned int col, const char *what)
{
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "t.yaml:%u:%u: ", line, col);
	if (parse(text) == 0)
		fail_msg("accepted:\n%s", text);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("expected '%s...', got '%s'", prefix, err);
	if (strstr(err, what) == NULL)
		fail_msg("expected '%s' in '%s'", what, err);
}

static void test_embedded_default(void **state)
{
	char ip[16];

	(void)state;
	assert_int_equal(kc_config_load_default(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.source, "<embedded default>");
	assert_false(cfg.production);
	assert_int_equal(cfg.port_count, 1);
	assert_int_equal(cfg.ports[0].driver, KC_PORT_TAP);
	assert_string_equal(cfg.ports[0].iface, "kc0");
	kc_ipv4_format(cfg.ports[0].ip.addr, ip);
	assert_string_equal(ip, "10.77.0.2");
	assert_int_equal(cfg.ports[0].ip.prefix, 24);
	assert_true(cfg.ports[0].has_host_ip);
	kc_ipv4_format(cfg.ports[0].host_ip.addr, ip);
	assert_string_equal(ip, "10.77.0.1");
	assert_false(cfg.ports[0].has_mac);
	assert_int_equal(cfg.pipeline.idle, KC_IDLE_ADAPTIVE);
	assert_int_equal(cfg.pipeline.burst, 32);
	assert_int_equal(cfg.kcp.udp_port, 60000);
	assert_string_equal(cfg.kcp.keys_file,
			    KC_SOURCE_DIR "/config/dev.keys");
	assert_int_equal(access(cfg.kcp.keys_file, R_OK), 0);
}

/* A file that leaves out every key with a default gets the values of
 * config/default.yaml: the two never drift apart. */
static void test_defaults_match_default_yaml(void **state)
{
	static struct kc_config def;
	static const char text[] =
		"ports:\n"
		"  - name: kc0\n"
		"    driver: tap\n"
		"    host_ip: 10.77.0.1/24\n"
		"    ip: 10.77.0.2/24\n"
		"kcp:\n"
		"  keys_file: dev.keys\n";

	(void)state;
	assert_int_equal(kc_config_load_default(&def, err, sizeof(err)), 0);
	assert_int_equal(kc_config_parse(text, strlen(text),
					 "<embedded default>",
					 KC_SOURCE_DIR "/config", &cfg, err,
					 sizeof(err)), 0);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
}

static void test_minimal_and_paths(void **state)
{
	(void)state;
	assert_int_equal(parse(MINIMAL), 0);
	assert_string_equal(cfg.kcp.keys_file, "/etc/kc/dev.keys");
	assert_string_equal(cfg.ports[0].iface, "kc0"); /* the port's name */
	assert_int_equal(parse(MIN_PORTS "kcp:\n  keys_file: /k/x.keys\n"), 0);
	assert_string_equal(cfg.kcp.keys_file, "/k/x.keys");
	/* A comma in the config's directory would split driver arguments. */
	assert_int_not_equal(kc_config_parse(MINIMAL, strlen(MINIMAL), "t.yaml",
					     "/etc/a,b", &cfg, err,
					     sizeof(err)), 0);
	assert_non_null(strstr(err, "t.yaml:6:14: 'keys_file' resolves to "
				    "/etc/a,b/dev.keys, which holds a comma"));
}

static void test_full_port_and_pipeline(void **state)
{
	static const char text[] =
		"production: true\n"
		"log_level: debug\n"
		"eal:\n"
		"  lcores: \"0@0,1@1,(2-3)@(0-1)\"\n"
		"  in_memory: false\n"
		"  memory_mb: 512\n"
		"  extra_args: [--huge-unlink, \"--legacy-mem\"]\n"
		"ports:\n"
		"  - name: nic\n"
		"    driver: pci\n"
		"    pci: 3b:00.1\n"
		"    ip: 192.168.10.5/24\n"
		"    mac: \"02:4B:43:00:00:0a\"\n"
		"  - name: m\n"
		"    driver: memif\n"
		"    socket: run/m.sock\n"
		"    role: client\n"
		"    id: 7\n"
		"    ip: 10.1.0.2/16\n"
		"pipeline:\n"
		"  rx_lcores: [1]\n"
		"  worker_lcores: [2, 3]\n"
		"  idle: spin\n"
		"  ring_size: 1024\n"
		"mempool:\n"
		"  mbufs: 32767\n"
		"journal:\n"
		"  dir: j\n"
		"  durability: none\n"
		"  reads: all\n"
		"  segment_bytes: 4294967296\n"
		"  buffer_bytes: 4194304\n"
		"  group_wait_us: 0\n"
		"ledger:\n"
		"  mint_authority: 9\n"
		"  max_coins: 32768\n"
		MIN_KCP;

	(void)state;
	if (parse(text) != 0)
		fail_msg("%s", err);
	assert_true(cfg.production);
	assert_int_equal(cfg.log_level, KC_LOG_DEBUG);
	assert_int_equal(cfg.eal.lcore_set, 0xf);
	assert_false(cfg.eal.in_memory);
	assert_int_equal(cfg.eal.extra_count, 2);
	assert_string_equal(cfg.eal.extra[1], "--legacy-mem");
	assert_string_equal(cfg.ports[0].pci, "0000:3b:00.1");
	assert_true(cfg.ports[0].has_mac);
	assert_int_equal(cfg.ports[0].mac[1], 0x4b);
	assert_int_equal(cfg.ports[0].mac[5], 0x0a);
	assert_int_equal(cfg.ports[1].memif_role, KC_MEMIF_CLIENT);
	assert_int_equal(cfg.ports[1].memif_id, 7);
	assert_string_equal(cfg.ports[1].socket_path, "/etc/kc/run/m.sock");
	assert_int_equal(cfg.pipeline.lcores.worker_count, 2);
	assert_int_equal(cfg.pipeline.lcores.worker[1], 3);
	assert_int_equal(cfg.pipeline.idle, KC_IDLE_SPIN);
	assert_int_equal(cfg.pipeline.ring_size, 1024);
	assert_string_equal(cfg.journal.dir, "/etc/kc/j");
	assert_int_equal(cfg.journal.durability, KC_CFG_DURABILITY_NONE);
	assert_int_equal(cfg.journal.reads, KC_CFG_READS_ALL);
	assert_int_equal(cfg.ledger.mint_authority, 9);
	assert_int_equal(cfg.ledger.max_coins, 32768);
	assert_true(cfg.ledger.enabled);
	assert_int_equal(cfg.journal.segment_bytes, 1ull << 32);
	assert_int_equal(cfg.journal.buffer_bytes, 1u << 22);
	assert_int_equal(cfg.journal.group_wait_us, 0);
	assert_int_equal(cfg.journal.group_max, 1024);
	assert_false(cfg.services.enabled);
	assert_int_equal(cfg.arbiter.quarantine_below_ppm, 500000);
}

static void test_services_sections(void **state)
{
	static const char text[] = MINIMAL
		"services:\n"
		"  enabled: true\n"
		"  max_calls: 64\n"
		"  settle_hold_s: 30\n"
		"arbiter:\n"
		"  quarantine_below: 0.25\n"
		"  min_calls: 7\n"
		"  quarantine_s: 9\n";

	(void)state;
	if (parse(text) != 0)
		fail_msg("%s", err);
	assert_true(cfg.services.enabled);
	assert_int_equal(cfg.services.max_calls, 64);
	assert_int_equal(cfg.services.settle_hold_s, 30);
	assert_int_equal(cfg.services.max_payload, KC_CALL_PAYLOAD_MAX);
	assert_int_equal(cfg.arbiter.quarantine_below_ppm, 250000);
	assert_int_equal(cfg.arbiter.min_calls, 7);
	assert_int_equal(cfg.arbiter.quarantine_s, 9);
}

static void test_queue_needs(void **state)
{
	uint16_t rxq, txq;

	(void)state;
	assert_int_equal(parse(MINIMAL), 0);
	kc_config_queue_needs(&cfg, &rxq, &txq);
	assert_int_equal(rxq, 1);
	assert_int_equal(txq, 1);
	if (parse(MINIMAL "eal: {lcores: \"0-4\", memory_mb: 512}\n"
		  "pipeline: {rx_lcores: [1, 2], "
		  "worker_lcores: [3, 4]}\nmempool: {mbufs: 32767}\n") != 0)
		fail_msg("%s", err);
	kc_config_queue_needs(&cfg, &rxq, &txq);
	assert_int_equal(rxq, 2);
	assert_int_equal(txq, 4);
}

static void test_eal_lcores_syntax(void **state)
{
	static const struct {
		const char *lcores;
		const char *msg;
	} bad[] = {
		{ "0-1,", "bad lcore list for 'lcores'" },
		{ "(0-1", "bad lcore list" },
		{ "3-1", "bad lcore list" },
		{ "0-64", "lcore id above 63" },
		{ "0@1024", "'lcores' names a CPU id above 1023" },
		{ "0@(1,3-2)", "bad lcore list" },
		{ "0@(1", "bad lcore list" },
		{ "0@", "bad lcore list" },
	};

	(void)state;
	assert_int_equal(parse(MINIMAL "eal:\n  lcores: 0,2,4-5\n"
			       "pipeline:\n  rx_lcores: [2]\n"
			       "  worker_lcores: [2]\n"), 0);
	assert_int_equal(cfg.eal.lcore_set, 0x35);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		int n = snprintf(text, sizeof(text),
				 MINIMAL "eal:\n  lcores: \"%s\"\n",
				 bad[i].lcores);

		assert_true(n > 0 && (size_t)n < sizeof(text));
		expect_error(text, 8, 11, bad[i].msg);
	}
}

/* Which CPUs each lcore of an --lcores list runs on, as the EAL places
 * them (the preflight compares them with the CPUs the kernel has). */
static void test_lcores_cpus(void **state)
{
	struct kc_cpuset cpus[KC_LCORES_MAX];
	struct kc_cpuset want;
	const char *s;

	(void)state;
	assert_int_equal(kc_lcores_parse("0,2-3,(4-5),6@9,(7,8)@(10-11,1023),"
					 "9-10@12-13", cpus), 0);
	for (uint32_t l = 0; l < KC_LCORES_MAX; l++) {
		memset(&want, 0, sizeof(want));
		switch (l) {
		case 0: case 2: case 3:
			kc_cpuset_add(&want, l); /* lcore N on CPU N */
			break;
		case 4: case 5: /* a group floats over its ids */
			kc_cpuset_add(&want, 4);
			kc_cpuset_add(&want, 5);
			break;
		case 6:
			kc_cpuset_add(&want, 9);
			break;
		case 7: case 8:
			kc_cpuset_add(&want, 10);
			kc_cpuset_add(&want, 11);
			kc_cpuset_add(&want, 1023);
			break;
		case 9: case 10:
			kc_cpuset_add(&want, 12);
			kc_cpuset_add(&want, 13);
			break;
		default:
			break; /* not named: empty */
		}
		assert_memory_equal(&cpus[l], &want, sizeof(want));
	}
	assert_true(kc_cpuset_empty(&cpus[1]));
	assert_int_equal(kc_lcores_parse("64", cpus), -ERANGE);
	assert_int_equal(kc_lcores_parse("0@1024", cpus), -EOVERFLOW);
	assert_int_equal(kc_lcores_parse("0@(5,1024)", cpus), -EOVERFLOW);
	assert_int_equal(kc_lcores_parse("(0-1", cpus), -EINVAL);
	assert_int_equal(kc_lcores_parse("0,,1", cpus), -EINVAL);
	assert_int_equal(kc_lcores_parse("", cpus), -EINVAL);

	/* A sysfs CPU list: parsed up to what cannot continue it. */
	memset(&want, 0, sizeof(want));
	s = "0-2,7\n";
	assert_int_equal(kc_cpulist_parse(&s, &want), 0);
	assert_string_equal(s, "\n");
	assert_true(kc_cpuset_has(&want, 2) && kc_cpuset_has(&want, 7));
	assert_false(kc_cpuset_has(&want, 3));
	s = "5-3";
	assert_int_equal(kc_cpulist_parse(&s, &want), -EINVAL);
	s = "1024";
	assert_int_equal(kc_cpulist_parse(&s, &want), -ERANGE);
}

static void test_error_unknown_key(void **state)
{
	(void)state;
	expect_error(MINIMAL "pipeline:\n  burts: 32\n", 8, 3,
		     "unknown key 'burts' in pipeline (expected one of: "
		     "rx_lcores, worker_lcores, burst");
	expect_error("ports:\n  - name: a\n    drvier: tap\n", 3, 5,
		     "unknown key 'drvier' in ports[0]");
}

static void test_error_duplicate_key(void **state)
{
	(void)state;
	expect_error(MINIMAL "control:\n  stats_interval_s: 1\n"
		     "  stats_interval_s: 2\n", 9, 3,
		     "duplicate key 'stats_interval_s' in control (first at "
		     "line 8)");
}

static void test_error_wrong_type(void **state)
{
	(void)state;
	expect_error(MINIMAL "pipeline:\n  burst: [32]\n", 8, 10,
		     "wrong type for 'burst': got a list");
	expect_error(MINIMAL "pipeline:\n  burst: \"32\"\n", 8, 10,
		     "wrong type for 'burst': got the quoted string");
	expect_error(MINIMAL "pipeline:\n  burst: lots\n", 8, 10,
		     "wrong type for 'burst': got 'lots' (expected an "
		     "integer");
	expect_error(MINIMAL "production: yes\n", 7, 13,
		     "expected true or false");
	expect_error(MINIMAL "eal: 3\n", 7, 6,
		     "wrong type for 'eal': got '3' (expected a mapping");
	expect_error("ports: {name: a}\n" MIN_KCP, 1, 8,
		     "wrong type for 'ports': got a mapping");
	expect_error(MINIMAL "pipeline:\n  rx_lcores: 1\n", 8, 14,
		     "wrong type for 'rx_lcores': got '1'");
	expect_error("- a\n- b\n", 1, 1, "the config is a list");
}

static void test_error_out_of_range(void **state)
{
	(void)state;
	expect_error(MINIMAL "pipeline:\n  burst: 0\n", 8, 10,
		     "'burst' out of range: 0 (expected packets per burst, "
		     "1..256)");
	expect_error(MINIMAL "pipeline:\n  burst: 99999999999999999999999\n",
		     8, 10, "'burst' out of range");
	expect_error(MIN_PORTS "kcp:\n  keys_file: k\n  udp_port: 70000\n", 7,
		     13,
		     "'udp_port' out of range: 70000");
	expect_error(MINIMAL "pipeline:\n  ring_size: 1000\n", 8, 14,
		     "'ring_size' is not a power of two: 1000");
	expect_error(MINIMAL "journal:\n  buffer_bytes: 3000000\n", 8, 17,
		     "'buffer_bytes' is not a power of two: 3000000");
	expect_error(MINIMAL "journal:\n  segment_bytes: 4294967297\n", 8,
		     18, "'segment_bytes' out of range: 4294967297");
	expect_error(MINIMAL "journal:\n  durability: sync\n", 8, 15,
		     "(expected one of: none | batch)");
	expect_error(MINIMAL "journal:\n  reads: some\n", 8, 10,
		     "(expected one of: none | all)");
	expect_error(MINIMAL "journal:\n  buffer_bytes: 1048576\n", 8, 17,
		     "journal.buffer_bytes 1048576 cannot take a snapshot of "
		     "one queue");
	/* The ledger's snapshot too goes into the journal buffer at once:
	 * blamed on the coins when they are set, else on the buffer. */
	expect_error(MINIMAL "journal:\n  buffer_bytes: 8388608\nledger:\n"
		     "  max_coins: 1000000\n", 10, 14, "ledger.max_coins "
		     "1000000 and max_accounts 4096 make a ledger snapshot of "
		     "up to 44098344 bytes");
	expect_error(MINIMAL "journal:\n  buffer_bytes: 4194304\n", 8, 17,
		     "more than half of journal.buffer_bytes 4194304");
	/* Service calls: their sections, a fraction, and what they need. */
	expect_error(MINIMAL "arbiter:\n  quarantine_below: 1.5\n", 8, 21,
		     "'quarantine_below' out of range: 1.5");
	expect_error(MINIMAL "arbiter:\n  quarantine_below: 0.1234567\n", 8,
		     21, "wrong type for 'quarantine_below'");
	expect_error(MINIMAL "arbiter:\n  quarantine_below: .5\n", 8, 21,
		     "wrong type for 'quarantine_below'");
	expect_error(MINIMAL "services:\n  max_payload: 1025\n", 8, 16,
		     "'max_payload' out of range: 1025");
	expect_error(MINIMAL "services:\n  enabled: true\n  max_calls: 1048576\n",
		     9, 14, "the ledger's snapshot (up to");
	expect_error(MINIMAL "services:\n  enabled: true\nledger:\n"
		     "  enabled: false\n", 8, 12, "services.enabled needs the "
		     "ledger");
	/* The snapshot fits the buffer but not a segment: it could never
	 * be appended (the journal's room is at most the current segment's
	 * rest and the next one). */
	expect_error(MINIMAL "journal:\n  buffer_bytes: 268435456\n"
		     "services:\n  enabled: true\n  max_calls: 262144\n"
		     "  max_payload: 64\n", 11,
		     14, "and the services' written with it (up to");
	expect_error(MINIMAL "journal:\n  buffer_bytes: 268435456\n"
		     "services:\n  enabled: true\n  max_calls: 262144\n"
		     "  max_payload: 64\n", 11,
		     14, "must fit one journal segment: segment_bytes 67108864");
	expect_error(MINIMAL "journal:\n  buffer_bytes: 536870912\nledger:\n"
		     "  max_coins: 4000000\n", 10, 14, "expected fewer "
		     "ledger.max_coins, or journal.segment_bytes of at least");
	assert_int_equal(parse(MINIMAL "eal:\n  memory_mb: 1024\n"
			       "journal:\n  buffer_bytes: 268435456\n"
			       "  segment_bytes: 134217728\nservices:\n"
			       "  enabled: true\n  max_calls: 262144\n"
			       "  max_payload: 64\n"), 0);
	expect_error(MINIMAL "ledger:\n  mint_authority: 0\n", 8, 19,
		     "'mint_authority' out of range: 0");
	expect_error(MINIMAL "ledger:\n  max_coins: 8\n", 8, 14,
		     "'max_coins' out of range: 8");
	expect_error(MINIMAL "pipeline:\n  idle: sometimes\n", 8, 9,
		     "bad value for 'idle': 'sometimes' (expected one of: "
		     "spin | adaptive)");
	expect_error("ports:\n  - name: a\n    driver: tep\n", 3, 13,
		     "expected one of: tap | af_packet | af_xdp | memif | "
		     "pcap | ring | null | pci");
	expect_error("ports:\n  - name: way-too-long-for-an-iface\n"
		     "    driver: af_packet\n"
		     "    iface: way-too-long-for-an-iface\n", 4, 12,
		     "'iface' is too long: 25 characters");
	expect_error("ports:\n  - name: \"\"\n", 2, 11, "'name' is empty");
	expect_error(MIN_PORTS "kcp: {keys_file: k}\n"
		     "eal: {extra_args: [\"\"]}\n", 6, 20,
		     "'extra_args' is empty");
	expect_error("ports:\n  - name: a b\n", 2, 11,
		     "bad character in 'name' at position 2");
}

static void test_error_missing_key(void **state)
{
	(void)state;
	expect_error(MIN_KCP, 1, 1, "missing key 'ports' in the config");
	expect_error(MIN_PORTS, 1, 1, "missing key 'kcp' in the config");
	expect_error(MIN_PORTS "kcp:\n  udp_port: 1\n", 6, 3,
		     "missing key 'keys_file' in kcp");
	expect_error("ports:\n  - name: a\n    driver: tap\n" MIN_KCP, 2, 5,
		     "missing key 'ip' in ports[0]");
	expect_error("ports:\n  - name: a\n    driver: af_packet\n"
		     "    ip: 10.0.0.2/24\n" MIN_KCP, 2, 5,
		     "missing key 'iface' in port 'a'");
	expect_error("ports:\n  - name: a\n    driver: pci\n"
		     "    ip: 10.0.0.2/24\n" MIN_KCP, 2, 5,
		     "missing key 'pci' in port 'a'");
	expect_error("ports: []\n" MIN_KCP, 1, 8, "'ports' is empty");
	expect_error("", 1, 1, "the config is empty");
}

static void test_error_bad_ip(void **state)
{
	(void)state;
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    ip: 10.77.0.2\n", 4, 9,
		     "bad IPv4 address/prefix for 'ip': '10.77.0.2'");
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    ip: 10.77.0.256/24\n", 4, 9,
		     "bad IPv4 address for 'ip'");
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    ip: 10.77.0.2/33\n", 4, 9,
		     "prefix length of 'ip' out of range: 33");
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    ip: 10.77.0.0/24\n", 4, 9,
		     "network or broadcast address");
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    ip: 224.0.0.1/24\n", 4, 9,
		     "not a usable host address");
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    ip: 10.77.0.2/24\n    host_ip: 10.78.0.1/24\n"
		     MIN_KCP, 5, 14, "host_ip is not in the subnet of ip");
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    ip: 10.77.0.2/24\n    host_ip: 10.77.0.2/24\n"
		     MIN_KCP, 5, 14, "host_ip is the appliance's own address");
}

static void test_error_bad_mac_and_pci(void **state)
{
	(void)state;
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    mac: 02:4b:43:00:00\n", 4, 10, "bad MAC for 'mac'");
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    mac: \"01:00:5e:00:00:01\"\n", 4, 10,
		     "not a unicast MAC");
	expect_error("ports:\n  - name: a\n    driver: pci\n"
		     "    pci: 0000:3b:00.8\n", 4, 10,
		     "bad PCI address for 'pci'");
	expect_error("ports:\n  - name: a\n    driver: pci\n"
		     "    pci: eth0\n", 4, 10, "bad PCI address");
}

static void test_error_driver_key(void **state)
{
	(void)state;
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    pci: 0000:3b:00.0\n    ip: 10.0.0.2/24\n" MIN_KCP, 4,
		     5, "key 'pci' does not apply to driver tap (it is for: "
		     "pci)");
	expect_error("ports:\n  - name: a\n    driver: af_packet\n"
		     "    iface: veth0\n    host_ip: 10.0.0.1/24\n"
		     "    ip: 10.0.0.2/24\n" MIN_KCP, 5, 5,
		     "key 'host_ip' does not apply to driver af_packet");
}

/* The exception path's rings and TAP queues need more than the default. */
#define EXC_MBUFS "mempool:\n  mbufs: 32767\n"

static void test_exception_path(void **state)
{
	char ip[16];

	(void)state;
	assert_int_equal(parse("ports:\n  - name: a\n    driver: pci\n"
			       "    pci: 3b:00.0\n    ip: 10.0.0.2/24\n"
			       "    exception_iface: kce0\n"
			       "    exception_host_ip: 10.0.0.2/24\n"
			       MIN_KCP EXC_MBUFS), 0);
	assert_string_equal(cfg.ports[0].exception_iface, "kce0");
	assert_true(cfg.ports[0].has_exception_host_ip);
	kc_ipv4_format(cfg.ports[0].exception_host_ip.addr, ip);
	assert_string_equal(ip, "10.0.0.2");
	assert_true(cfg.ports[0].flow_steering);
	assert_int_equal(parse(MINIMAL), 0);
	assert_string_equal(cfg.ports[0].exception_iface, "");
	assert_int_equal(parse("ports:\n  - name: a\n    driver: af_packet\n"
			       "    iface: veth0\n    ip: 10.0.0.2/24\n"
			       "    exception_iface: kce0\n"
			       "    flow_steering: false\n" MIN_KCP EXC_MBUFS),
			 0);
	assert_false(cfg.ports[0].flow_steering);

	/* The mempool rule counts the exception path's mbufs. */
	assert_int_equal(parse(MINIMAL), 0);
	assert_int_not_equal(parse(MIN_PORTS "    exception_iface: kce0\n"
				   MIN_KCP), 0);
	assert_non_null(strstr(err, "the exception paths"));
	expect_error("ports:\n  - name: a\n    driver: af_packet\n"
		     "    iface: veth0\n    ip: 10.0.0.2/24\n"
		     "    exception_host_ip: 10.0.0.2/24\n" MIN_KCP, 6, 5,
		     "key 'exception_host_ip' needs 'exception_iface'");
	expect_error("ports:\n  - name: a\n    driver: af_packet\n"
		     "    iface: veth0\n    ip: 10.0.0.2/24\n"
		     "    flow_steering: true\n" MIN_KCP, 6, 5,
		     "key 'flow_steering' needs 'exception_iface'");
	expect_error("ports:\n  - name: a\n    driver: memif\n"
		     "    socket: /run/m.sock\n    ip: 10.0.0.2/24\n"
		     "    exception_iface: kce0\n" MIN_KCP, 6, 5,
		     "key 'exception_iface' does not apply to driver memif");
	expect_error("ports:\n  - name: a\n    driver: tap\n"
		     "    iface: kc0\n    ip: 10.0.0.2/24\n"
		     "    exception_iface: kc0\n" MIN_KCP, 6, 22,
		     "is the port's own interface");
	expect_error(MIN_PORTS "    exception_iface: kce0\n"
		     "  - name: kc1\n    driver: tap\n    ip: 10.9.0.2/24\n"
		     "    exception_iface: kce0\n" MIN_KCP, 9, 22,
		     "interface 'kce0' is also port 'kc0''s");
}

static void test_error_duplicate_port(void **state)
{
	(void)state;
	expect_error(MIN_PORTS "  - name: kc0\n    driver: null\n"
		     "    ip: 10.9.0.2/24\n" MIN_KCP, 5, 11,
		     "port name 'kc0' is used twice");
	expect_error(MIN_PORTS "  - name: kc1\n    driver: null\n"
		     "    ip: 10.77.0.2/24\n" MIN_KCP, 7, 9,
		     "ip is also port 'kc0''s");
}

static void test_error_lcores(void **state)
{
	(void)state;
	expect_error(MINIMAL "pipeline:\n  rx_lcores: [1]\n"
		     "  worker_lcores: [5]\n", 9, 19,
		     "lcore 5 of worker_lcores is not in eal.lcores '0-1'");
	expect_error(MINIMAL "pipeline:\n  rx_lcores: [1, 0]\n", 8, 18,
		     "lcore 0 of rx_lcores is the main lcore");
	expect_error(MINIMAL "eal:\n  main_lcore: 7\n", 8, 15,
		     "main_lcore 7 is not in eal.lcores '0-1'");
	expect_error(MINIMAL "eal:\n  lcores: 0-3\n"
		     "pipeline:\n  rx_lcores: [1, 2]\n  worker_lcores: [1]\n",
		     11, 18, "an lcore is in both rx_lcores and worker_lcores");
	expect_error(MINIMAL "pipeline:\n  rx_lcores: [1, 1]\n", 8, 18,
		     "lcore 1 is listed twice in 'rx_lcores'");
	expect_error(MINIMAL "pipeline:\n  worker_lcores: []\n", 8, 18,
		     "'worker_lcores' is empty");
}

static void test_error_resources(void **state)
{
	(void)state;
	expect_error(MINIMAL "mempool:\n  mbufs: 2000\n", 8, 10,
		     "mempool.mbufs 2000 is fewer than the");
	expect_error(MINIMAL "eal:\n  memory_mb: 64\n", 8, 14,
		     "eal.memory_mb 64 is less than the");
	expect_error(MINIMAL "mempool:\n  data_room: 1600\n", 8, 14,
		     "mempool.data_room 1600 cannot hold a whole frame");
	/* TAP gets as many RX queues as TX queues: they count too. */
	expect_error(MINIMAL "eal: {lcores: \"0-4\"}\n"
		     "pipeline: {rx_lcores: [1], worker_lcores: [2, 3, 4], "
		     "ring_size: 512}\n", 1, 1,
		     "mempool.mbufs 8191 is fewer than the 23616");
}

static void test_error_yaml_syntax(void **state)
{
	(void)state;
	expect_error("ports: [\n", 2, 1, "YAML syntax error");
	expect_error("a: b\n  c: d\n", 2, 4, "YAML syntax error");
	expect_error(MINIMAL "---\nx: 1\n", 8, 1,
		     "a second YAML document");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/kc-test-config-XXXXXX";
	char expect[128];
	int fd;
	FILE *f;

	(void)state;
	assert_int_not_equal(kc_config_load("/nonexistent/kc.yaml", &cfg, err,
					    sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/kc.yaml: cannot open"));

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(MIN_PORTS "kcp:\n  keys_file: k.keys\n  port: 1\n", f);
	fclose(f);
	assert_int_not_equal(kc_config_load(path, &cfg, err, sizeof(err)), 0);
	snprintf(expect, sizeof(expect), "%s:7:3: unknown key 'port' in kcp",
		 path);
	assert_non_null(strstr(err, expect));

	f = fopen(path, "w");
	fputs(MINIMAL, f);
	fclose(f);
	assert_int_equal(kc_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.kcp.keys_file, "/tmp/dev.keys");
	assert_string_equal(cfg.source, path);
	unlink(path);
}

/* Off the loopback, production wants the admin server on TLS: the action
 * token would otherwise cross the network in clear (issue 23). */
static void test_admin_listen_production(void **state)
{
	(void)state;
	expect_error(MINIMAL "production: true\nadmin:\n  listen: 0.0.0.0\n",
		     9, 11, "admin.listen 0.0.0.0 without "
		     "admin.tls_certificate is refused with production: true");
	/* The same on the loopback, or without production: taken. */
	assert_int_equal(parse(MINIMAL "production: true\nadmin:\n"
			       "  listen: 127.0.0.2\n"), 0);
	assert_int_equal(parse(MINIMAL "admin:\n  listen: 0.0.0.0\n"), 0);
	assert_int_equal(parse(MINIMAL "production: true\nadmin:\n"
			       "  enabled: false\n  listen: 0.0.0.0\n"), 0);
}

/* A full queue's snapshot is appended whole: it must fit one segment. */
static void test_queue_snapshot_fits_a_segment(void **state)
{
#define NO_LEDGER "ledger:\n  enabled: false\n"
	(void)state;
	expect_error(MINIMAL NO_LEDGER "queues:\n  max_bytes_per_queue: "
		     "2097152\njournal:\n  segment_bytes: 1048576\n"
		     "  buffer_bytes: 8388608\n", 9, 1, "a full queue's "
		     "snapshot (up to 2321115 bytes in the journal with "
		     "queues.max_bytes_per_queue 2097152");
	/* No queues section: blamed on the segments. */
	expect_error(MINIMAL NO_LEDGER "journal:\n  segment_bytes: 1048576\n",
		     10, 18, "journal.segment_bytes of at least");
	assert_int_equal(parse(MINIMAL NO_LEDGER "queues:\n  "
			       "max_bytes_per_queue: 524288\njournal:\n"
			       "  segment_bytes: 1048576\n"), 0);
#undef NO_LEDGER
}

/* The cluster section (docs/cluster.md): its nodes, each error at its
 * line and column. */
static void test_cluster_section(void **state)
{
#define NODES3                                \
	"  nodes:\n"                          \
	"    - id: 1\n"                       \
	"      address: 10.1.0.1:7000\n"      \
	"    - id: 2\n"                       \
	"      address: 10.1.0.2:7000\n"      \
	"    - id: 3\n"                       \
	"      address: 10.1.0.3:7000\n"
	(void)state;
	assert_int_equal(parse(MINIMAL), 0);
	assert_false(cfg.cluster.enabled);
	assert_int_equal(parse(MINIMAL "cluster:\n  node_id: 2\n" NODES3
			       "  election_timeout_ms: 300\n"
			       "  heartbeat_ms: 50\n  dir: raft\n"), 0);
	assert_true(cfg.cluster.enabled);
	assert_int_equal(cfg.cluster.node_id, 2);
	assert_int_equal(cfg.cluster.nb_nodes, 3);
	assert_int_equal(cfg.cluster.nodes[2].id, 3);
	assert_string_equal(cfg.cluster.nodes[2].address, "10.1.0.3:7000");
	assert_int_equal(cfg.cluster.election_timeout_ms, 300);
	assert_int_equal(cfg.cluster.heartbeat_ms, 50);
	assert_int_equal(cfg.cluster.snapshot_threshold, 1024);
	assert_int_equal(cfg.cluster.install_snapshot_timeout_ms, 10000);
	assert_string_equal(cfg.cluster.dir, "/etc/kc/raft");
	expect_error(MINIMAL "cluster:\n  node_id: 4\n" NODES3, 8, 12,
		     "cluster.node_id 4 is not one of cluster.nodes' ids");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n" NODES3
		     "    - id: 2\n      address: 10.1.0.4:7000\n", 16, 11,
		     "duplicate cluster node id 2 (also cluster.nodes[1])");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n" NODES3
		     "    - id: 4\n      address: 10.1.0.3:7000\n", 17, 16,
		     "duplicate cluster node address 10.1.0.3:7000");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n  nodes:\n"
		     "    - id: 1\n      address: 10.1.0.1\n", 11, 16,
		     "bad address '10.1.0.1' in cluster.nodes[0]");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n  nodes:\n"
		     "    - id: 1\n      address: host:7000\n", 11, 16,
		     "expected a.b.c.d:port");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n  nodes:\n"
		     "    - id: 1\n      address: 10.1.0.1:70000\n", 11, 16,
		     "port 1..65535");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n  nodes:\n"
		     "    - id: 1\n", 10, 7, "missing key 'address' in "
		     "cluster.nodes[0]");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n  nodes: []\n", 9, 10,
		     "'cluster.nodes' is empty");
	expect_error(MINIMAL "cluster:\n  nodes:\n    - id: 1\n"
		     "      address: 10.1.0.1:7000\n", 8, 3,
		     "missing key 'node_id' in cluster");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n" NODES3
		     "  heartbeat_ms: 1000\n", 16, 17,
		     "cluster.heartbeat_ms 1000 is not under "
		     "election_timeout_ms 1000");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n" NODES3
		     "  election_timeout_ms: 10\n", 16, 24,
		     "election_timeout_ms");
	expect_error(MINIMAL "cluster:\n  node_id: 1\n  nodes:\n"
		     "    - id: 1\n      address: 10.1.0.1:7001\n"
		     "    - id: 2\n      address: 10.1.0.1:7002\n"
		     "    - id: 3\n      address: 10.1.0.1:7003\n"
		     "    - id: 4\n      address: 10.1.0.1:7004\n"
		     "    - id: 5\n      address: 10.1.0.1:7005\n"
		     "    - id: 6\n      address: 10.1.0.1:7006\n"
		     "    - id: 7\n      address: 10.1.0.1:7007\n"
		     "    - id: 8\n      address: 10.1.0.1:7008\n", 24, 7,
		     "too many cluster nodes (expected at most 7)");
#undef NODES3
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_default),
		cmocka_unit_test(test_defaults_match_default_yaml),
		cmocka_unit_test(test_minimal_and_paths),
		cmocka_unit_test(test_full_port_and_pipeline),
		cmocka_unit_test(test_services_sections),
		cmocka_unit_test(test_queue_needs),
		cmocka_unit_test(test_eal_lcores_syntax),
		cmocka_unit_test(test_error_unknown_key),
		cmocka_unit_test(test_error_duplicate_key),
		cmocka_unit_test(test_error_wrong_type),
		cmocka_unit_test(test_error_out_of_range),
		cmocka_unit_test(test_error_missing_key),
		cmocka_unit_test(test_error_bad_ip),
		cmocka_unit_test(test_error_bad_mac_and_pci),
		cmocka_unit_test(test_error_driver_key),
		cmocka_unit_test(test_exception_path),
		cmocka_unit_test(test_error_duplicate_port),
		cmocka_unit_test(test_error_lcores),
		cmocka_unit_test(test_lcores_cpus),
		cmocka_unit_test(test_error_resources),
		cmocka_unit_test(test_error_yaml_syntax),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_admin_listen_production),
		cmocka_unit_test(test_cluster_section),
		cmocka_unit_test(test_queue_snapshot_fits_a_segment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
