// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The text protocol of the gateway: a command line to a KCP op and payload,
 * and a REPLY to one "REPLY:<id> OK ..." or "REPLY:<id> ERR ..." line. The
 * payload codecs are lib/proto's (kc_enc_*, kc_dec_*), shared with kcctl.
 */
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "kc_gw.h"
#include "kc_opdesc.h"

/* The next word of *cur, NUL-terminated in place; NULL at the end. */
static char *next_word(char **cur)
{
	char *s = *cur;
	char *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*cur = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*cur = s;
	return w;
}

/* Strict unsigned decimal in [min, max]: digits only. */
static int parse_u64(const char *s, u64 min, u64 max, u64 *v)
{
	const char *p;
	int rc;

	if (!s || *s == '\0')
		return -EINVAL;
	for (p = s; *p; p++)
		if (!isdigit(*p))
			return -EINVAL;
	rc = kstrtou64(s, 10, v);
	if (rc)
		return rc;
	if (*v < min || *v > max)
		return -ERANGE;
	return 0;
}

struct kc_parse_ctx {
	char *cur;
	char *err;
	size_t err_len;
};

static int bad(struct kc_parse_ctx *c, const char *fmt, const char *arg)
{
	snprintf(c->err, c->err_len, fmt, arg);
	return -EINVAL;
}

static int word_u64(struct kc_parse_ctx *c, const char *what, u64 min,
		    u64 max, u64 *v)
{
	char *w = next_word(&c->cur);

	if (!w)
		return bad(c, "missing %s", what);
	if (parse_u64(w, min, max, v))
		return bad(c, "bad %s", what);
	return 0;
}

static int word_name(struct kc_parse_ctx *c, const char *what, char **name)
{
	*name = next_word(&c->cur);
	if (!*name)
		return bad(c, "missing %s name", what);
	if (!kc_name_valid((const u8 *)*name, strnlen(*name, KC_NAME_MAX + 1)))
		return bad(c, "bad %s name: 1..64 characters of A-Z a-z 0-9 . _ -",
			   what);
	return 0;
}

/*
 * Whether another word follows: blanks alone are not one (a line ending in
 * two or more blanks once asked for an optional argument that was not
 * there, "missing max").
 */
static bool more_words(struct kc_parse_ctx *c)
{
	while (*c->cur == ' ' || *c->cur == '\t')
		c->cur++;
	return *c->cur != '\0';
}

static int no_more(struct kc_parse_ctx *c, const char *usage)
{
	if (next_word(&c->cur))
		return bad(c, "too many arguments; usage: %s", usage);
	return 0;
}

/*
 * The rest of the line after one separator: the text of PING and the
 * message of PUBLISH, spaces included.
 */
static char *rest(struct kc_parse_ctx *c)
{
	return c->cur;
}

/* n list values, each 1..U64_MAX; no repeats if distinct. */
static int word_list(struct kc_parse_ctx *c, const char *what, u64 *list,
		     unsigned int min, unsigned int max, bool distinct,
		     unsigned int *n)
{
	char *w;
	unsigned int i;

	*n = 0;
	while ((w = next_word(&c->cur))) {
		if (*n == max)
			return bad(c, "too many %ss", what);
		if (parse_u64(w, 1, U64_MAX, &list[*n]))
			return bad(c, "bad %s", what);
		for (i = 0; distinct && i < *n; i++)
			if (list[i] == list[*n])
				return bad(c, "a %s is listed twice", what);
		(*n)++;
	}
	if (*n < min)
		return bad(c, "too few %ss", what);
	return 0;
}

static int parse_queue_op(struct kc_parse_ctx *c, u8 op, u8 *p,
			  unsigned int *len)
{
	char *queue, *consumer, *msg;
	u64 off, max = 0;
	size_t n = 0;
	int rc;

	rc = word_name(c, "queue", &queue);
	if (rc)
		return rc;
	switch (op) {
	case KC_OP_PUBLISH:
		msg = rest(c);
		if (strlen(msg) > KC_MSG_MAX)
			return bad(c, "message longer than %s bytes", "1343");
		n = kc_enc_publish(p, KC_PAYLOAD_MAX, queue, msg, strlen(msg));
		break;
	case KC_OP_FETCH:
		rc = word_u64(c, "offset", 0, U64_MAX, &off);
		if (rc)
			return rc;
		if (more_words(c)) {
			rc = word_u64(c, "max", 0, U16_MAX, &max);
			if (rc)
				return rc;
		}
		rc = no_more(c, "FETCH QUEUE OFFSET [MAX]");
		if (rc)
			return rc;
		n = kc_enc_fetch(p, KC_PAYLOAD_MAX, queue, off, (u16)max);
		break;
	case KC_OP_COMMIT:
	case KC_OP_OFFSET:
		rc = word_name(c, "consumer", &consumer);
		if (rc)
			return rc;
		if (op == KC_OP_OFFSET) {
			rc = no_more(c, "OFFSET QUEUE CONSUMER");
			if (rc)
				return rc;
			n = kc_enc_offset(p, KC_PAYLOAD_MAX, queue, consumer);
			break;
		}
		rc = word_u64(c, "offset", 0, U64_MAX, &off);
		if (!rc)
			rc = no_more(c, "COMMIT QUEUE CONSUMER OFFSET");
		if (rc)
			return rc;
		n = kc_enc_commit(p, KC_PAYLOAD_MAX, queue, consumer, off);
		break;
	}
	if (n == 0)
		return bad(c, "%s does not fit one datagram", "request");
	*len = n;
	return 0;
}

static int parse_ledger_op(struct kc_parse_ctx *c, u8 op, u64 *list, u8 *p,
			   unsigned int *len)
{
	u64 a, b, count = 1;
	unsigned int n;
	size_t w = 0;
	int rc;

	switch (op) {
	case KC_OP_MINT:
		rc = word_u64(c, "account", 1, U32_MAX, &a);
		if (!rc)
			rc = word_u64(c, "denomination", 1, U64_MAX, &b);
		if (!rc && more_words(c))
			rc = word_u64(c, "count", 1, KC_MINT_COUNT_MAX, &count);
		if (!rc)
			rc = no_more(c, "MINT ACCOUNT DENOMINATION [COUNT]");
		if (rc)
			return rc;
		w = kc_enc_mint(p, KC_PAYLOAD_MAX, (u32)a, b, (u32)count);
		break;
	case KC_OP_TRANSFER:
		rc = word_u64(c, "account", 1, U32_MAX, &a);
		if (!rc)
			rc = word_u64(c, "account", 1, U32_MAX, &b);
		if (!rc)
			rc = word_list(c, "coin", list, 1, KC_COINS_PER_OP_MAX,
				       true, &n);
		if (rc)
			return rc;
		w = kc_enc_transfer(p, KC_PAYLOAD_MAX, (u32)a, (u32)b, list,
				    (u16)n);
		break;
	case KC_OP_SPLIT:
		rc = word_u64(c, "coin", 1, U64_MAX, &a);
		if (!rc)
			rc = word_list(c, "denomination", list, 2,
				       KC_SPLIT_PARTS_MAX, false, &n);
		if (rc)
			return rc;
		w = kc_enc_split(p, KC_PAYLOAD_MAX, a, list, (u16)n);
		break;
	case KC_OP_MERGE:
		rc = word_list(c, "coin", list, 2, KC_COINS_PER_OP_MAX, true,
			       &n);
		if (rc)
			return rc;
		w = kc_enc_merge(p, KC_PAYLOAD_MAX, list, (u16)n);
		break;
	case KC_OP_BURN:
	case KC_OP_COIN:
		rc = word_u64(c, "coin", 1, U64_MAX, &a);
		if (!rc)
			rc = no_more(c, "BURN|COIN COIN");
		if (rc)
			return rc;
		w = kc_enc_coin_id(p, KC_PAYLOAD_MAX, a);
		break;
	case KC_OP_BALANCE:
		rc = word_u64(c, "account", 1, U32_MAX, &a);
		if (!rc)
			rc = no_more(c, "BALANCE ACCOUNT");
		if (rc)
			return rc;
		w = kc_enc_account(p, KC_PAYLOAD_MAX, (u32)a);
		break;
	case KC_OP_TRAIL:
		b = 0;
		rc = word_u64(c, "coin", 1, U64_MAX, &a);
		if (!rc && more_words(c))
			rc = word_u64(c, "skip", 0, U32_MAX, &b);
		if (!rc)
			rc = no_more(c, "TRAIL COIN [SKIP]");
		if (rc)
			return rc;
		w = kc_enc_trail(p, KC_PAYLOAD_MAX, a, (u32)b);
		break;
	case KC_OP_AUDIT:
		rc = no_more(c, "AUDIT");
		if (rc)
			return rc;
		*len = 0;
		return 0;
	default:
		return bad(c, "%s", "unknown command");
	}
	if (w == 0)
		return bad(c, "%s does not fit one datagram", "request");
	*len = w;
	return 0;
}

/*
 * Parse one command line (NUL-terminated, no newline; it may be modified).
 * list is scratch room for KC_COINS_PER_OP_MAX values; payload has room for
 * KC_PAYLOAD_MAX bytes. Returns 0, or -EINVAL with a reason in err.
 */
int kc_cmd_parse(char *line, u64 *list, u8 *op, u8 *payload,
		 unsigned int *len, char *err, size_t err_len)
{
	struct kc_parse_ctx c = { .cur = line, .err = err, .err_len = err_len };
	char *word = next_word(&c.cur);
	char *s;
	int v;

	/* The original design's lines start with REQUEST; it is optional. */
	if (word && strcasecmp(word, "request") == 0)
		word = next_word(&c.cur);
	if (!word)
		return bad(&c, "%s", "empty command");
	for (s = word; *s; s++)
		*s = tolower(*s);
	v = kc_op_from_name(word);
	if (v < 0)
		return bad(&c, "%s", "unknown command");
	*op = (u8)v;
	switch (*op) {
	case KC_OP_PING:
		s = rest(&c);
		if (strlen(s) > KC_PAYLOAD_MAX)
			return bad(&c, "PING text longer than %s bytes", "1408");
		memcpy(payload, s, strlen(s));
		*len = strlen(s);
		return 0;
	case KC_OP_TIME:
		*len = 0;
		return no_more(&c, "TIME");
	case KC_OP_PUBLISH:
	case KC_OP_FETCH:
	case KC_OP_COMMIT:
	case KC_OP_OFFSET:
		return parse_queue_op(&c, *op, payload, len);
	default:
		return parse_ledger_op(&c, *op, list, payload, len);
	}
}

/* Output cursor over the reply line. */
struct kc_out {
	char *p;
	size_t len;
	size_t pos;
};

static __printf(2, 3) void out(struct kc_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	o->pos += vscnprintf(o->p + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
}

/*
 * A reason text, escaped as lib/proto escapes every value (kc_text_escape):
 * printable ASCII and spaces as they are, anything else as \xHH, so that a
 * reply stays one line.
 */
static void out_escaped(struct kc_out *o, const u8 *b, size_t n)
{
	o->pos += kc_text_escape(b, n, true, o->p + o->pos, o->len - o->pos);
}

static void out_id(struct kc_out *o, const u8 *msg_id)
{
	char id[2 * KC_MSG_ID_LEN + 1];

	if (msg_id) {
		kc_msg_id_format(msg_id, id);
		out(o, "REPLY:%s ", id);
	} else {
		out(o, "REPLY:- ");
	}
}

/*
 * The OK text of a REPLY's payload, through the op's descriptor in
 * lib/proto (the same fields and words as kcctl's); false if the payload
 * is malformed.
 */
static bool out_ok(struct kc_out *o, u8 op, const u8 *p, u32 len)
{
	struct kc_fields f;

	if (!kc_op_reply_fields(op, p, len, false, &f))
		return false;
	out(o, "OK");
	if (f.n > 0 && o->pos + 1 < o->len) {
		out(o, " ");
		o->pos += kc_fields_text(&f, 0, o->p + o->pos, o->len - o->pos);
	}
	return true;
}

/*
 * The reply line (newline included) of a request whose REPLY arrived
 * (r->reply, r->reply_len, already authenticated). Returns its length.
 */
unsigned int kc_cmd_format_reply(const struct kc_req *r, char *text,
				 size_t text_len)
{
	struct kc_out o = { .p = text, .len = text_len - 1 };
	u16 status = kc_get_u16(r->reply + KC_OFF_STATUS);
	const u8 *p = r->reply + KC_HDR_LEN;
	u32 len = r->reply_len - KC_HDR_LEN;

	out_id(&o, r->msg_id);
	if (status != KC_STATUS_OK) {
		kc_count(KC_STAT_replies_error);
		out(&o, "ERR %s ", kc_status_name(status));
		out_escaped(&o, p, min_t(u32, len, KC_ERROR_TEXT_MAX));
	} else if (out_ok(&o, r->op, p, len)) {
		kc_count(KC_STAT_replies_ok);
	} else {
		kc_count(KC_STAT_replies_bad);
		o.pos = 0;
		out_id(&o, r->msg_id);
		out(&o, "ERR BAD_REPLY malformed %s reply payload",
		    kc_op_name(r->op));
	}
	WARN_ON_ONCE(o.pos >= o.len);
	text[o.pos++] = '\n';
	return o.pos;
}

/*
 * An error line the gateway writes itself: CODE is one of the gateway's
 * (TIMEOUT, BAD_COMMAND, TOO_LONG, BUSY, SHUTDOWN, BAD_REPLY); msg_id is
 * NULL for a line that never became a request.
 */
unsigned int kc_cmd_format_error(const u8 *msg_id, const char *code,
				 const char *reason, char *text,
				 size_t text_len)
{
	struct kc_out o = { .p = text, .len = text_len - 1 };

	kc_count(KC_STAT_errors);
	out_id(&o, msg_id);
	out(&o, "ERR %s ", code);
	out_escaped(&o, (const u8 *)reason, strlen(reason));
	text[o.pos++] = '\n';
	return o.pos;
}
