/* SPDX-License-Identifier: MIT */
/*
 * Integration-test helpers: start the real tierd in a fresh temporary
 * directory, fork real client processes, run tierctl, and block patterns
 * derived from keys.
 *
 * Every process started here gets PR_SET_PDEATHSIG, and an atexit handler in
 * the test process kills a daemon still running and removes its directory,
 * so a failed assertion (Check exits the forked test) or a timeout (Check
 * kills it) leaves nothing behind.  A daemon that was not stopped by the test
 * itself has the tail of its log printed, which is what one reads when a test
 * fails.
 *
 * The paths of the binaries come from the environment (TIERD, TIERCTL, set by
 * meson); without them the test is skipped (exit 77).
 */
#ifndef TIERD_TEST_DAEMON_H
#define TIERD_TEST_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tier.h"

struct tdaemon {
	pid_t pid;
	char dir[64];
	char sock[128];
	char log[128];
};

/* The tierd / tierctl binaries to test; exits 77 when not configured. */
const char *t_tierd_path(void);
const char *t_tierctl_path(void);

/*
 * Start tierd -f with its socket in a new temporary directory, host.size
 * host_size, and the extra "-o" assignments given (NULL-terminated), and wait
 * until it accepts connections.  Fails the test if it does not come up.
 */
void tdaemon_start(struct tdaemon *d, const char *host_size, ...) __attribute__((sentinel));
/* SIGTERM, wait (fails the test after 10 s); returns the wait status. */
int tdaemon_stop(struct tdaemon *d);
/* SIGKILL and reap; the directory stays until tdaemon_cleanup or exit. */
void tdaemon_kill(struct tdaemon *d);
/* Wait at most timeout_ms for the daemon to exit: its wait status, or -1. */
int tdaemon_wait(struct tdaemon *d, int timeout_ms);
/* Remove the temporary directory. */
void tdaemon_cleanup(struct tdaemon *d);
/* Whether the daemon process is still alive. */
bool tdaemon_alive(const struct tdaemon *d);
/* Open file descriptors of the daemon process (from /proc). */
int tdaemon_fd_count(const struct tdaemon *d);

/* tier_connect to d, failing the test on error. */
tier_client *t_connect(const struct tdaemon *d);
/* tier_stats_get into *out with up to max_ns namespaces, failing the test on error. */
void t_stats(tier_client *c, struct tier_stats *out, struct tier_ns_stats *ns, size_t max_ns);

/*
 * Fork a client process that runs fn(arg) and exits with its return value
 * (0 = success).  Inside it, use T_CHILD_CHECK, not ck_assert.
 */
pid_t t_fork(int (*fn)(void *arg), void *arg);
/* Wait for a child at most timeout_ms; returns its wait status (killed on timeout). */
int t_wait(pid_t pid, int timeout_ms);
/* Fork-and-wait: fails the test unless fn exits 0. */
void t_run_child(int (*fn)(void *arg), void *arg, int timeout_ms);

#define T_CHILD_CHECK(expr)                                                               \
	do {                                                                              \
		if (!(expr)) {                                                            \
			fprintf(stderr, "child %d: %s:%d: '%s' failed\n", (int)getpid(),  \
				__FILE__, __LINE__, #expr);                               \
			return 1;                                                         \
		}                                                                         \
	} while (0)

/*
 * Run argv (argv[0] a path) with stdout and stderr captured (NUL-terminated,
 * truncated to their sizes); returns the wait status, or -1 on timeout
 * (the process is killed).
 */
int t_exec(char *const argv[], char *out, size_t outlen, char *err, size_t errlen,
	   int timeout_ms);

/* Block contents derived from key (and nothing else), and their check. */
void t_fill(void *p, size_t len, tier_key key);
bool t_verify(const void *p, size_t len, tier_key key);

/* The key of block i of test chain "seed": tier_key_next over (seed, i). */
tier_key t_key(uint32_t seed, uint32_t i);

/* Remove an NVMe image a test made and its journal (path + ".journal"). */
void t_unlink_nvme(const char *path);

/* Sleep ms milliseconds. */
void t_msleep(int ms);

#endif
