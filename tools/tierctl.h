/* SPDX-License-Identifier: MIT */
/* tierctl's verbs, shared helpers and exit codes (internal to tools/). */
#ifndef TIERCTL_H
#define TIERCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tier.h"

/* Exit codes: scripts rely on them. */
#define EXIT_OK 0
#define EXIT_DAEMON 1  /* the daemon answered with an error, or could not be reached */
#define EXIT_USAGE 2

#define MAX_NS 1024

/* -s SOCKET, or NULL ($TIER_SOCKET, else the default). */
extern const char *tierctl_socket;

/* tier_connect, with one line on stderr when it fails. */
int tierctl_connect(tier_client **c);
/* "tierctl: VERB: message" on stderr; returns EXIT_DAEMON. */
int tierctl_fail(const char *verb, int err);
/* Bold on a colour terminal (stdout a tty, $NO_COLOR unset, $TERM not dumb); "" otherwise. */
const char *tierctl_bold(void);
const char *tierctl_reset(void);
/*
 * s with every byte that is not printable UTF-8 (name.h: controls, C1,
 * malformed) and every backslash as \xHH, in one of four static buffers (so
 * up to four in one printf), truncated past about 1 KiB.
 */
const char *tierctl_esc(const char *s);
/* Text (the config) to f with the same escapes, newlines and tabs kept. */
void tierctl_fputs_text(const char *text, FILE *f);
/* "1.5 GiB" */
void tierctl_human_bytes(uint64_t b, char *buf, size_t len);
/* "host" -> TIER_HOST, "nvme" -> TIER_NVME, "gpu" -> TIER_GPU; -EINVAL otherwise. */
int tierctl_parse_tier(const char *name);
/* Sizes with K/M/G/T suffixes; -EINVAL. */
int tierctl_parse_size(const char *s, uint64_t *ret);

/* tierctl_admin.c */
int verb_tiers(int argc, char **argv);
int verb_namespaces(int argc, char **argv);
int verb_clients(int argc, char **argv);
int verb_config(int argc, char **argv);
int verb_policy(int argc, char **argv);
int verb_evict(int argc, char **argv);
int verb_drop(int argc, char **argv);
int verb_ns_delete(int argc, char **argv);

#endif
