/* SPDX-License-Identifier: MIT */
/*
 * The spin gate: spin only while every runnable task on the machine has a
 * CPU of its own.
 *
 * Both ends of a ring wait by spinning first (the daemon for new entries,
 * a client for its completion) because a futex or epoll wake-up on an idle
 * virtual machine costs tens of microseconds and a spin answers in one.
 * That holds only while the peer is on another CPU.  When there are more
 * runnable tasks than CPUs (engines computing on every core), a spinner
 * holds the CPU its peer is queued for, each side burns the other's time
 * slice, and an operation takes a scheduler tick instead of a microsecond.
 * So both sides ask the gate first: the kernel's count of runnable tasks
 * (the fourth field of /proc/loadavg, which counts the asker too) against
 * the CPUs online.  At or under it, the peer is running or will get a CPU
 * the moment it is woken; over it, sleep at once (futex, epoll) and let the
 * scheduler hand the CPU over, as the socket path does.
 *
 * The count is read with one pread of a descriptor kept open, at most every
 * SPIN_SAMPLE_NS, so it costs the spinning side well under 1% and the
 * sleeping side nothing.  A gate that cannot read it (no /proc) never
 * closes: the rings then behave as they did before the gate.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "spin.h"

int spin_parse_loadavg(const char *line)
{
	const char *p = line;
	char *end;
	long v;

	/* Three load averages, then "running/total". */
	for (int field = 0; field < 3; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
		if (!*p)
			return -1;
	}
	while (*p == ' ')
		p++;
	v = strtol(p, &end, 10);
	if (end == p || *end != '/' || v < 0 || v > 1000000)
		return -1;
	return (int)v;
}

void spin_gate_init(struct spin_gate *g)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	*g = (struct spin_gate){ .fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC),
				 .ncpu = n > 0 ? (uint32_t)n : 1 };
}

void spin_gate_deinit(struct spin_gate *g)
{
	if (g->ncpu && g->fd >= 0)
		close(g->fd);
	g->fd = -1;
}

bool spin_gate_open(struct spin_gate *g, uint64_t now_ns)
{
	char buf[128];
	ssize_t n;
	int running;

	/* ncpu 0: a zeroed gate never initialized (a unit test's server): spin as before. */
	if (!g->ncpu || g->fd < 0 || now_ns < g->next_ns)
		return !g->busy;
	g->next_ns = now_ns + SPIN_SAMPLE_NS;
	n = pread(g->fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return !g->busy;
	buf[n] = 0;
	running = spin_parse_loadavg(buf);
	if (running < 0)
		return !g->busy;
	g->busy = (uint32_t)running > g->ncpu;
	g->looks++;
	g->busy_looks += g->busy;
	return !g->busy;
}
