/* SPDX-License-Identifier: MIT */
/*
 * Reliability campaigns (docs/RELIABILITY.md): long randomized runs against
 * the real daemon and real client processes.  One program, one verb per
 * campaign (chaos, crash, faults, soak); the CI form of each is a meson test
 * of suite 'campaign' with a short duration, the long form is the same verb
 * run by hand with a longer one.
 *
 * What every campaign shares: a daemon started in a directory of its own
 * under /var/tmp, client processes forked from the campaign whose counters
 * live in a shared anonymous mapping, blocks whose bytes are derived from
 * their keys (so any block read anywhere is checked without a copy), and a
 * client wrapper that reconnects when the daemon goes away.
 */
#ifndef TIER_CAMPAIGN_H
#define TIER_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "tier.h"

/* ---- options ------------------------------------------------------------ */

struct camp_opts {
	const char *tierd;      /* path of the daemon binary */
	double seconds;         /* duration (chaos, faults, soak) */
	unsigned rounds;        /* crash rounds */
	unsigned clients;       /* client processes */
	uint64_t seed;
	const char *faults;     /* TIERD_FAULT_INJECT for the faults campaign */
	double rss_growth_kib;  /* soak: allowed VmRSS growth after warm-up */
	bool verbose;
};

/* ---- the daemon ------------------------------------------------------------ */

struct camp_daemon {
	char dir[128];
	char sock[192];
	char img[192];
	char log[192];
	const char *tierd;
	const char *host_size;
	const char *nvme_size;  /* NULL: no NVMe tier */
	const char *faults;     /* TIERD_FAULT_INJECT, or NULL */
	const char *opt;        /* one more -o option, or NULL */
	pid_t pid;
};

/* A fresh directory /var/tmp/tierd-camp-NAME.XXXXXX for d. */
void cd_init(struct camp_daemon *d, const char *name, const char *tierd);
/* Start (or restart, same files) and wait until a client connects; 0 or -1. */
int cd_start(struct camp_daemon *d);
/* Send sig and reap: the wait status. */
int cd_stop(struct camp_daemon *d, int sig);
/* Remove the directory (after a successful run). */
void cd_cleanup(struct camp_daemon *d);
/* VmRSS in KiB and open descriptors of the daemon (from /proc); -1 on error. */
long cd_rss_kib(const struct camp_daemon *d);
int cd_fds(const struct camp_daemon *d);
/* Print the last lines of the daemon's log to stderr (after a failure). */
void cd_log_tail(const struct camp_daemon *d, int lines);

/* ---- clients that reconnect -------------------------------------------------- */

struct camp_client {
	const char *sock;
	const char *ns_name;
	size_t bs;
	tier_client *c;
	uint32_t ns;
	uint64_t reconnects;
};

/* Connect (retrying for up to timeout_ms) and open the namespace: 0 or -errno. */
int cc_connect(struct camp_client *cc, int timeout_ms);
/* After -ECONNRESET: close and connect again (counts a reconnect). */
int cc_reconnect(struct camp_client *cc, int timeout_ms);
void cc_close(struct camp_client *cc);

/* ---- blocks ------------------------------------------------------------------ */

/* Key i of a campaign's key space (the same in every process and after restarts). */
tier_key ck_key(uint64_t space, uint64_t i);
void ck_fill(void *p, size_t len, tier_key k);
bool ck_check(const void *p, size_t len, tier_key k);

/* ---- shared counters ------------------------------------------------------------- */

/* Counters of every client process together, in a MAP_SHARED mapping. */
struct camp_counters {
	uint64_t ops, sync_ops, ring_ops, batch_ops;
	uint64_t puts, gets, bytes_verified, wrong;
	uint64_t errors;           /* negative errnos other than the expected ones */
	uint64_t econnreset, reconnects;
	uint64_t flushes, flush_errors;
	uint64_t err_eio, err_enospc, err_enoent, err_other;
	int last_unexpected;
	/* crash campaign */
	uint64_t committed_upto;   /* writer: keys [0, this) all committed */
	uint64_t durable_upto;     /* writer: keys [0, this) covered by a flush that returned 0 */
	int stop;                  /* set by the campaign; read with __atomic_load_n */
};

struct camp_counters *camp_counters_new(void);
#define CADD(cnt, field, v) __atomic_add_fetch(&(cnt)->field, (v), __ATOMIC_RELAXED)

/* ---- processes and time ---------------------------------------------------------- */

/* Fork a client process running fn(arg, seed); it dies with the campaign. */
pid_t camp_fork(int (*fn)(void *arg, uint64_t seed), void *arg, uint64_t seed);
/* Wait for a client process (killed after 60 s): its wait status. */
int camp_wait(pid_t pid);
double camp_now(void);
void camp_msleep(unsigned ms);
uint64_t camp_rand(uint64_t *s);

/* ---- verbs ------------------------------------------------------------------------ */

int camp_chaos(const struct camp_opts *o);
int camp_crash(const struct camp_opts *o);
int camp_faults(const struct camp_opts *o);
int camp_soak(const struct camp_opts *o);
int camp_threads(const struct camp_opts *o);

#endif
