/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory that runs out at start-up: every malloc and calloc of the config
 * loader and the keys file parser fails in turn (-Wl,--wrap), the first,
 * then the second, and so on until a run needs no more. Each run must
 * refuse with a message that says so, or succeed; never crash or return a
 * half-made result.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kc_auth.h"
#include "kc_config.h"

/* -1: allocations succeed; n >= 0: the allocation after n more fails. */
static int fail_in = -1;
static int failed;

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static int fail_now(void)
{
	if (fail_in < 0)
		return 0;
	if (fail_in-- > 0)
		return 0;
	failed++;
	return 1;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

static void test_config_out_of_memory(void **state)
{
	static struct kc_config cfg;
	char path[512], err[512];
	int runs = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/config/default.yaml", KC_SOURCE_DIR);
	for (int n = 0;; n++) {
		int rc;

		failed = 0;
		fail_in = n;
		err[0] = '\0';
		rc = kc_config_load(path, &cfg, err, sizeof(err));
		fail_in = -1;
		runs++;
		if (failed == 0) {
			/* Nothing failed: the load as it should be. */
			assert_int_equal(rc, 0);
			break;
		}
		assert_int_not_equal(rc, 0);
		assert_non_null(strstr(err, "memory"));
	}
	assert_true(runs > 1); /* it allocates, and each failure was met */
}

static void test_keys_out_of_memory(void **state)
{
	char path[512], err[512];
	int runs = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/config/dev.keys", KC_SOURCE_DIR);
	for (int n = 0;; n++) {
		struct kc_keyring *kr;

		failed = 0;
		fail_in = n;
		err[0] = '\0';
		kr = kc_keyring_load(path, err, sizeof(err));
		fail_in = -1;
		runs++;
		if (failed == 0) {
			assert_non_null(kr);
			assert_non_null(kc_keyring_find(kr, 1));
			kc_keyring_free(kr);
			break;
		}
		assert_null(kr);
		assert_true(strstr(err, "memory") != NULL ||
			    strstr(err, "Cannot allocate") != NULL);
	}
	assert_true(runs > 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_out_of_memory),
		cmocka_unit_test(test_keys_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
