// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * kingcobra.ko: module parameters, /proc/kingcobra/{stats,config}, load and
 * unload. The design is in kc_gw.h; the operator's guide is docs/kmod.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "kc_gw.h"

static char *listen_addr = "127.0.0.1";
module_param(listen_addr, charp, 0444);
MODULE_PARM_DESC(listen_addr, "IPv4 address of the TCP listener (default 127.0.0.1; 0.0.0.0: every address)");

static ushort listen_port = KC_UDP_PORT_DEFAULT;
module_param(listen_port, ushort, 0444);
MODULE_PARM_DESC(listen_port, "TCP port of the listener (default 60000)");

static char *appliance_addr = "10.77.0.2";
module_param(appliance_addr, charp, 0444);
MODULE_PARM_DESC(appliance_addr, "IPv4 address of the appliance (default 10.77.0.2)");

static ushort appliance_port = KC_UDP_PORT_DEFAULT;
module_param(appliance_port, ushort, 0444);
MODULE_PARM_DESC(appliance_port, "UDP port of the appliance (kcp.udp_port, default 60000)");

static uint client_id = 1;
module_param(client_id, uint, 0444);
MODULE_PARM_DESC(client_id, "client id that signs forwarded requests (default 1)");

/* Not readable in sysfs: the key is a secret. */
static char *key;
module_param(key, charp, 0);
MODULE_PARM_DESC(key, "the client's key: 64 hex digits, as in the keys file (required)");

static uint max_conns = 64;
module_param(max_conns, uint, 0444);
MODULE_PARM_DESC(max_conns, "most TCP connections open at once (default 64)");

static uint max_line = 2048;
module_param(max_line, uint, 0444);
MODULE_PARM_DESC(max_line, "longest command line in bytes, newline included (default 2048)");

static uint max_inflight = 32;
module_param(max_inflight, uint, 0444);
MODULE_PARM_DESC(max_inflight, "most requests in flight to the appliance (default 32)");

static uint timeout_ms = 1000;
module_param(timeout_ms, uint, 0444);
MODULE_PARM_DESC(timeout_ms, "wait for a REPLY per attempt, ms (default 1000)");

static uint retries = 2;
module_param(retries, uint, 0444);
MODULE_PARM_DESC(retries, "resends of the same datagram after the first attempt (default 2)");

static uint idle_timeout_s = 300;
module_param(idle_timeout_s, uint, 0444);
MODULE_PARM_DESC(idle_timeout_s, "close a connection without a complete line for this long, s; 0: never (default 300)");

static uint send_timeout_ms = 5000;
module_param(send_timeout_ms, uint, 0444);
MODULE_PARM_DESC(send_timeout_ms, "close a client that does not take a reply for this long, ms (default 5000)");

struct kc_cfg kc_cfg;
struct workqueue_struct *kc_io_wq;
struct workqueue_struct *kc_req_wq;
DEFINE_PER_CPU(struct kc_stats, kc_stats);

static const struct {
	const char *name;
	const char *desc;
} kc_stat_info[KC_STAT_COUNT] = {
	[KC_STAT_connections_accepted] = {
		"connections_accepted", "TCP connections accepted" },
	[KC_STAT_connections_rejected] = {
		"connections_rejected", "connections refused: max_conns reached" },
	[KC_STAT_connections_closed] = {
		"connections_closed", "connections closed, for any reason" },
	[KC_STAT_connections_idle_closed] = {
		"connections_idle_closed", "closed after idle_timeout_s without a line" },
	[KC_STAT_connections_slow_closed] = {
		"connections_slow_closed", "closed: the client did not read its replies" },
	[KC_STAT_lines] = { "lines", "complete lines received" },
	[KC_STAT_lines_too_long] = {
		"lines_too_long", "lines longer than max_line, refused" },
	[KC_STAT_commands_bad] = {
		"commands_bad", "lines that are not a valid command" },
	[KC_STAT_busy] = { "busy", "lines refused: max_inflight requests in flight" },
	[KC_STAT_requests_forwarded] = {
		"requests_forwarded", "KCP requests sent (first attempt)" },
	[KC_STAT_retries] = {
		"retries", "KCP requests sent again with the same message id" },
	[KC_STAT_send_errors] = { "send_errors", "UDP sends that failed" },
	[KC_STAT_replies] = {
		"replies", "authenticated replies matched to a request" },
	[KC_STAT_replies_ok] = { "replies_ok", "replies with status OK" },
	[KC_STAT_replies_error] = { "replies_error", "replies with an error status" },
	[KC_STAT_replies_bad] = {
		"replies_bad", "matched replies with a malformed payload" },
	[KC_STAT_timeouts] = {
		"timeouts", "requests without a reply after every attempt" },
	[KC_STAT_aborted] = { "aborted", "requests abandoned at unload" },
	[KC_STAT_stray_datagrams] = {
		"stray_datagrams", "datagrams that answer no request in flight" },
	[KC_STAT_auth_failures] = {
		"auth_failures", "replies whose tag does not verify" },
	[KC_STAT_errors] = {
		"errors", "ERR lines the gateway wrote on its own behalf" },
};

u64 kc_stat_read(enum kc_stat s)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(kc_stats, cpu).v[s];
	return sum;
}

static struct proc_dir_entry *kc_proc_dir;

/* "name value  # description" per line; the gauges first. */
static int kc_stats_show(struct seq_file *m, void *v)
{
	unsigned int i;

	seq_printf(m, "%-24s %20u  # %s\n", "connections_open",
		   kc_conns_open(), "TCP connections open now");
	seq_printf(m, "%-24s %20u  # %s\n", "requests_inflight",
		   kc_kcp_inflight(), "lines in flight now");
	for (i = 0; i < KC_STAT_COUNT; i++)
		seq_printf(m, "%-24s %20llu  # %s\n", kc_stat_info[i].name,
			   kc_stat_read(i), kc_stat_info[i].desc);
	return 0;
}

static int kc_config_show(struct seq_file *m, void *v)
{
	seq_printf(m, "listen %pISpc\n", &kc_cfg.listen);
	seq_printf(m, "appliance %pISpc\n", &kc_cfg.appliance);
	seq_printf(m, "client_id %u\n", kc_cfg.client_id);
	seq_puts(m, "key (set; not shown)\n");
	seq_printf(m, "max_conns %u\n", kc_cfg.max_conns);
	seq_printf(m, "max_line %u\n", kc_cfg.max_line);
	seq_printf(m, "max_inflight %u\n", kc_cfg.max_inflight);
	seq_printf(m, "timeout_ms %u\n", kc_cfg.timeout_ms);
	seq_printf(m, "retries %u\n", kc_cfg.retries);
	seq_printf(m, "idle_timeout_s %u\n", kc_cfg.idle_timeout_s);
	seq_printf(m, "send_timeout_ms %u\n", kc_cfg.send_timeout_ms);
	seq_printf(m, "protocol KCP version %u\n", KC_PROTO_VERSION);
	return 0;
}

static int kc_proc_init(void)
{
	kc_proc_dir = proc_mkdir("kingcobra", NULL);
	if (!kc_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("stats", 0444, kc_proc_dir, kc_stats_show) ||
	    !proc_create_single("config", 0444, kc_proc_dir,
				kc_config_show)) {
		proc_remove(kc_proc_dir);
		return -ENOMEM;
	}
	return 0;
}

static int kc_parse_addr(const char *name, const char *s, u16 port,
			 struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (!s || !in4_pton(s, -1, (u8 *)&sin->sin_addr.s_addr, -1, NULL)) {
		pr_err("%s '%s' is not an IPv4 address\n", name, s ? s : "");
		return -EINVAL;
	}
	return 0;
}

static int kc_check_range(const char *name, uint v, uint min, uint max)
{
	if (v < min || v > max) {
		pr_err("%s=%u is outside %u..%u\n", name, v, min, max);
		return -EINVAL;
	}
	return 0;
}

/* Module parameters to kc_cfg; every error names the parameter. */
static int kc_cfg_load(void)
{
	int rc;

	rc = kc_parse_addr("listen_addr", listen_addr, listen_port,
			   &kc_cfg.listen);
	if (rc)
		return rc;
	rc = kc_parse_addr("appliance_addr", appliance_addr, appliance_port,
			   &kc_cfg.appliance);
	if (rc)
		return rc;
	if (appliance_port == 0 || listen_port == 0) {
		pr_err("listen_port and appliance_port must not be 0\n");
		return -EINVAL;
	}
	if (client_id == 0) {
		pr_err("client_id=0: client ids are 1..4294967295\n");
		return -EINVAL;
	}
	if (!key || strlen(key) != 2 * KC_KEY_LEN ||
	    hex2bin(kc_cfg.key, key, KC_KEY_LEN)) {
		pr_err("key= must be the client's 64 hex digits (the keys file's HEX_KEY)\n");
		return -EINVAL;
	}
	rc = kc_check_range("max_conns", max_conns, 1, KC_MAX_CONNS_LIMIT);
	if (!rc)
		rc = kc_check_range("max_line", max_line, KC_MAX_LINE_MIN,
				    KC_MAX_LINE_LIMIT);
	if (!rc)
		rc = kc_check_range("max_inflight", max_inflight, 1,
				    KC_MAX_INFLIGHT_LIMIT);
	if (!rc)
		rc = kc_check_range("timeout_ms", timeout_ms,
				    KC_TIMEOUT_MS_MIN, KC_TIMEOUT_MS_MAX);
	if (!rc)
		rc = kc_check_range("retries", retries, 0, KC_RETRIES_MAX);
	if (!rc)
		rc = kc_check_range("idle_timeout_s", idle_timeout_s, 0,
				    86400);
	if (!rc)
		rc = kc_check_range("send_timeout_ms", send_timeout_ms, 10,
				    600000);
	if (rc)
		return rc;
	kc_cfg.client_id = client_id;
	kc_cfg.max_conns = max_conns;
	kc_cfg.max_line = max_line;
	kc_cfg.max_inflight = max_inflight;
	kc_cfg.timeout_ms = timeout_ms;
	kc_cfg.retries = retries;
	kc_cfg.idle_timeout_s = idle_timeout_s;
	kc_cfg.send_timeout_ms = send_timeout_ms;
	return 0;
}

static int __init kc_init(void)
{
	int rc;

	rc = kc_cfg_load();
	if (rc)
		return rc;
	kc_io_wq = alloc_workqueue("kc_io", 0, 0);
	if (!kc_io_wq)
		return -ENOMEM;
	/* Requests sleep waiting for replies: at most max_inflight at once. */
	kc_req_wq = alloc_workqueue("kc_req", 0, kc_cfg.max_inflight);
	if (!kc_req_wq) {
		rc = -ENOMEM;
		goto out_destroy_io_wq;
	}
	rc = kc_kcp_start();
	if (rc)
		goto out_destroy_req_wq;
	rc = kc_proc_init();
	if (rc) {
		pr_err("cannot create /proc/kingcobra\n");
		goto out_stop_kcp;
	}
	rc = kc_listen_start();
	if (rc)
		goto out_remove_proc;
	pr_info("listening on TCP %pISpc, forwarding to %pISpc as client %u\n",
		&kc_cfg.listen, &kc_cfg.appliance, kc_cfg.client_id);
	return 0;

out_remove_proc:
	proc_remove(kc_proc_dir);
out_stop_kcp:
	kc_kcp_stop();
out_destroy_req_wq:
	destroy_workqueue(kc_req_wq);
out_destroy_io_wq:
	destroy_workqueue(kc_io_wq);
	memzero_explicit(&kc_cfg.key, sizeof(kc_cfg.key));
	return rc;
}

/*
 * Wake the requests waiting for a REPLY (they answer ERR SHUTDOWN, and new
 * ones are refused); stop accepting and shut every connection down; let
 * kc_req_wq drain (each request drops its connection, releasing the last
 * sockets); then the UDP socket and the read work.
 */
static void __exit kc_exit(void)
{
	proc_remove(kc_proc_dir);
	kc_kcp_abort_all();
	kc_listen_stop();
	destroy_workqueue(kc_req_wq);
	kc_kcp_stop();
	destroy_workqueue(kc_io_wq);
	memzero_explicit(&kc_cfg.key, sizeof(kc_cfg.key));
	pr_info("unloaded: %llu requests abandoned, %llu connections closed\n",
		kc_stat_read(KC_STAT_aborted),
		kc_stat_read(KC_STAT_connections_closed));
}

module_init(kc_init);
module_exit(kc_exit);

MODULE_DESCRIPTION("KingCobra kernel TCP gateway: text commands to signed KCP requests");
MODULE_AUTHOR("The KingCobra authors");
MODULE_LICENSE("Dual BSD/GPL");
