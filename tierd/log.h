/* SPDX-License-Identifier: MIT */
/* Logging to stderr with syslog-style "<N>" priority prefixes (journald reads them). */
#ifndef TIERD_LOG_H
#define TIERD_LOG_H

#include <syslog.h>

extern int log_max_level;

void log_set_level(int level);
/* Send log lines to syslog instead of stderr (a daemon that detached). */
void log_to_syslog(const char *ident);
/* Parse "err", "warning", "notice", "info", "debug" (or 0-7).  -EINVAL if unknown. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

void log_emit(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Rate limiting, per call site (per format string): at most burst lines in
 * each interval_ms, then one "suppressed N messages" line when that site
 * logs again after the interval.  Debug lines are never limited (asking
 * for them is asking for volume).  burst 0 turns limiting off.
 */
#define LOG_RATELIMIT_INTERVAL_MS 5000
#define LOG_RATELIMIT_BURST 20
void log_set_ratelimit(unsigned interval_ms, unsigned burst);
/* Lines held back by rate limiting since start. */
unsigned long long log_suppressed_total(void);

#define log_at(lvl, ...)                               \
	do {                                           \
		if ((lvl) <= log_max_level)            \
			log_emit((lvl), __VA_ARGS__);  \
	} while (0)
#define log_err(...) log_at(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_at(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_at(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

/* Log at level and return r (a negative errno), for `return log_errno(...)`. */
#define log_ret(r, lvl, ...) ({ log_at((lvl), __VA_ARGS__); (r); })

#endif
