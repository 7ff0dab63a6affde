/* SPDX-License-Identifier: BSD-3-Clause */
/* An in-memory connection of kc_fake_civetweb.c (fuzz_admin). */
#ifndef KC_FAKE_CIVETWEB_H
#define KC_FAKE_CIVETWEB_H

#include <stdbool.h>
#include <stddef.h>

#include <civetweb.h>

struct kc_fake_conn {
	struct mg_request_info ri;	/* first: the handlers' view */
	const char *body;		/* the request's body, for mg_read */
	size_t body_len;
	size_t body_pos;
	char *out;			/* what the handler wrote */
	size_t out_len;
	size_t out_cap;
};

/* Run the handler civetweb would pick for c->ri.local_uri; its status, or
 * 0 when none matches (civetweb would answer 404 itself). */
int kc_fake_dispatch(struct kc_fake_conn *c);

#endif /* KC_FAKE_CIVETWEB_H */
