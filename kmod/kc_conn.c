// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The TCP side: a kthread accepts connections and reaps the ones that are
 * finished or idle; each connection's input is split into lines by a work
 * item on kc_io_wq, and each line is handed to kc_req_wq as a request.
 *
 * A connection has at most one line in flight, so its replies come back in
 * the order of its lines and a client that sends faster than the appliance
 * answers is held back by TCP flow control, not by memory. Requests of
 * different connections run in parallel, up to max_inflight.
 *
 * Lifetime: the connection list holds one reference, a request in flight
 * another. Only the listener thread (or module unload) takes a connection
 * off the list; it restores the socket's callbacks, marks it dead (so that no
 * work is queued for it again), shuts the socket down and cancels its read
 * work before dropping the list's reference. The last reference releases
 * the socket.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/sock.h>

#include "kc_gw.h"

/* How often the listener wakes up to reap connections and check for stop. */
#define KC_ACCEPT_POLL_MS 200

static struct socket *kc_lsock;
static struct task_struct *kc_listen_task;
static LIST_HEAD(kc_conns);
static DEFINE_MUTEX(kc_conns_lock);	/* kc_conns, kc_nconns */
static unsigned int kc_nconns;

unsigned int kc_conns_open(void)
{
	return READ_ONCE(kc_nconns);
}

static void kc_conn_release(struct kref *ref)
{
	struct kc_conn *c = container_of(ref, struct kc_conn, ref);

	sock_release(c->sock);
	kfree(c->buf);
	kfree(c);
}

void kc_conn_put(struct kc_conn *c)
{
	kref_put(&c->ref, kc_conn_release);
}

/* Ask the listener to close c; the client sees EOF at once. */
static void kc_conn_finish(struct kc_conn *c, enum kc_stat why)
{
	if (READ_ONCE(c->closing))
		return;
	c->close_stat = why;
	WRITE_ONCE(c->closing, true);
	kernel_sock_shutdown(c->sock, SHUT_RDWR);
}

/*
 * Write a whole line. A blocking write waits at most send_timeout_ms (the
 * socket's send timeout); a client that does not read its replies for that
 * long is disconnected. The read work writes without blocking: it must not
 * stall the other connections.
 */
static int kc_conn_write(struct kc_conn *c, const char *text,
			 unsigned int len, bool block)
{
	unsigned int done = 0;

	while (done < len) {
		struct kvec iov = {
			.iov_base = (void *)(text + done),
			.iov_len = len - done,
		};
		struct msghdr msg = {
			.msg_flags = MSG_NOSIGNAL | (block ? 0 : MSG_DONTWAIT),
		};
		int n = kernel_sendmsg(c->sock, &msg, &iov, 1, len - done);

		if (n == -EAGAIN || n == 0) {
			kc_conn_finish(c, KC_STAT_connections_slow_closed);
			return -EAGAIN;
		}
		if (n < 0) {
			kc_conn_finish(c, KC_STAT_COUNT);
			return n;
		}
		done += n;
	}
	return 0;
}

/* Called by a request's work item: the reply line of c's current line. */
void kc_conn_req_done(struct kc_conn *c, const char *text, unsigned int len)
{
	if (!READ_ONCE(c->closing))
		kc_conn_write(c, text, len, true);
}

/* The request slot is free again: go on with c's next line. */
void kc_conn_next(struct kc_conn *c)
{
	/* Idle time counts from the reply, not from the line. */
	c->last_active = jiffies;
	spin_lock(&c->lock);
	c->busy = false;
	if (!c->dead)
		queue_work(kc_io_wq, &c->rx_work);
	spin_unlock(&c->lock);
}

static void kc_conn_local_error(struct kc_conn *c, const char *code,
				const char *reason)
{
	unsigned int n = kc_cmd_format_error(NULL, code, reason, c->errline,
					     sizeof(c->errline));

	kc_conn_write(c, c->errline, n, false);
}

/*
 * QUIT, any case, alone on its line: close once the replies so far are
 * out.
 */
static bool kc_line_is_quit(const char *s, unsigned int len)
{
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len == 4 && strncasecmp(s, "quit", 4) == 0;
}

static bool kc_line_has_control(const char *s, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++) {
		u8 ch = s[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return true;
	}
	return false;
}

/* One complete line (without its newline): a request, or a local answer. */
static void kc_conn_line(struct kc_conn *c, const char *s, unsigned int len)
{
	struct kc_req *r;

	kc_count(KC_STAT_lines);
	c->last_active = jiffies;
	if (len && s[len - 1] == '\r')
		len--;
	if (len == 0 || !memchr_inv(s, ' ', len))
		return;			/* an empty line asks nothing */
	if (kc_line_has_control(s, len)) {
		kc_count(KC_STAT_commands_bad);
		kc_conn_local_error(c, "BAD_COMMAND",
				    "the line holds control characters");
		return;
	}
	if (kc_line_is_quit(s, len)) {
		kc_conn_finish(c, KC_STAT_COUNT);
		return;
	}
	r = kc_req_get();
	if (!r) {
		kc_count(KC_STAT_busy);
		kc_conn_local_error(c, "BUSY",
				    "max_inflight requests in flight; send the line again later");
		return;
	}
	memcpy(r->line, s, len);
	r->line[len] = '\0';
	kref_get(&c->ref);
	r->conn = c;
	spin_lock(&c->lock);
	c->busy = true;
	spin_unlock(&c->lock);
	queue_work(kc_req_wq, &r->work);
}

static void kc_conn_consume(struct kc_conn *c, unsigned int n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/*
 * The read work: split what arrived into lines, one at a time. It returns
 * while a line is in flight and is queued again when its reply is out; data
 * it has not read waits in the socket, where TCP flow control holds the
 * client back.
 */
static void kc_conn_rx(struct work_struct *work)
{
	struct kc_conn *c = container_of(work, struct kc_conn, rx_work);
	struct kvec iov;
	struct msghdr msg;
	char *nl;
	int n;

	for (;;) {
		if (READ_ONCE(c->busy) || READ_ONCE(c->closing))
			return;
		nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			unsigned int ll = nl - c->buf;

			if (c->discarding)
				c->discarding = false;
			else
				kc_conn_line(c, c->buf, ll);
			kc_conn_consume(c, ll + 1);
			continue;
		}
		if (c->len == kc_cfg.max_line) {
			/*
			 * No newline in max_line bytes: refuse the line once
			 * and drop the rest of it as it comes.
			 */
			if (!c->discarding) {
				kc_count(KC_STAT_lines_too_long);
				kc_conn_local_error(c, "TOO_LONG",
						    "line longer than max_line");
			}
			c->discarding = true;
			c->len = 0;
			continue;
		}
		if (c->eof) {
			/* A last line without a newline still counts. */
			if (c->len && !c->discarding)
				kc_conn_line(c, c->buf, c->len);
			c->len = 0;
			if (!READ_ONCE(c->busy))
				kc_conn_finish(c, KC_STAT_COUNT);
			return;
		}
		iov.iov_base = c->buf + c->len;
		iov.iov_len = kc_cfg.max_line - c->len;
		memset(&msg, 0, sizeof(msg));
		n = kernel_recvmsg(c->sock, &msg, &iov, 1, iov.iov_len,
				   MSG_DONTWAIT);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			kc_conn_finish(c, KC_STAT_COUNT);
			return;
		}
		if (n == 0)
			c->eof = true;
		c->len += n;
	}
}

static void kc_conn_data_ready(struct sock *sk)
{
	struct kc_conn *c;

	read_lock_bh(&sk->sk_callback_lock);
	c = sk->sk_user_data;
	if (c) {
		queue_work(kc_io_wq, &c->rx_work);
		c->saved_data_ready(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void kc_conn_state_change(struct sock *sk)
{
	struct kc_conn *c;

	read_lock_bh(&sk->sk_callback_lock);
	c = sk->sk_user_data;
	if (c) {
		queue_work(kc_io_wq, &c->rx_work);
		c->saved_state_change(sk);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/*
 * Take c off its socket's callbacks and stop its work; drop the list's
 * reference. c is no longer on kc_conns.
 */
static void kc_conn_close(struct kc_conn *c, enum kc_stat why)
{
	struct sock *sk = c->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = c->saved_data_ready;
	sk->sk_state_change = c->saved_state_change;
	write_unlock_bh(&sk->sk_callback_lock);

	spin_lock(&c->lock);
	c->dead = true;
	spin_unlock(&c->lock);
	/* Also wakes a request blocked writing to this client. */
	kernel_sock_shutdown(c->sock, SHUT_RDWR);
	cancel_work_sync(&c->rx_work);

	kc_count(KC_STAT_connections_closed);
	if (why != KC_STAT_COUNT)
		kc_count(why);
	pr_debug("closed connection from %pISpc\n", &c->peer);
	kc_conn_put(c);
}

static void kc_conn_refuse(struct socket *s)
{
	static const char line[] =
		"REPLY:- ERR BUSY max_conns connections open; try again later\n";
	struct kvec iov = { .iov_base = (void *)line, .iov_len = sizeof(line) - 1 };
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };

	kc_count(KC_STAT_connections_rejected);
	kc_count(KC_STAT_errors);
	kernel_sendmsg(s, &msg, &iov, 1, iov.iov_len);
	kernel_sock_shutdown(s, SHUT_RDWR);
	sock_release(s);
}

static void kc_conn_add(struct socket *s)
{
	struct kc_conn *c;
	struct sock *sk = s->sk;

	if (kc_nconns >= kc_cfg.max_conns) {
		kc_conn_refuse(s);
		return;
	}
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		goto out_release_sock;
	c->buf = kmalloc(kc_cfg.max_line, GFP_KERNEL);
	if (!c->buf)
		goto out_free_conn;
	kref_init(&c->ref);
	spin_lock_init(&c->lock);
	INIT_WORK(&c->rx_work, kc_conn_rx);
	c->sock = s;
	c->last_active = jiffies;
	c->close_stat = KC_STAT_COUNT;
	if (kernel_getpeername(s, (struct sockaddr *)&c->peer) < 0)
		memset(&c->peer, 0, sizeof(c->peer));
	lock_sock(sk);
	sk->sk_sndtimeo = msecs_to_jiffies(kc_cfg.send_timeout_ms);
	release_sock(sk);

	mutex_lock(&kc_conns_lock);
	list_add_tail(&c->node, &kc_conns);
	WRITE_ONCE(kc_nconns, kc_nconns + 1);
	mutex_unlock(&kc_conns_lock);

	write_lock_bh(&sk->sk_callback_lock);
	c->saved_data_ready = sk->sk_data_ready;
	c->saved_state_change = sk->sk_state_change;
	sk->sk_user_data = c;
	sk->sk_data_ready = kc_conn_data_ready;
	sk->sk_state_change = kc_conn_state_change;
	write_unlock_bh(&sk->sk_callback_lock);

	kc_count(KC_STAT_connections_accepted);
	pr_debug("connection from %pISpc\n", &c->peer);
	/* Lines may have arrived before the callbacks were in place. */
	queue_work(kc_io_wq, &c->rx_work);
	return;

out_free_conn:
	kfree(c);
out_release_sock:
	pr_warn_ratelimited("out of memory for a new connection\n");
	sock_release(s);
}

/* Close what asked to be closed and what was idle too long. */
static void kc_conns_reap(bool all)
{
	unsigned long idle = kc_cfg.idle_timeout_s * HZ;
	struct kc_conn *c, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&kc_conns_lock);
	list_for_each_entry_safe(c, tmp, &kc_conns, node) {
		bool idle_out = idle && !READ_ONCE(c->busy) &&
				time_after(jiffies, c->last_active + idle);

		if (!all && !READ_ONCE(c->closing) && !idle_out)
			continue;
		if (idle_out && !READ_ONCE(c->closing))
			c->close_stat = KC_STAT_connections_idle_closed;
		list_move_tail(&c->node, &gone);
		WRITE_ONCE(kc_nconns, kc_nconns - 1);
	}
	mutex_unlock(&kc_conns_lock);

	list_for_each_entry_safe(c, tmp, &gone, node) {
		list_del_init(&c->node);
		kc_conn_close(c, c->close_stat);
	}
}

static int kc_listen_thread(void *unused)
{
	while (!kthread_should_stop()) {
		struct socket *s;
		int rc = kernel_accept(kc_lsock, &s, 0);

		if (!rc)
			kc_conn_add(s);
		else if (rc != -EAGAIN)
			/* Shut down for unload, or out of memory: no spin. */
			schedule_timeout_interruptible(msecs_to_jiffies(KC_ACCEPT_POLL_MS));
		kc_conns_reap(false);
	}
	return 0;
}

int kc_listen_start(void)
{
	struct sock *sk;
	int rc;

	rc = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			      &kc_lsock);
	if (rc) {
		pr_err("cannot create the TCP listening socket: %d\n", rc);
		return rc;
	}
	sk = kc_lsock->sk;
	sock_set_reuseaddr(sk);
	rc = kernel_bind(kc_lsock, (struct sockaddr *)&kc_cfg.listen,
			 sizeof(kc_cfg.listen));
	if (rc) {
		pr_err("cannot bind TCP %pISpc: %d\n", &kc_cfg.listen, rc);
		goto out_release_sock;
	}
	rc = kernel_listen(kc_lsock, min_t(unsigned int, kc_cfg.max_conns,
					   SOMAXCONN));
	if (rc) {
		pr_err("cannot listen on TCP %pISpc: %d\n", &kc_cfg.listen, rc);
		goto out_release_sock;
	}
	/*
	 * accept() returns -EAGAIN this often, so the thread can reap
	 * connections and notice kthread_stop().
	 */
	lock_sock(sk);
	sk->sk_rcvtimeo = msecs_to_jiffies(KC_ACCEPT_POLL_MS);
	release_sock(sk);

	kc_listen_task = kthread_run(kc_listen_thread, NULL, "kc-listen");
	if (IS_ERR(kc_listen_task)) {
		rc = PTR_ERR(kc_listen_task);
		pr_err("cannot start the listener thread: %d\n", rc);
		goto out_release_sock;
	}
	return 0;

out_release_sock:
	sock_release(kc_lsock);
	kc_lsock = NULL;
	return rc;
}

/*
 * Stop accepting and close every connection. Requests in flight keep their
 * connection (now shut down) until they finish.
 */
void kc_listen_stop(void)
{
	kernel_sock_shutdown(kc_lsock, SHUT_RDWR);
	kthread_stop(kc_listen_task);
	kc_conns_reap(true);
	WARN_ON_ONCE(!list_empty(&kc_conns));
	sock_release(kc_lsock);
	kc_lsock = NULL;
}
