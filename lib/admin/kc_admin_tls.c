/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS in front of the admin server, with OpenSSL 3.
 *
 * Why not civetweb's own TLS: Debian 12's civetweb 1.15 loads libssl at
 * run time and looks up SSL_get_peer_certificate, which OpenSSL 3 only has
 * as a macro (SSL_get1_peer_certificate); civetweb then calls a NULL
 * pointer after every handshake and the process dies (civetweb issue
 * 1334). So civetweb serves plain HTTP on 127.0.0.1 at a port the kernel
 * picks, and this front end terminates TLS on the configured address and
 * relays each connection to it, one thread a connection, at most a fixed
 * number at once. A handshake must be done within HANDSHAKE_MS, and when
 * every relay is taken a new connection ends the oldest handshake still
 * going, so that slow or silent handshakes cannot lock clients out. It remembers which client each relay
 * serves, so the audit log names the real client, not 127.0.0.1, and the
 * admin server answers on its internal port only what a relay brings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "kc_admin_tls.h"

#define IDLE_MS 60000	/* a silent connection is closed */
#define IO_TIMEOUT_S 10
/* A handshake is done within this, however its bytes trickle in. */
#define HANDSHAKE_MS 5000

struct relay_slot {
	uint16_t local_port;	/* our side of the connection to civetweb */
	char client[64];
};

struct kc_tls_front {
	SSL_CTX *ctx;
	int fd;
	uint16_t inner_port;
	uint32_t max;
	pthread_t acceptor;
	int quit;
	pthread_mutex_t lock;	/* the slots, active, hs */
	uint32_t active;	/* relays that count against max */
	uint32_t live;		/* relay threads, evicted ones too */
	struct relay_slot *slots;
	/* Relays still in their handshake (max of them), oldest evicted
	 * first when every relay is taken: connections that trickle (or
	 * never send) their handshakes cannot lock the others out. */
	struct relay **hs;
};

struct relay {
	struct kc_tls_front *f;
	int fd;
	bool evicted;		/* under f->lock: no longer in active */
	uint64_t t0_ns;		/* accepted */
	char client[64];
};

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void tls_error(char *err, size_t err_len, const char *what,
		      const char *path)
{
	char e[160];

	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	snprintf(err, err_len, "admin.tls_certificate %s: %s: %s", path, what,
		 e);
}

static void slot_set(struct kc_tls_front *f, uint16_t port,
		     const char *client)
{
	pthread_mutex_lock(&f->lock);
	for (uint32_t i = 0; i < f->max; i++)
		if (f->slots[i].local_port == 0) {
			f->slots[i].local_port = port;
			snprintf(f->slots[i].client, sizeof(f->slots[i].client),
				 "%s", client);
			break;
		}
	pthread_mutex_unlock(&f->lock);
}

static void slot_clear(struct kc_tls_front *f, uint16_t port)
{
	pthread_mutex_lock(&f->lock);
	for (uint32_t i = 0; i < f->max; i++)
		if (f->slots[i].local_port == port)
			f->slots[i].local_port = 0;
	pthread_mutex_unlock(&f->lock);
}

bool kc_tls_front_client(struct kc_tls_front *f, uint16_t local_port,
			 char *out, size_t len)
{
	bool found = false;

	pthread_mutex_lock(&f->lock);
	for (uint32_t i = 0; i < f->max && !found; i++)
		if (f->slots[i].local_port == local_port) {
			snprintf(out, len, "%s", f->slots[i].client);
			found = true;
		}
	pthread_mutex_unlock(&f->lock);
	return found;
}

static int connect_inner(uint16_t port, uint16_t *local_port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		close(fd);
		return -1;
	}
	*local_port = ntohs(a.sin_port);
	return fd;
}

/* Copy both ways until either side closes or both are idle too long. */
static void pump(struct kc_tls_front *f, SSL *ssl, int tls_fd, int in_fd)
{
	char buf[16384];
	int idle = 0;

	while (!__atomic_load_n(&f->quit, __ATOMIC_ACQUIRE) &&
	       idle < IDLE_MS) {
		struct pollfd p[2] = {
			{ .fd = tls_fd, .events = POLLIN },
			{ .fd = in_fd, .events = POLLIN },
		};
		int n = SSL_pending(ssl) > 0 ? 1 : poll(p, 2, 200);

		if (n < 0 && errno != EINTR)
			return;
		if (n <= 0) {
			idle += 200;
			continue;
		}
		idle = 0;
		if (SSL_pending(ssl) > 0 || (p[0].revents & (POLLIN | POLLHUP))) {
			int r = SSL_read(ssl, buf, sizeof(buf));

			if (r <= 0 || send(in_fd, buf, (size_t)r,
					   MSG_NOSIGNAL) != r)
				return;
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t r = recv(in_fd, buf, sizeof(buf), 0);

			if (r <= 0 || SSL_write(ssl, buf, (int)r) != r)
				return;
		}
	}
}

/* Under f->lock: the relays in their handshake. */
static void hs_add(struct kc_tls_front *f, struct relay *r)
{
	for (uint32_t i = 0; i < f->max; i++)
		if (f->hs[i] == NULL) {
			f->hs[i] = r;
			return;
		}
}

static void hs_remove(struct kc_tls_front *f, struct relay *r)
{
	for (uint32_t i = 0; i < f->max; i++)
		if (f->hs[i] == r)
			f->hs[i] = NULL;
}

/* Under f->lock, every relay taken: end the oldest handshake (its poll
 * sees the shutdown at once) and free its place. False if none is in its
 * handshake: then the relays all serve clients and the new one waits
 * for no one (it is refused). */
static bool evict_oldest_handshake(struct kc_tls_front *f)
{
	struct relay *old = NULL;

	for (uint32_t i = 0; i < f->max; i++)
		if (f->hs[i] != NULL && !f->hs[i]->evicted &&
		    (old == NULL || f->hs[i]->t0_ns < old->t0_ns))
			old = f->hs[i];
	if (old == NULL)
		return false;
	old->evicted = true;
	shutdown(old->fd, SHUT_RDWR);
	f->active--;
	return true;
}

/* SSL_accept within HANDSHAKE_MS of t0_ns in all, the socket
 * non-blocking meanwhile; true when done. */
static bool handshake(SSL *ssl, int fd, uint64_t t0_ns)
{
	int flags = fcntl(fd, F_GETFL);
	bool ok = false;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		return false;
	for (;;) {
		int r = SSL_accept(ssl), e, left;
		struct pollfd p = { .fd = fd };

		if (r == 1) {
			ok = true;
			break;
		}
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			p.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			p.events = POLLOUT;
		else
			break;
		left = HANDSHAKE_MS - (int)((mono_ns() - t0_ns) / 1000000u);
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
	}
	return ok && fcntl(fd, F_SETFL, flags) == 0;
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	struct kc_tls_front *f = r->f;
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	const int one = 1;
	uint16_t local_port = 0;
	SSL *ssl = SSL_new(f->ctx);
	int in_fd = -1;
	bool ok;

	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(r->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* An answer leaves as a few TLS records (civetweb writes headers
	 * and body apart): with Nagle on, each later one would wait for
	 * the client's delayed ACK on a kept-alive connection. */
	setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ok = ssl != NULL && SSL_set_fd(ssl, r->fd) == 1 &&
	     handshake(ssl, r->fd, r->t0_ns);
	pthread_mutex_lock(&f->lock);
	hs_remove(f, r);
	ok = ok && !r->evicted;
	pthread_mutex_unlock(&f->lock);
	if (!ok)
		goto out;
	in_fd = connect_inner(f->inner_port, &local_port);
	if (in_fd < 0)
		goto out;
	slot_set(f, local_port, r->client);
	pump(f, ssl, r->fd, in_fd);
	slot_clear(f, local_port);
	SSL_shutdown(ssl);
out:
	ERR_clear_error();
	SSL_free(ssl);
	if (in_fd >= 0)
		close(in_fd);
	close(r->fd);
	pthread_mutex_lock(&f->lock);
	if (!r->evicted)
		f->active--;
	f->live--;
	pthread_mutex_unlock(&f->lock);
	free(r);
	return NULL;
}

static void *acceptor_main(void *arg)
{
	struct kc_tls_front *f = arg;

	while (!__atomic_load_n(&f->quit, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		struct relay *r;
		pthread_attr_t at;
		pthread_t t;
		bool room;
		int fd;

		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(f->fd, (struct sockaddr *)&peer, &len,
			     SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		r = calloc(1, sizeof(*r));
		if (r == NULL) {
			close(fd);
			continue;
		}
		r->f = f;
		r->fd = fd;
		r->t0_ns = mono_ns();
		pthread_mutex_lock(&f->lock);
		room = f->active < f->max || evict_oldest_handshake(f);
		if (room) {
			f->active++;
			f->live++;
			hs_add(f, r);
		}
		pthread_mutex_unlock(&f->lock);
		if (!room) {
			close(fd); /* every relay serves a client: refused */
			free(r);
			continue;
		}
		inet_ntop(AF_INET, &peer.sin_addr, r->client,
			  sizeof(r->client));
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, relay_main, r) != 0) {
			pthread_mutex_lock(&f->lock);
			hs_remove(f, r);
			if (!r->evicted)
				f->active--;
			f->live--;
			pthread_mutex_unlock(&f->lock);
			close(fd);
			free(r);
		}
		pthread_attr_destroy(&at);
	}
	return NULL;
}

struct kc_tls_front *kc_tls_front_start(const char *listen_ip, uint16_t port,
					const char *pem, uint16_t inner_port,
					uint32_t max_conns, char *err,
					size_t err_len)
{
	struct kc_tls_front *f = calloc(1, sizeof(*f));
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int one = 1;

	if (f == NULL) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	f->fd = -1;
	f->inner_port = inner_port;
	f->max = max_conns;
	pthread_mutex_init(&f->lock, NULL);
	f->slots = calloc(max_conns, sizeof(*f->slots));
	f->hs = calloc(max_conns, sizeof(*f->hs));
	f->ctx = SSL_CTX_new(TLS_server_method());
	if (f->slots == NULL || f->hs == NULL || f->ctx == NULL) {
		snprintf(err, err_len, "out of memory for TLS");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(f->ctx, TLS1_2_VERSION);
	/* TLS 1.2 with forward secrecy and an AEAD only: a 1.2 floor alone
	 * also offered RSA key exchange and CBC with SHA-1. TLS 1.3's suites
	 * are all of that kind already. */
	if (SSL_CTX_set_cipher_list(f->ctx,
				    "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
		tls_error(err, err_len, "no cipher suite", pem);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(f->ctx, pem) != 1) {
		tls_error(err, err_len, "no certificate", pem);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(f->ctx, pem, SSL_FILETYPE_PEM) != 1) {
		tls_error(err, err_len, "no private key", pem);
		goto fail;
	}
	if (SSL_CTX_check_private_key(f->ctx) != 1) {
		tls_error(err, err_len, "the key is not the certificate's", pem);
		goto fail;
	}
	if (inet_pton(AF_INET, listen_ip, &a.sin_addr) != 1) {
		snprintf(err, err_len, "admin.listen %s: not an IPv4 address",
			 listen_ip);
		goto fail;
	}
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0 ||
	    setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(f->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(f->fd, 64) != 0) {
		snprintf(err, err_len, "cannot listen on %s:%u (HTTPS): %s",
			 listen_ip, port, strerror(errno));
		goto fail;
	}
	if (pthread_create(&f->acceptor, NULL, acceptor_main, f) != 0) {
		snprintf(err, err_len, "cannot start the TLS thread");
		goto fail;
	}
	pthread_setname_np(f->acceptor, "kc-admin-tls");
	return f;
fail:
	if (f->fd >= 0)
		close(f->fd);
	SSL_CTX_free(f->ctx);
	free(f->slots);
	free(f->hs);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return NULL;
}

void kc_tls_front_stop(struct kc_tls_front *f)
{
	uint32_t left = 0;

	if (f == NULL)
		return;
	__atomic_store_n(&f->quit, 1, __ATOMIC_RELEASE);
	pthread_join(f->acceptor, NULL);
	close(f->fd);
	/* Relays see quit within a poll interval (or their I/O timeout). */
	for (int i = 0; i < 10 * (IO_TIMEOUT_S + 1); i++) {
		pthread_mutex_lock(&f->lock);
		left = f->live;
		pthread_mutex_unlock(&f->lock);
		if (left == 0)
			break;
		usleep(100000);
	}
	/* A relay still stuck would use what is freed: leave it (the
	 * process is stopping). */
	if (left != 0)
		return;
	SSL_CTX_free(f->ctx);
	free(f->slots);
	free(f->hs);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
