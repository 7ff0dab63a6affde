/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Op descriptors: how to read each op's request and REPLY payloads as a list
 * of named, typed fields, and the one text rendering of such a list. Every
 * front end shows an op through this: kcctl (text and, with
 * kc_proto_json.h, JSON), kcq's dump, and the kernel module's reply lines.
 * The field names are the protocol's vocabulary (docs/protocol.md): the
 * same word in every tool.
 *
 * Plain C without the C library's stdio, so the kernel module compiles it
 * unchanged beside kc_proto.c.
 */
#ifndef KC_OPDESC_H
#define KC_OPDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_proto.h"

enum kc_field_kind {
	KC_FIELD_U64 = 1,  /* v */
	KC_FIELD_BOOL,	   /* v: 0 or 1 */
	KC_FIELD_WORD,	   /* word: a constant word (a state, a kind) */
	KC_FIELD_NAME,	   /* p, len: a queue or consumer name (valid) */
	KC_FIELD_DATA,	   /* p, len: a client's bytes */
	KC_FIELD_U64_LIST, /* p, count: big-endian u64s (coins, amounts) */
	KC_FIELD_RECORDS,  /* p, len, count: FETCH records; v: first offset */
	KC_FIELD_HOPS,	   /* p, count: trail hops of KC_HOP_WIRE_LEN */
	KC_FIELD_ID,	   /* p: a 16-byte id (a call's: its message id) */
};

/* One value of a payload. Pointers point into the decoded payload. */
struct kc_field {
	const char *name; /* NULL: a bare word in text (WORD only) */
	uint8_t kind;	  /* enum kc_field_kind */
	uint64_t v;
	const char *word;
	const uint8_t *p;
	uint32_t len;
	uint32_t count;
};

#define KC_FIELDS_MAX 12u
struct kc_fields {
	uint32_t n;
	struct kc_field f[KC_FIELDS_MAX];
};

/*
 * An op's descriptor: its request's and its OK REPLY's fields. abridged:
 * the REPLY is the first kc_op_info(op)->abridged_len bytes the journal
 * kept (its lists are left out). Each returns false on a payload that does
 * not decode; *out is then incomplete.
 */
struct kc_op_desc {
	bool (*request)(const uint8_t *p, uint32_t len, struct kc_fields *out);
	bool (*reply)(const uint8_t *p, uint32_t len, bool abridged,
		      struct kc_fields *out);
};

/* The messages of a RECORDS field, in order, each with its offset. */
struct kc_record_walk {
	struct kc_fetch_reply r;
	uint32_t pos;
	uint64_t offset;
};
void kc_record_walk_start(struct kc_record_walk *w, const struct kc_field *f);
/* The next message; false at the end. */
bool kc_record_walk_next(struct kc_record_walk *w, uint64_t *offset,
			 const uint8_t **msg, uint32_t *msg_len);

/* NULL for an op not in KC_OP_LIST. */
const struct kc_op_desc *kc_op_desc(uint8_t op);

/* Through the op's descriptor; false for an unknown op too. */
bool kc_op_request_fields(uint8_t op, const uint8_t *p, uint32_t len,
			  struct kc_fields *out);
bool kc_op_reply_fields(uint8_t op, const uint8_t *p, uint32_t len,
			bool abridged, struct kc_fields *out);

/*
 * The text of a field list: "name=value" words separated by spaces, one
 * line, nothing a terminal would act on:
 *   U64 in decimal; BOOL true or false; WORD and NAME as they are;
 *   DATA with bytes outside '!'..'~', and the backslash, as \xHH (a space
 *   is kept as is in the last field, so an echo reads as typed);
 *   U64_LIST as 1,2,3; ID as 32 lowercase hex digits;
 *   RECORDS as bare words OFFSET:DATA; HOPS as bare
 *   words SEQ:KIND:COIN:DENOMINATION:FROM:TO:TIME_NS.
 * With KC_TEXT_NO_LISTS, RECORDS and HOPS are left out (a caller that
 * lists them one per line). Writes at most cap - 1 bytes and a NUL;
 * returns the length written (a longer text is cut).
 */
#define KC_TEXT_NO_LISTS 0x1u
size_t kc_fields_text(const struct kc_fields *f, unsigned int flags,
		      char *out, size_t cap);

/* DATA's escaping of bytes, alone (reason texts, names from a journal):
 * as kc_fields_text, with spaces kept if keep_space. Same return. */
size_t kc_text_escape(const uint8_t *p, size_t n, bool keep_space, char *out,
		      size_t cap);

/* The journal's REPLY record of an accepted CALL (kc_call_accept: it
 * was never sent; the caller's REPLY is the call's OUTCOME record). */
bool kc_call_accept_fields(const uint8_t *p, uint32_t len,
			   struct kc_fields *out);

/* "LIVE", "DEAD" or "?". */
const char *kc_coin_state_name(unsigned int state);

#endif /* KC_OPDESC_H */
