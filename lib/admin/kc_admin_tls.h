/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to lib/admin: TLS in front of the admin server (kc_admin_tls.c
 * says why it is not civetweb's own). */
#ifndef KC_ADMIN_TLS_H
#define KC_ADMIN_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kc_tls_front;

/*
 * Listen with TLS (TLS 1.2 and newer; the certificate and its key in one
 * PEM file) on listen_ip:port and relay each connection, decrypted, to
 * 127.0.0.1:inner_port; at most max_conns at once. NULL with a message.
 */
struct kc_tls_front *kc_tls_front_start(const char *listen_ip, uint16_t port,
					const char *pem, uint16_t inner_port,
					uint32_t max_conns, char *err,
					size_t err_len);
void kc_tls_front_stop(struct kc_tls_front *f);
/* The client whose relay connects to the inner server from local_port. */
bool kc_tls_front_client(struct kc_tls_front *f, uint16_t local_port,
			 char *out, size_t len);

#endif /* KC_ADMIN_TLS_H */
