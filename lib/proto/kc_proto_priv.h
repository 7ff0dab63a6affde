/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The payload writer and reader every KCP codec file of lib/proto uses
 * (kc_proto.c, kc_proto_svc.c). Private to lib/proto; the kernel module
 * compiles it too, so it uses nothing but memcpy and strnlen.
 */
#ifndef KC_PROTO_PRIV_H
#define KC_PROTO_PRIV_H

#include <string.h>

#include "kc_proto.h"

/* --- payload writer and reader ------------------------------------------- */

/*
 * A writer or reader is a cursor with a sticky failure bit: once a write
 * would not fit or a read would pass the end, every later step is a no-op
 * and the caller checks once at the end.
 */
struct wr {
	uint8_t *p;
	size_t cap;
	size_t pos;
	bool bad;
};

static inline bool wr_room(struct wr *w, size_t n)
{
	if (w->bad || n > w->cap - w->pos) {
		w->bad = true;
		return false;
	}
	return true;
}

static inline void wr_bytes(struct wr *w, const void *src, size_t n)
{
	if (!wr_room(w, n))
		return;
	if (n > 0)
		memcpy(w->p + w->pos, src, n);
	w->pos += n;
}

static inline void wr_u16(struct wr *w, uint16_t v)
{
	if (!wr_room(w, 2))
		return;
	kc_put_u16(w->p + w->pos, v);
	w->pos += 2;
}

static inline void wr_u32(struct wr *w, uint32_t v)
{
	if (!wr_room(w, 4))
		return;
	kc_put_u32(w->p + w->pos, v);
	w->pos += 4;
}

static inline void wr_u64(struct wr *w, uint64_t v)
{
	if (!wr_room(w, 8))
		return;
	kc_put_u64(w->p + w->pos, v);
	w->pos += 8;
}

static inline void wr_name(struct wr *w, const char *name)
{
	size_t n;

	if (name == NULL) {
		w->bad = true;
		return;
	}
	/* Never read further than one byte past the longest valid name. */
	n = strnlen(name, KC_NAME_MAX + 1u);
	if (!kc_name_valid((const uint8_t *)name, n)) {
		w->bad = true;
		return;
	}
	if (!wr_room(w, 1 + n))
		return;
	w->p[w->pos] = (uint8_t)n;
	memcpy(w->p + w->pos + 1, name, n);
	w->pos += 1 + n;
}

static inline size_t wr_done(const struct wr *w)
{
	return w->bad ? 0 : w->pos;
}

struct rd {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool bad;
};

static inline bool rd_have(struct rd *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return false;
	}
	return true;
}

static inline uint16_t rd_u16(struct rd *r)
{
	uint16_t v;

	if (!rd_have(r, 2))
		return 0;
	v = kc_get_u16(r->p + r->pos);
	r->pos += 2;
	return v;
}

static inline uint32_t rd_u32(struct rd *r)
{
	uint32_t v;

	if (!rd_have(r, 4))
		return 0;
	v = kc_get_u32(r->p + r->pos);
	r->pos += 4;
	return v;
}

static inline uint64_t rd_u64(struct rd *r)
{
	uint64_t v;

	if (!rd_have(r, 8))
		return 0;
	v = kc_get_u64(r->p + r->pos);
	r->pos += 8;
	return v;
}

static inline void rd_name(struct rd *r, struct kc_name *n)
{
	uint8_t len;

	n->len = 0;
	n->s[0] = '\0';
	if (!rd_have(r, 1))
		return;
	len = r->p[r->pos];
	if (!rd_have(r, 1u + len))
		return;
	if (!kc_name_valid(r->p + r->pos + 1, len)) {
		r->bad = true;
		return;
	}
	n->len = len;
	memcpy(n->s, r->p + r->pos + 1, len);
	n->s[len] = '\0';
	r->pos += 1u + len;
}

/* Malformed if a read failed or bytes are left over. */
static inline enum kc_status rd_done(const struct rd *r)
{
	if (r->bad || r->pos != r->len)
		return KC_STATUS_BAD_REQUEST;
	return KC_STATUS_OK;
}

static inline struct wr wr_start(uint8_t *p, size_t cap)
{
	struct wr w = { .p = p, .cap = cap, .pos = 0, .bad = (p == NULL) };
	return w;
}

static inline struct rd rd_start(const uint8_t *p, size_t len)
{
	struct rd r = { .p = p, .len = len, .pos = 0,
			.bad = (p == NULL && len > 0) };
	return r;
}

#endif /* KC_PROTO_PRIV_H */
