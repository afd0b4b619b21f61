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
