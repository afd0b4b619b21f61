/* SPDX-License-Identifier: MIT */
/* tierd's configuration: INI (libinih), one declarative table of keys. */
#ifndef TIERD_CONFIG_H
#define TIERD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsrule.h"

#define DEFAULT_SOCKET_PATH "/run/tierd/tierd.sock"
#define DEFAULT_HOST_BYTES (512ULL << 20)
#define MIN_HOST_BYTES (4ULL << 20)
#define DEFAULT_MAX_CLIENTS 1024
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 5000
#define DEFAULT_MAX_CLIENTS_PER_UID 256
#define DEFAULT_RESERVED_CLIENTS 8
#define DEFAULT_MAX_NAMESPACES 256
/* A uid's share: 8 tenants fill half the table; root and the daemon's user are not counted. */
#define DEFAULT_MAX_NAMESPACES_PER_UID 16
/* Per client: unfinished (allocated, not committed) blocks at once. */
#define DEFAULT_CLIENT_MAX_WRITING 16384
#define MAX_CLIENT_MAX_WRITING (1u << 24)

#define DEFAULT_NVME_QUEUE_DEPTH 32
#define DEFAULT_IO_TIMEOUT_MS 30000
#define DEFAULT_NVME_BYTES (4ULL << 30)
#define DEFAULT_JOURNAL_COMPACT_MIN (64ULL << 20)
#define MIN_NVME_BYTES_PER_PATH (4ULL << 20)
#define DEFAULT_HIGH_WATERMARK_PCT 90
#define DEFAULT_LOW_WATERMARK_PCT 80
#define NVME_PATHS_MAX 16

#define DEFAULT_GPU_DEVICE "none"
#define DEFAULT_GPU_BYTES (256ULL << 20)
#define MIN_GPU_BYTES (2ULL << 20)

#define DEFAULT_REMOTE_PREFIX "tierd:"
#define REMOTE_CLUSTER_MAX 512

/* remote.write: which blocks go to the cluster. */
enum remote_write_mode { REMOTE_WRITE_THROUGH, REMOTE_WRITE_OFF };

#define DEFAULT_SOCKET_GROUP "tier"
#define DEFAULT_METRICS_PORT 9464

enum hugepages_mode { HUGEPAGES_AUTO, HUGEPAGES_ON, HUGEPAGES_OFF };

struct tierd_config {
	char socket[108];
	int log_level;
	uint32_t max_clients;
	uint32_t handshake_timeout_ms; /* a connection without HELLO this long is dropped */
	uint32_t max_clients_per_uid;  /* connections of one uid (not root's, not ours); 0: any */
	uint32_t reserved_clients;     /* of max_clients, kept for root and the daemon's user */
	uint32_t max_namespaces;
	uint32_t max_namespaces_per_uid;
	uint64_t host_bytes;
	int numa_node;          /* -1: auto */
	enum hugepages_mode hugepages;
	char policy_evict[32];
	char policy_nvme_evict[32];
	char policy_admit[32];
	char policy_prefetch[32];
	/* [nvme]: no paths means no NVMe tier */
	char nvme_paths[NVME_PATHS_MAX][256];
	uint32_t nvme_n_paths;
	uint64_t nvme_bytes;      /* total, split evenly over the paths */
	uint32_t nvme_queue_depth;
	bool nvme_sqpoll;
	bool nvme_direct;
	uint32_t high_watermark;  /* percent of host.size: demotion starts above */
	uint32_t low_watermark;   /* ... and stops below */
	char nvme_journal[256];   /* default: the first path + ".journal" */
	uint64_t nvme_journal_compact_min; /* compact while running past this size; 0 = never */
	/* [gpu]: the device tier (T0) */
	char gpu_device[16];      /* auto, emu, none, or a CUDA device index */
	uint64_t gpu_bytes;       /* the pool */
	/* [remote]: the remote tier (T3) on a Redis Cluster; no cluster means none */
	char remote_cluster[REMOTE_CLUSTER_MAX]; /* seed nodes, HOST:PORT[,HOST:PORT...] */
	uint32_t remote_timeout_ms;   /* a cluster command not answered by then is a miss */
	uint32_t remote_backoff_ms;   /* a failing node is left alone this long (doubling) */
	uint64_t remote_inflight_bytes; /* command bytes in flight per connection */
	enum remote_write_mode remote_write;
	char remote_prefix[65];       /* before every key */
	char remote_user[64];         /* ACL user ("": AUTH with the password alone) */
	char remote_password[128];    /* "": no AUTH */
	/* ops: socket group and the metrics endpoint */
	char socket_group[32];    /* group of the socket; "" keeps the daemon's */
	char metrics_listen[64];  /* "ADDR:PORT" of the HTTP metrics endpoint; "" = none */
	bool metrics_allow_remote; /* allow a non-loopback metrics.listen */
	/* reliability */
	uint32_t pin_lease_ms;    /* pins of a client silent this long are released; 0 = never */
	uint32_t io_timeout_ms;   /* a request waiting on I/O this long fails with -ETIMEDOUT */
	/* a hostile client's reach (docs/SECURITY.md) */
	uint32_t client_max_writing; /* unfinished blocks per client */
	uint64_t client_max_pinned;  /* bytes a client pins or writes; 0: 3/4 of host.size */
	bool host_verify;            /* check committed blocks before serving and flushing them */
	struct ns_rules ns_rules; /* [ns.NAME] sections */
};

/* Write an error message into err (size errlen; err may be NULL). */
void config_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fill c with the embedded defaults ($RUNTIME_DIRECTORY/tierd.sock when set). */
void config_defaults(struct tierd_config *c);

/*
 * Parse an INI file into c (on top of what is there).  Errors are written,
 * one line naming the key, to err (size errlen).  0 or a negative errno.
 */
int config_load_file(struct tierd_config *c, const char *path, char *err, size_t errlen);

/* Parse INI text (for tests and embedded configs).  Same contract. */
int config_load_string(struct tierd_config *c, const char *text, char *err, size_t errlen);

/* Apply one "section.key=value" override (tierd -o). */
int config_set_override(struct tierd_config *c, const char *assignment, char *err, size_t errlen);

/* Set one key by name.  -ENOENT unknown key, -EINVAL bad value (err says why). */
int config_set(struct tierd_config *c, const char *section, const char *key, const char *value,
	       char *err, size_t errlen);

/*
 * Whether "key = value" can be a line of a config file that reads back to
 * the same value (libinih as Debian builds it): at most CONFIG_LINE_MAX
 * bytes, no blank at either end of the value, no ';' or '#' first or after
 * a blank (a comment), no control character.  0, or -EINVAL with why.
 */
#define CONFIG_LINE_MAX 198
int config_line_check(const char *key, const char *value, char *why, size_t whylen);

/* daemon.client_max_pinned in force: its value, or 3/4 of the shared arena for 0. */
uint64_t config_client_max_pinned(const struct tierd_config *c, uint64_t arena_bytes);

/* Cross-key checks and checks against the machine (sizes it cannot hold). */
int config_validate(const struct tierd_config *c, char *err, size_t errlen);

/* Parse "512M", "4G", "1048576" (K/M/G/T, binary multiples).  0 or -EINVAL/-ERANGE. */
int config_parse_size(const char *s, uint64_t *ret);

/* Write the config in force as INI text.  Returns bytes written (like snprintf). */
int config_format(const struct tierd_config *c, char *buf, size_t len);
/* The same, with every [ns.NAME] salt shown as "salt = (redacted)" when redact is set. */
int config_format_for(const struct tierd_config *c, bool redact, char *buf, size_t len);

/*
 * Every key whose value differs between a and b: fn gets its section, key,
 * both values as text, and whether a reload may change it while running
 * (the table's "live" column).  Returns the number of keys that differ.
 */
typedef void (*config_diff_fn)(void *arg, const char *section, const char *key,
			       const char *old_value, const char *new_value, bool live);
int config_diff(const struct tierd_config *a, const struct tierd_config *b, config_diff_fn fn,
		void *arg);

/* Whether section.key changes on reload: 1 live, 0 restart, -ENOENT no such key. */
int config_key_live(const char *section, const char *key);

/*
 * Parse metrics.listen: "ADDR:PORT" with an IPv4 address, "[IPv6]:PORT",
 * or "localhost:PORT".  ret_loopback (may be NULL) says whether ADDR is a
 * loopback address.  0 or -EINVAL.
 */
int config_parse_listen(const char *v, void *ret_sockaddr, unsigned *ret_len, bool *ret_loopback);

#endif
