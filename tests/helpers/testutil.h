/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the Check tests: a deterministic random generator
 * (a failure replays with the same seed) and the runner every test binary
 * ends with.  Header-only so each test binary stays one file.
 */
#ifndef TIERD_TESTUTIL_H
#define TIERD_TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>

#include <check.h>

/* Exit code that tells meson a test was skipped (liburing's T_EXIT_SKIP). */
#define T_EXIT_SKIP 77

/*
 * Assertions for hot loops: Check's ck_assert records a location on every
 * success (a write to its pipe in fork mode), which makes loops of millions
 * of checks take seconds.  These cost nothing until they fail.
 */
#define t_check(expr)                                                                   \
	do {                                                                            \
		if (!(expr))                                                            \
			ck_abort_msg("%s:%d: '%s' failed", __FILE__, __LINE__, #expr);  \
	} while (0)
#define t_check_eq(a, b)                                                                \
	do {                                                                            \
		unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
		if (_a != _b)                                                           \
			ck_abort_msg("%s:%d: %s == %llu, %s == %llu", __FILE__, __LINE__, \
				     #a, _a, #b, _b);                                   \
	} while (0)

/* splitmix64: good enough for test data, and the same on every machine. */
static inline uint64_t t_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint64_t t_rand_below(uint64_t *state, uint64_t n)
{
	return n ? t_rand(state) % n : 0;
}

/*
 * Under -fsanitize=undefined, a finding fails the test instead of scrolling
 * by in its log (meson 1.0 sets no UBSAN_OPTIONS).  Unused otherwise.
 */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/* Run suite s and exit with meson's convention: 0 pass, 1 fail. */
static inline int t_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
