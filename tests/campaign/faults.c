/* SPDX-License-Identifier: MIT */
/*
 * Disk faults: the mixed workload over a key space four times the host tier,
 * so blocks are demoted to NVMe and promoted back all the time, while the
 * daemon's fault seam (TIERD_FAULT_INJECT) fails about 1% of block reads and
 * writes each way: EIO, short transfers, bit flips in what is read, a full
 * device.  What must hold: no wrong byte is ever read; the daemon stays up
 * and stops cleanly; the faults show up in its counters (io_errors,
 * checksum_failures) and as negative errnos to the clients (flush -EIO, a
 * block that failed verification becomes a miss).  At shutdown the daemon
 * logs how many faults it injected and how many were bit flips: every failed
 * I/O must be an I/O error, every flip at most one checksum failure.  Odd
 * clients work in "vault", a namespace with a private arena: its blocks go
 * to and come from NVMe through the arena's own registered buffers.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mixed.h"

#define FAULTS_BS (64 * 1024)
#define FAULTS_KEYS 1024 /* 64 MiB through a 16 MiB host tier */
#define MAX_CLIENTS 32

static const char default_faults[] =
	"read:eio:p0.01,read:short:p0.01,read:flip:p0.01,"
	"write:eio:p0.01,write:short:p0.01,write:enospc:p0.01";

/*
 * The daemon's shutdown line: faults injected, of which bit flips, I/O errors
 * and checksum failures.  0, or -1 when the line is not there.
 */
static int injected(const struct camp_daemon *d, long long v[4])
{
	char line[512];
	int r = -1;
	FILE *f = fopen(d->log, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "fault injection: ");

		if (p && sscanf(p, "fault injection: %lld faults injected (%lld bit flips), "
				"%lld I/O errors, %lld checksum failures",
				&v[0], &v[1], &v[2], &v[3]) == 4) {
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

int camp_faults(const struct camp_opts *o)
{
	struct camp_counters *cnt = camp_counters_new();
	struct camp_daemon d;
	struct mixed_cfg cfg, vcfg;
	struct tier_stats s;
	pid_t pids[MAX_CLIENTS];
	unsigned n = o->clients ? o->clients : 4, bad_exits = 0;
	uint64_t seeds = o->seed * 7919u, present = 0, wrong = 0;
	long long v[4] = { -1, -1, -1, -1 };
	int failed = 0, st;
	double t0;
	tier_client *c;
	uint32_t ns, vns;
	uint64_t vault_promotions = 0, vault_demotions = 0;

	if (n > MAX_CLIENTS)
		n = MAX_CLIENTS;
	cd_init(&d, "faults", o->tierd);
	d.host_size = "16M";
	d.nvme_size = "256M";
	d.faults = o->faults ? o->faults : default_faults;
	/* 4 MiB: the vault's key space is 16 times its arena, so it goes through NVMe too. */
	d.opt = "ns.vault.arena=4M";
	if (cd_start(&d) < 0)
		return 1;
	if (tier_connect(d.sock, &c) < 0 || tier_namespace(c, "faults", FAULTS_BS, &ns) < 0 ||
	    tier_namespace(c, "vault", FAULTS_BS, &vns) < 0)
		return 1;
	t0 = camp_now();
	cfg = (struct mixed_cfg){ .cnt = cnt, .sock = d.sock, .ns_name = "faults",
				  .bs = FAULTS_BS, .space = 13, .n_keys = FAULTS_KEYS,
				  .nvme = true, .allow_eio = true, .socket_some = true,
				  .until = t0 + o->seconds, .max_held = 4 };
	vcfg = cfg;
	vcfg.ns_name = "vault";
	vcfg.space = 14;
	for (unsigned i = 0; i < n; i++)
		pids[i] = camp_fork(mixed_worker, i % 2 ? &vcfg : &cfg, ++seeds);
	while (camp_now() < t0 + o->seconds)
		camp_msleep(100);
	for (unsigned i = 0; i < n; i++) {
		st = camp_wait(pids[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad_exits++;
	}
	if (kill(d.pid, 0) < 0) {
		fprintf(stderr, "faults: the daemon died\n");
		failed = 1;
	}
	/* Everything that is there now reads back right (promotions under faults too). */
	for (uint64_t i = 0; i < 2 * FAULTS_KEYS; i++) {
		bool vault = i >= FAULTS_KEYS;
		tier_key k = ck_key(vault ? 14 : 13, i % FAULTS_KEYS);
		tier_handle h;

		if (tier_acquire(c, vault ? vns : ns, k, &h) < 0)
			continue;
		present++;
		wrong += !ck_check(tier_data(c, h), FAULTS_BS, k);
		tier_release(c, h);
	}
	s.size = sizeof(s);
	if (tier_stats_get(c, &s, NULL, 0) < 0 || s.n_tiers < 2) {
		fprintf(stderr, "faults: no stats\n");
		return 1;
	}
	{
		struct tier_ns_info info[8];
		int k = tier_admin_namespaces(c, info, 8);

		for (int i = 0; i < k; i++)
			if (strcmp(info[i].name, "vault") == 0) {
				vault_promotions = info[i].promotions;
				vault_demotions = info[i].demotions;
			}
	}
	tier_close(c);
	st = cd_stop(&d, SIGTERM);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "faults: tierd exit status 0x%x\n", st);
		failed = 1;
	}
	if (injected(&d, v) < 0) {
		fprintf(stderr, "faults: no fault-injection line in the daemon's log\n");
		failed = 1;
	}
	if (wrong || cnt->wrong || cnt->errors || bad_exits)
		failed = 1;
	if (v[0] <= 0 || s.tiers[1].io_errors == 0 || s.tiers[1].checksum_failures == 0 ||
	    cnt->err_eio == 0)
		failed = 1;
	/* The private arena's blocks went through NVMe too. */
	if (vault_promotions == 0 || vault_demotions == 0)
		failed = 1;
	/*
	 * Every fault that fails an I/O (EIO, short, ENOSPC) is an I/O error, and
	 * a flipped read is a checksum failure unless its block was dropped while
	 * it was read (then nothing verifies it, nothing serves it: wrong stays 0).
	 */
	if (v[2] != v[0] - v[1] || v[3] > v[1]) {
		fprintf(stderr, "faults: %lld injected (%lld flips), but %lld I/O errors and %lld "
			"checksum failures counted\n", v[0], v[1], v[2], v[3]);
		failed = 1;
	}
	printf("faults: %.0f s, %u clients, spec %s; %llu ops (%llu ring entries, %llu batches), "
	       "%llu puts, %llu blocks read (%llu MiB verified), wrong %llu; "
	       "NVMe promotions %llu demotions %llu (vault, private arena: %llu, %llu); "
	       "faults injected %lld (%lld flips), counted "
	       "io_errors %lld, checksum_failures %lld (stats before shutdown: %llu, %llu); "
	       "clients saw -EIO "
	       "%llu, -ENOENT %llu, -ENOSPC %llu, flush errors %llu of %llu; unexpected errors "
	       "%llu (last %d); %llu blocks present at the end: %s\n",
	       camp_now() - t0, n, d.faults, (unsigned long long)cnt->ops,
	       (unsigned long long)cnt->ring_ops, (unsigned long long)cnt->batch_ops,
	       (unsigned long long)cnt->puts, (unsigned long long)cnt->gets,
	       (unsigned long long)(cnt->bytes_verified >> 20),
	       (unsigned long long)(wrong + cnt->wrong),
	       (unsigned long long)s.tiers[1].promotions, (unsigned long long)s.tiers[1].demotions,
	       (unsigned long long)vault_promotions, (unsigned long long)vault_demotions,
	       v[0], v[1], v[2], v[3], (unsigned long long)s.tiers[1].io_errors,
	       (unsigned long long)s.tiers[1].checksum_failures, (unsigned long long)cnt->err_eio,
	       (unsigned long long)cnt->err_enoent, (unsigned long long)cnt->err_enospc,
	       (unsigned long long)cnt->flush_errors, (unsigned long long)cnt->flushes,
	       (unsigned long long)cnt->errors, cnt->last_unexpected,
	       (unsigned long long)present, failed ? "FAILED" : "ok");
	if (failed)
		cd_log_tail(&d, 30);
	else
		cd_cleanup(&d);
	return failed;
}
