/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * kingcobra.ko: a kernel TCP gateway to a KingCobra appliance.
 *
 * A TCP client sends text lines ("PING hello", "PUBLISH orders hi", ...);
 * each line becomes a work item that signs it as a KCP REQUEST, sends it to
 * the appliance over a kernel UDP socket, waits for the REPLY (resending the
 * same datagram on timeout) and writes one "REPLY:<id> ..." line back.
 *
 * Contexts:
 *   kc-listen kthread   accepts connections, reaps dead and idle ones
 *   kc_io_wq            reads TCP lines and UDP replies; never sleeps long
 *   kc_req_wq           one work item per line; sleeps waiting for the REPLY
 * The two workqueues are apart so that requests waiting for replies can never
 * starve the work that delivers those replies.
 *
 * The KCP layout and codecs are the project's own lib/proto/kc_proto.[ch],
 * compiled into the module unchanged (see compat/ and docs/kmod.md).
 */
#ifndef KC_GW_H
#define KC_GW_H

#include <linux/completion.h>
#include <linux/in.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "kc_proto.h"

/* Limits of the module parameters (checked at load). */
#define KC_MAX_CONNS_LIMIT	4096u
#define KC_MAX_LINE_MIN		128u
#define KC_MAX_LINE_LIMIT	16384u
#define KC_MAX_INFLIGHT_LIMIT	1024u
#define KC_TIMEOUT_MS_MIN	10u
#define KC_TIMEOUT_MS_MAX	60000u
#define KC_RETRIES_MAX		10u

/*
 * Longest reply line. The worst case is a FETCH reply: 1380 bytes of records
 * (KC_PAYLOAD_MAX - KC_FETCH_REPLY_FIXED), each record written as
 * " OFFSET:DATA" with every byte of DATA possibly escaped as \xHH, that is
 * at most 22 + 4 * len characters for a record of 4 + len wire bytes
 * (5.5 characters per wire byte): 7590, plus the REPLY prefix and the
 * fixed fields.
 */
#define KC_TEXT_MAX		8192u
#define KC_TOKENS_MAX		(3u + KC_COINS_PER_OP_MAX)

/*
 * Counters, kept per CPU and summed by the /proc reader; their names and
 * descriptions are kc_stat_info[] in kc_main.c.
 */
enum kc_stat {
	KC_STAT_connections_accepted,
	KC_STAT_connections_rejected,
	KC_STAT_connections_closed,
	KC_STAT_connections_idle_closed,
	KC_STAT_connections_slow_closed,
	KC_STAT_lines,
	KC_STAT_lines_too_long,
	KC_STAT_commands_bad,
	KC_STAT_busy,
	KC_STAT_requests_forwarded,
	KC_STAT_retries,
	KC_STAT_send_errors,
	KC_STAT_replies,
	KC_STAT_replies_ok,
	KC_STAT_replies_error,
	KC_STAT_replies_bad,
	KC_STAT_timeouts,
	KC_STAT_aborted,
	KC_STAT_stray_datagrams,
	KC_STAT_auth_failures,
	KC_STAT_errors,
	KC_STAT_COUNT
};

struct kc_stats {
	u64 v[KC_STAT_COUNT];
};

DECLARE_PER_CPU(struct kc_stats, kc_stats);

static inline void kc_count(enum kc_stat s)
{
	this_cpu_inc(kc_stats.v[s]);
}

u64 kc_stat_read(enum kc_stat s);

/* The validated configuration (module parameters), fixed after load. */
struct kc_cfg {
	struct sockaddr_in listen;
	struct sockaddr_in appliance;
	u32 client_id;
	u8 key[KC_KEY_LEN];
	unsigned int max_conns;
	unsigned int max_line;
	unsigned int max_inflight;
	unsigned int timeout_ms;
	unsigned int retries;
	unsigned int idle_timeout_s;
	unsigned int send_timeout_ms;
};

extern struct kc_cfg kc_cfg;

/* One TCP client. */
struct kc_conn {
	struct kref ref;
	struct list_head node;		/* kc_conns, under kc_conns_lock */
	struct socket *sock;
	struct work_struct rx_work;	/* on kc_io_wq */
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);
	spinlock_t lock;		/* dead, busy */
	bool dead;			/* no more work is queued for it */
	bool busy;			/* its current line is in flight */
	bool eof;			/* the client sent FIN */
	bool discarding;		/* inside a line longer than max_line */
	bool closing;			/* the listener is to close it */
	enum kc_stat close_stat;	/* why, if it has a counter */
	unsigned long last_active;	/* jiffies of the last complete line */
	unsigned int len;		/* bytes in buf */
	char *buf;			/* max_line bytes of unprocessed input */
	struct sockaddr_in peer;
	char errline[160];		/* a local error line */
};

/* One line in flight: a slot of a pool sized max_inflight at load. */
struct kc_req {
	struct work_struct work;	/* on kc_req_wq */
	struct list_head node;		/* free list, or pending list */
	struct kc_conn *conn;		/* holds a reference */
	struct completion done;
	bool replied;			/* under kc_pending_lock */
	bool aborted;			/* under kc_pending_lock */
	u8 op;
	u8 msg_id[KC_MSG_ID_LEN];
	unsigned int dgram_len;
	unsigned int reply_len;
	unsigned int text_len;
	char *line;			/* max_line + 1 bytes */
	u8 *dgram;			/* KC_DATAGRAM_MAX: the request */
	u8 *reply;			/* KC_DATAGRAM_MAX: the REPLY */
	char *text;			/* KC_TEXT_MAX: the reply line */
	u64 list[KC_COINS_PER_OP_MAX];	/* parsing scratch: coins, parts */
};

extern struct workqueue_struct *kc_io_wq;
extern struct workqueue_struct *kc_req_wq;

/* kc_conn.c */
int kc_listen_start(void);
void kc_listen_stop(void);
unsigned int kc_conns_open(void);
void kc_conn_put(struct kc_conn *c);
void kc_conn_req_done(struct kc_conn *c, const char *text, unsigned int len);
void kc_conn_next(struct kc_conn *c);

/* kc_kcp.c */
int kc_kcp_start(void);
void kc_kcp_stop(void);
void kc_kcp_abort_all(void);
struct kc_req *kc_req_get(void);
void kc_req_put(struct kc_req *r);
void kc_req_work(struct work_struct *work);
unsigned int kc_kcp_inflight(void);

/* kc_cmd.c: text to KCP and back; return 0 or a negative errno. */
int kc_cmd_parse(char *line, u64 *list, u8 *op, u8 *payload,
		 unsigned int *len, char *err, size_t err_len);
unsigned int kc_cmd_format_reply(const struct kc_req *r, char *out,
				 size_t out_len);
unsigned int kc_cmd_format_error(const u8 *msg_id, const char *code,
				 const char *reason, char *out, size_t out_len);

#endif /* KC_GW_H */
