/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every fuzz target shares (docs/reliability.md). A target defines
 * LLVMFuzzerTestOneInput and, when it needs set-up, LLVMFuzzerInitialize.
 * With -Dfuzz=true it links libFuzzer's main; otherwise kc_fuzz_main.c
 * replays files and corpus directories through it, so the unit build
 * checks every corpus input on every run.
 */
#ifndef KC_FUZZ_H
#define KC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the target checks broke: report it and crash, so libFuzzer
 * (or the replayer) keeps the input. */
#define KC_FUZZ_CHECK(cond, ...)                                            \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: check failed: %s: ",        \
				__FILE__, __LINE__, #cond);                 \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
			abort();                                            \
		}                                                           \
	} while (0)

/* Reading the input as a stream of small choices and byte runs. */
struct kc_fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t kc_fuzz_u8(struct kc_fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n > 0) {
		v = in->p[0];
		in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t kc_fuzz_u16(struct kc_fuzz_in *in)
{
	uint16_t hi = kc_fuzz_u8(in);

	return (uint16_t)(hi << 8 | kc_fuzz_u8(in));
}

/* Up to max bytes as an exactly sized heap copy (the sanitizer sees any
 * read past it); *len gets how many. Free with free(). */
static inline uint8_t *kc_fuzz_bytes(struct kc_fuzz_in *in, size_t max,
				     size_t *len)
{
	size_t n = max < in->n ? max : in->n;
	uint8_t *b = malloc(n > 0 ? n : 1);

	if (b == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		b[i] = in->p[i];
	in->p += n;
	in->n -= n;
	*len = n;
	return b;
}

#endif /* KC_FUZZ_H */
