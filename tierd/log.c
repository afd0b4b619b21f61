/* SPDX-License-Identifier: MIT */
/*
 * One line per event on stderr, "<prio>message", the form journald and
 * systemd's stderr capture turn into priorities.  Unbuffered single write per
 * line so lines from a crash are never half lost.
 *
 * A fault (a failing device, a client in a loop) must not become a log storm:
 * each call site, known by its format string's address, may write a burst of
 * lines per interval; what it writes beyond that is counted and reported in
 * one line when it next logs after the interval.  The daemon logs from its
 * reactor thread only, so the table needs no lock.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int log_max_level = LOG_INFO;
static int use_syslog;

void log_to_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = 1;
}

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void log_set_level(int level)
{
	log_max_level = level;
}

int log_level_parse(const char *s)
{
	char *end;
	long v;

	for (int i = 0; i < 8; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "error") == 0)
		return LOG_ERR;
	if (strcmp(s, "warn") == 0)
		return LOG_WARNING;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 7)
		return -EINVAL;
	return (int)v;
}

const char *log_level_name(int level)
{
	return level >= 0 && level < 8 ? level_names[level] : "?";
}

#define RL_SLOTS 64

struct rl_site {
	const char *fmt;
	uint64_t start_ms;
	unsigned count;
	unsigned long long suppressed;
	int level;
};

static struct rl_site rl_sites[RL_SLOTS];
static unsigned rl_interval_ms = LOG_RATELIMIT_INTERVAL_MS, rl_burst = LOG_RATELIMIT_BURST;
static unsigned long long rl_total;

void log_set_ratelimit(unsigned interval_ms, unsigned burst)
{
	rl_interval_ms = interval_ms;
	rl_burst = burst;
	memset(rl_sites, 0, sizeof(rl_sites));
}

unsigned long long log_suppressed_total(void)
{
	return rl_total;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void emit_line(int level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (use_syslog) {
		vsyslog(level, fmt, ap);
		return;
	}
	n = snprintf(line, sizeof(line), "<%d>", level);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

static void emit_plain(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit_plain(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_line(level, fmt, ap);
	va_end(ap);
}

static void rl_report(struct rl_site *x)
{
	if (x->suppressed)
		emit_plain(x->level, "suppressed %llu messages like \"%.200s\"", x->suppressed,
			   x->fmt);
	x->suppressed = 0;
}

/* Whether a line from the site fmt may be written now. */
static bool rl_allow(int level, const char *fmt)
{
	uint64_t now;
	struct rl_site *x;

	if (!rl_burst || level >= LOG_DEBUG)
		return true;
	now = mono_ms();
	x = &rl_sites[((uintptr_t)fmt >> 3) % RL_SLOTS];
	if (x->fmt != fmt) {
		/* Another site had the slot: report what it held back, take the slot. */
		if (x->fmt)
			rl_report(x);
		*x = (struct rl_site){ .fmt = fmt, .start_ms = now, .level = level };
	}
	if (now - x->start_ms >= rl_interval_ms) {
		rl_report(x);
		x->start_ms = now;
		x->count = 0;
	}
	if (x->count < rl_burst) {
		x->count++;
		return true;
	}
	x->suppressed++;
	rl_total++;
	return false;
}

void log_emit(int level, const char *fmt, ...)
{
	va_list ap;

	if (!rl_allow(level, fmt))
		return;
	va_start(ap, fmt);
	emit_line(level, fmt, ap);
	va_end(ap);
}
