/* SPDX-License-Identifier: MIT */
/*
 * When waiting on the shared-memory rings should spin and when it should
 * sleep at once (internal, not installed; libtier's client and the daemon
 * both use it).  See spin.c for the reasoning.
 */
#ifndef TIER_SPIN_H
#define TIER_SPIN_H

#include <stdbool.h>
#include <stdint.h>

/* How often the CPUs' occupancy is looked at, at most. */
#define SPIN_SAMPLE_NS 1000000ULL

struct spin_gate {
	int fd;           /* /proc/loadavg, or -1: never known busy, spin as before */
	uint32_t ncpu;    /* CPUs online; 0: never initialized */
	bool busy;        /* last look: more runnable tasks than CPUs */
	uint64_t next_ns; /* when to look again */
	uint64_t looks, busy_looks; /* samples taken, samples that said busy */
};

/*
 * Open what the gate reads; a gate that cannot read it, or a zeroed one
 * never initialized, always allows spinning.
 */
void spin_gate_init(struct spin_gate *g);
void spin_gate_deinit(struct spin_gate *g);
/*
 * Whether a wait should spin now: false while the machine has more runnable
 * tasks than CPUs, where a spinner takes the time slice its peer needs.
 * now_ns: CLOCK_MONOTONIC.  Looks at most every SPIN_SAMPLE_NS.
 */
bool spin_gate_open(struct spin_gate *g, uint64_t now_ns);
/* Pure: the runnable-task count in a /proc/loadavg line ("0.50 0.40 0.30 3/345 99"), or -1. */
int spin_parse_loadavg(const char *line);

#endif
