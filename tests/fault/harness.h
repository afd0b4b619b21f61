/* SPDX-License-Identifier: MIT */
/*
 * What the NVMe-tier fault tests share: a real tierd started in a directory
 * of its own under /var/tmp (ext4, where O_DIRECT works), stopped by a signal
 * of the test's choosing, and blocks whose bytes are derived from their keys,
 * so any block that comes back can be checked without keeping a copy.
 *
 * Everything here aborts the running Check test on an unexpected failure;
 * the daemon dies with the test process (PR_SET_PDEATHSIG), and a failed
 * test leaves its directory behind for a look at the files.
 */
#ifndef TIER_FAULT_HARNESS_H
#define TIER_FAULT_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <check.h>

#include "tier.h"

/* Paths of the programs under test: argv[1] and argv[2] of every test binary. */
extern const char *h_tierd_path;
extern const char *h_tierctl_path;

/* Check's main for these binaries: reads the paths, runs suite, returns the exit code. */
int h_main(int argc, char **argv, Suite *suite);

/* tcase_add_test, unless $TIER_TEST_ONLY names another test (to run one alone). */
#define h_add_test(tc, tf)                                                          \
	do {                                                                        \
		const char *only_ = getenv("TIER_TEST_ONLY");                       \
		if (!only_ || !strcmp(only_, (tf)->name))                           \
			tcase_add_test(tc, tf);                                     \
	} while (0)

#define TD_MAX_OPTS 24

struct tierd {
	char dir[PATH_MAX - 64];
	char sock[PATH_MAX];
	char img[PATH_MAX];          /* nvme.path, unless td_no_nvme() */
	char log[PATH_MAX];          /* the daemon's stderr when log_to_file */
	char opts[TD_MAX_OPTS][128]; /* -o values beyond socket and path */
	int n_opts;
	char fault[128];             /* $TIERD_FAULT_INJECT; empty for none */
	bool no_nvme;
	bool log_to_file;
	pid_t pid;                   /* 0 when not running */
};

/* A fresh directory under /var/tmp for test name; defaults: host 16M, nvme 256M. */
void td_init(struct tierd *d, const char *name);
/* Add (or replace, matched on the key before '=') a -o option: td_opt(d, "nvme.size=64M"). */
void td_opt(struct tierd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Start the daemon and wait until a client can connect. */
void td_start(struct tierd *d);
/* Send sig and reap the daemon; its wait status. */
int td_stop(struct tierd *d, int sig);
/* A clean stop (SIGTERM) that must exit 0 (under ASan: leak-free too). */
void td_stop_clean(struct tierd *d);
/* Stop the daemon if it runs (SIGKILL) and remove the directory. */
void td_cleanup(struct tierd *d);
tier_client *td_connect(const struct tierd *d);

/* ---- blocks with bytes derived from their keys ---------------------- */

tier_key tk_key(uint64_t salt, uint64_t i);
void tk_fill(void *p, size_t len, tier_key k);
bool tk_check(const void *p, size_t len, tier_key k);
/* Allocate, fill and commit block k: 0 or the failing call's negative errno. */
int tk_put(tier_client *c, uint32_t ns, tier_key k, size_t bs);

/* What acquiring a set of keys gave. */
struct tk_tally {
	uint64_t ok;       /* acquired with the right bytes */
	uint64_t wrong;    /* acquired with wrong bytes: never allowed */
	uint64_t missing;  /* -ENOENT */
	uint64_t errors;   /* other negative errno */
	int last_error;
};

/* Acquire k, compare its bytes, release: the acquire's result; tallied into t. */
int tk_get(tier_client *c, uint32_t ns, tier_key k, size_t bs, struct tk_tally *t);
/* tk_put of keys [from, to) of salt; aborts the test on any failure. */
void tk_put_range(tier_client *c, uint32_t ns, uint64_t salt, uint64_t from, uint64_t to,
		  size_t bs);
/*
 * Start the daemon, connect, open namespace "kv" of bs-byte blocks and put
 * keys [0, n) of salt; the namespace's id in *ret_ns.
 */
tier_client *td_start_filled(struct tierd *d, uint32_t *ret_ns, uint64_t salt, uint64_t n,
			     size_t bs);
/* tk_get of keys [from, to) of salt into t. */
void tk_get_range(tier_client *c, uint32_t ns, uint64_t salt, uint64_t from, uint64_t to,
		  size_t bs, struct tk_tally *t);

/* ---- counters ------------------------------------------------------- */

void h_stats(tier_client *c, struct tier_stats *s);
/* The tier called name in s; aborts the test when there is none. */
const struct tier_tier_stats *h_tier(const struct tier_stats *s, const char *name);
/*
 * Wait until the daemon is idle: no NVMe I/O in flight and the NVMe
 * counters unchanged between two looks.  Bounded (aborts after a minute):
 * a hang is a failure, never a wait forever.
 */
void h_quiesce(tier_client *c, struct tier_stats *ret);

void h_msleep(unsigned ms);

#endif
