/* SPDX-License-Identifier: MIT */
/*
 * Configuration.  Every key lives in one table (section, key, parser, target
 * field, default in config_defaults), in the manner of systemd's
 * ConfigTableItem: the file parser, -o overrides and `config_format` all walk
 * the same table, so a key cannot be half-supported.  Parsing is done by
 * libinih; this file only gives the values meaning and bounds.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ini.h>

#include "../policies/policy.h"
#include "config.h"
#include "log.h"
#include "remote.h"

typedef int (*parse_fn)(const char *v, void *field, char *err, size_t errlen);
typedef int (*format_fn)(const void *field, char *buf, size_t len);

struct config_item {
	const char *section;
	const char *key;
	parse_fn parse;
	format_fn format;
	size_t offset;
	const char *help;
	bool live;              /* a reload (SIGHUP) changes it while running */
};

/* Keys shown as "(redacted)" where salts are, and never in reload logs. */
static bool item_secret(const struct config_item *it)
{
	return !strcmp(it->section, "remote") && !strcmp(it->key, "password");
}

/* The table's "live" column. */
#define LIVE true
#define RESTART false

void config_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- parsers ------------------------------------------------------- */

static int parse_socket(const char *v, void *f, char *err, size_t errlen)
{
	if (!*v || strlen(v) >= sizeof(((struct tierd_config *)0)->socket)) {
		config_errf(err, errlen, "must be a path of 1 to 107 bytes");
		return -EINVAL;
	}
	strcpy(f, v);
	return 0;
}

static int fmt_string(const void *f, char *buf, size_t len)
{
	return snprintf(buf, len, "%s", (const char *)f);
}

static int parse_log_level(const char *v, void *f, char *err, size_t errlen)
{
	int l = log_level_parse(v);

	if (l < 0) {
		config_errf(err, errlen, "'%s' is not a log level (err, warning, notice, info, debug)", v);
		return -EINVAL;
	}
	*(int *)f = l;
	return 0;
}

static int fmt_log_level(const void *f, char *buf, size_t len)
{
	return snprintf(buf, len, "%s", log_level_name(*(const int *)f));
}

static int parse_u32_range(const char *v, uint32_t *f, uint32_t lo, uint32_t hi, char *err,
			   size_t errlen)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || !isdigit((unsigned char)*v) || n < lo || n > hi) {
		config_errf(err, errlen, "'%s' is not a number from %u to %u", v, lo, hi);
		return -EINVAL;
	}
	*f = (uint32_t)n;
	return 0;
}

static int parse_max_clients(const char *v, void *f, char *err, size_t errlen)
{
	return parse_u32_range(v, f, 1, 65536, err, errlen);
}

static int parse_handshake_timeout(const char *v, void *f, char *err, size_t errlen)
{
	return parse_u32_range(v, f, 10, 600000, err, errlen);
}

static int parse_max_clients_per_uid(const char *v, void *f, char *err, size_t errlen)
{
	return parse_u32_range(v, f, 0, 65536, err, errlen);
}

static int parse_reserved_clients(const char *v, void *f, char *err, size_t errlen)
{
	return parse_u32_range(v, f, 0, 1024, err, errlen);
}

static int parse_ms(const char *v, void *f, char *err, size_t errlen)
{
	return parse_u32_range(v, f, 0, 86400000, err, errlen);
}

static int parse_client_max_writing(const char *v, void *f, char *err, size_t errlen)
{
	return parse_u32_range(v, f, 1, MAX_CLIENT_MAX_WRITING, err, errlen);
}

static int parse_max_namespaces(const char *v, void *f, char *err, size_t errlen)
{
	return parse_u32_range(v, f, 1, 4096, err, errlen);
}

static int fmt_u32(const void *f, char *buf, size_t len)
{
	return snprintf(buf, len, "%" PRIu32, *(const uint32_t *)f);
}

static int parse_size_field(const char *v, void *f, char *err, size_t errlen)
{
	int r = config_parse_size(v, f);

	if (r < 0)
		config_errf(err, errlen, "'%s' is not a size (a number with an optional K, M, G or T suffix)",
		     v);
	return r;
}

static int parse_gpu_size(const char *v, void *f, char *err, size_t errlen)
{
	uint64_t n;
	int r = parse_size_field(v, &n, err, errlen);

	if (r < 0)
		return r;
	if (n < MIN_GPU_BYTES) {
		config_errf(err, errlen, "%" PRIu64 " bytes is below the minimum of %llu MiB", n,
		     MIN_GPU_BYTES >> 20);
		return -EINVAL;
	}
	*(uint64_t *)f = n;
	return 0;
}

static int fmt_size(const void *f, char *buf, size_t len)
{
	uint64_t v = *(const uint64_t *)f;
	static const char sfx[] = "KMGT";
	int i = -1;

	while (v && (v & 1023) == 0 && i < 3) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		return snprintf(buf, len, "%" PRIu64, v);
	return snprintf(buf, len, "%" PRIu64 "%c", v, sfx[i]);
}

static int parse_numa_node(const char *v, void *f, char *err, size_t errlen)
{
	uint32_t n;

	if (strcmp(v, "auto") == 0) {
		*(int *)f = -1;
		return 0;
	}
	if (parse_u32_range(v, &n, 0, 1023, NULL, 0) < 0) {
		config_errf(err, errlen, "'%s' is neither 'auto' nor a NUMA node number", v);
		return -EINVAL;
	}
	*(int *)f = (int)n;
	return 0;
}

static int fmt_numa_node(const void *f, char *buf, size_t len)
{
	int n = *(const int *)f;

	return n < 0 ? snprintf(buf, len, "auto") : snprintf(buf, len, "%d", n);
}

static const char *const hugepages_names[] = { "auto", "on", "off" };

static int parse_hugepages(const char *v, void *f, char *err, size_t errlen)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(v, hugepages_names[i]) == 0) {
			*(enum hugepages_mode *)f = (enum hugepages_mode)i;
			return 0;
		}
	config_errf(err, errlen, "'%s' is not one of auto, on, off", v);
	return -EINVAL;
}

static int fmt_hugepages(const void *f, char *buf, size_t len)
{
	return snprintf(buf, len, "%s", hugepages_names[*(const enum hugepages_mode *)f]);
}

static int parse_policy_evict(const char *v, void *f, char *err, size_t errlen)
{
	size_t n;
	const struct tier_evict_ops *const *l;
	int off;

	if (!tier_evict_find(v)) {
		char names[256] = "";

		l = tier_evict_list(&n);
		off = 0;
		for (size_t i = 0; i < n && off < (int)sizeof(names); i++)
			off += snprintf(names + off, sizeof(names) - (size_t)off, "%s%s",
					i ? ", " : "", l[i]->name);
		config_errf(err, errlen, "unknown eviction policy '%s' (known: %s)", v, names);
		return -EINVAL;
	}
	snprintf(f, sizeof(((struct tierd_config *)0)->policy_evict), "%s", v);
	return 0;
}

static int parse_admit(const char *v, void *f, char *err, size_t errlen)
{
	if (!tier_admit_find(v)) {
		config_errf(err, errlen, "unknown admission policy '%s'", v);
		return -EINVAL;
	}
	snprintf(f, 32, "%s", v);
	return 0;
}

static int parse_prefetch(const char *v, void *f, char *err, size_t errlen)
{
	if (!tier_prefetch_find(v)) {
		config_errf(err, errlen, "unknown prefetch policy '%s'", v);
		return -EINVAL;
	}
	snprintf(f, 32, "%s", v);
	return 0;
}

/* nvme.path: one path, or several separated by commas (striped). */
static int parse_nvme_paths(const char *v, void *f, char *err, size_t errlen)
{
	struct tierd_config *c = (struct tierd_config *)((char *)f - offsetof(struct tierd_config,
										      nvme_paths));
	const char *p = v;
	uint32_t n = 0;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0 || len >= sizeof(c->nvme_paths[0]) || n == NVME_PATHS_MAX) {
			config_errf(err, errlen, "'%s': expected up to %d comma-separated paths", v,
			     NVME_PATHS_MAX);
			return -EINVAL;
		}
		memcpy(c->nvme_paths[n], p, len);
		c->nvme_paths[n][len] = 0;
		n++;
		p += len;
		while (*p && *p != ',')
			p++;
		if (*p == ',')
			p++;
	}
	c->nvme_n_paths = n;
	return 0;
}

static int fmt_nvme_paths(const void *f, char *buf, size_t len)
{
	const struct tierd_config *c =
		(const struct tierd_config *)((const char *)f -
					      offsetof(struct tierd_config, nvme_paths));
	size_t off = 0;

	buf[0] = 0;
	for (uint32_t i = 0; i < c->nvme_n_paths && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "",
					c->nvme_paths[i]);
	return (int)off;
}

static int parse_bool(const char *v, void *f, char *err, size_t errlen)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1")) {
		*(bool *)f = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0")) {
		*(bool *)f = false;
		return 0;
	}
	config_errf(err, errlen, "'%s' is not on or off", v);
	return -EINVAL;
}

static int fmt_bool(const void *f, char *buf, size_t len)
{
	return snprintf(buf, len, "%s", *(const bool *)f ? "on" : "off");
}

static int parse_queue_depth(const char *v, void *f, char *err, size_t errlen)
{
	return parse_u32_range(v, f, 1, 4096, err, errlen);
}

static int parse_percent(const char *v, void *f, char *err, size_t errlen)
{
	char buf[32];

	/* "90" or "90%" */
	snprintf(buf, sizeof(buf), "%s", v);
	if (*buf && buf[strlen(buf) - 1] == '%')
		buf[strlen(buf) - 1] = 0;
	return parse_u32_range(buf, f, 1, 100, err, errlen);
}

/* A string into a char field of size bytes: longer ones are refused, never cut. */
static int copy_bounded(const char *v, void *f, size_t size, char *err, size_t errlen)
{
	if (strlen(v) >= size) {
		config_errf(err, errlen, "too long (at most %zu bytes)", size - 1);
		return -EINVAL;
	}
	memcpy(f, v, strlen(v) + 1);
	return 0;
}

static int parse_path(const char *v, void *f, char *err, size_t errlen)
{
	return copy_bounded(v, f, 256, err, errlen);
}

static int parse_group(const char *v, void *f, char *err, size_t errlen)
{
	/* A name, checked against the group database when the socket is made. */
	if (strlen(v) >= sizeof(((struct tierd_config *)0)->socket_group) || strchr(v, ':') ||
	    strchr(v, '/')) {
		config_errf(err, errlen, "'%s' is not a group name", v);
		return -EINVAL;
	}
	strcpy(f, v);
	return 0;
}

int config_parse_listen(const char *v, void *ret_sockaddr, unsigned *ret_len, bool *ret_loopback)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	char host[64];
	const char *colon = strrchr(v, ':');
	size_t hlen;
	uint32_t port;
	bool loop;

	if (!colon || colon == v || parse_u32_range(colon + 1, &port, 1, 65535, NULL, 0) < 0)
		return -EINVAL;
	hlen = (size_t)(colon - v);
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, v, hlen);
	host[hlen] = 0;
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		host[hlen - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &sin6.sin6_addr) != 1)
			return -EINVAL;
		sin6.sin6_port = htons((uint16_t)port);
		loop = IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr);
		if (ret_sockaddr)
			memcpy(ret_sockaddr, &sin6, sizeof(sin6));
		if (ret_len)
			*ret_len = sizeof(sin6);
	} else {
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return -EINVAL;
		sin.sin_port = htons((uint16_t)port);
		loop = (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
		if (ret_sockaddr)
			memcpy(ret_sockaddr, &sin, sizeof(sin));
		if (ret_len)
			*ret_len = sizeof(sin);
	}
	if (ret_loopback)
		*ret_loopback = loop;
	return 0;
}

static int parse_listen(const char *v, void *f, char *err, size_t errlen)
{
	if (*v && (strlen(v) >= sizeof(((struct tierd_config *)0)->metrics_listen) ||
		   config_parse_listen(v, NULL, NULL, NULL) < 0)) {
		config_errf(err, errlen, "'%s' is not ADDR:PORT (e.g. 127.0.0.1:%d or [::1]:%d)", v,
		     DEFAULT_METRICS_PORT, DEFAULT_METRICS_PORT);
		return -EINVAL;
	}
	strcpy(f, v);
	return 0;
}

/* gpu.device: auto (the GPU when one opens, else none), emu, none, or an index. */
static int parse_gpu_device(const char *v, void *f, char *err, size_t errlen)
{
	uint32_t n;

	if (strcmp(v, "auto") && strcmp(v, "emu") && strcmp(v, "none") &&
	    parse_u32_range(v, &n, 0, 1023, NULL, 0) < 0) {
		config_errf(err, errlen, "'%s' is not one of auto, emu, none or a device index", v);
		return -EINVAL;
	}
	snprintf(f, sizeof(((struct tierd_config *)0)->gpu_device), "%s", v);
	return 0;
}

static int parse_remote_cluster(const char *v, void *f, char *err, size_t errlen)
{
	struct remote_addr a[REMOTE_NODES_MAX];
	int n;

	if (!*v) {
		*(char *)f = 0;
		return 0;
	}
	n = strlen(v) < REMOTE_CLUSTER_MAX ? remote_seeds_parse(v, a, REMOTE_NODES_MAX) : -EINVAL;
	if (n < 0) {
		config_errf(err, errlen, "'%s' is not a list of HOST:PORT seed nodes", v);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		uint8_t buf[16];

		if (inet_pton(AF_INET, a[i].host, buf) != 1 && inet_pton(AF_INET6, a[i].host, buf) != 1) {
			config_errf(err, errlen, "'%s' is not a numeric address (tierd resolves no "
				    "names on its event loop)", a[i].host);
			return -EINVAL;
		}
	}
	snprintf(f, REMOTE_CLUSTER_MAX, "%s", v);
	return 0;
}

static int parse_remote_timeout(const char *v, void *f, char *err, size_t errlen)
{
	return parse_u32_range(v, f, 1, 60000, err, errlen);
}

static int parse_remote_inflight(const char *v, void *f, char *err, size_t errlen)
{
	uint64_t n;
	int r = parse_size_field(v, &n, err, errlen);

	if (r < 0)
		return r;
	if (n < (64u << 10) || n > (1ULL << 30)) {
		config_errf(err, errlen, "%" PRIu64 " bytes: between 64K and 1G", n);
		return -EINVAL;
	}
	*(uint64_t *)f = n;
	return 0;
}

static int parse_remote_write(const char *v, void *f, char *err, size_t errlen)
{
	if (!strcmp(v, "through"))
		*(enum remote_write_mode *)f = REMOTE_WRITE_THROUGH;
	else if (!strcmp(v, "off"))
		*(enum remote_write_mode *)f = REMOTE_WRITE_OFF;
	else {
		config_errf(err, errlen, "'%s' is not a write policy (through, off)", v);
		return -EINVAL;
	}
	return 0;
}

static int fmt_remote_write(const void *f, char *buf, size_t len)
{
	return snprintf(buf, len, "%s",
			*(const enum remote_write_mode *)f == REMOTE_WRITE_OFF ? "off" : "through");
}

static int parse_remote_prefix(const char *v, void *f, char *err, size_t errlen)
{
	if (!remote_prefix_valid(v)) {
		config_errf(err, errlen, "'%s': at most %d printable characters, no blank and no "
			    "braces (a hash tag would put every block on one node)", v,
			    REMOTE_PREFIX_MAX);
		return -EINVAL;
	}
	snprintf(f, REMOTE_PREFIX_MAX + 1, "%s", v);
	return 0;
}

static int parse_remote_user(const char *v, void *f, char *err, size_t errlen)
{
	return copy_bounded(v, f, sizeof(((struct tierd_config *)0)->remote_user), err, errlen);
}

static int parse_remote_password(const char *v, void *f, char *err, size_t errlen)
{
	return copy_bounded(v, f, sizeof(((struct tierd_config *)0)->remote_password), err,
			    errlen);
}

#define F(field) offsetof(struct tierd_config, field)

static const struct config_item config_table[] = {
	{ "daemon", "socket", parse_socket, fmt_string, F(socket),
	  "path of the control socket", RESTART },
	{ "daemon", "socket_group", parse_group, fmt_string, F(socket_group),
	  "group that owns the socket (mode 0660); empty: the daemon's own group", LIVE },
	{ "daemon", "log_level", parse_log_level, fmt_log_level, F(log_level),
	  "err, warning, notice, info or debug", LIVE },
	{ "daemon", "max_clients", parse_max_clients, fmt_u32, F(max_clients),
	  "connected clients at most", RESTART },
	{ "daemon", "handshake_timeout", parse_handshake_timeout, fmt_u32, F(handshake_timeout_ms),
	  "milliseconds a new connection has to complete its handshake before it is dropped",
	  LIVE },
	{ "daemon", "max_clients_per_uid", parse_max_clients_per_uid, fmt_u32,
	  F(max_clients_per_uid),
	  "connections of one user at most (root and the daemon's own user: no limit; 0: none)",
	  LIVE },
	{ "daemon", "reserved_clients", parse_reserved_clients, fmt_u32, F(reserved_clients),
	  "of daemon.max_clients (at most half of it), connections only root and the daemon's "
	  "own user may take",
	  LIVE },
	{ "daemon", "pin_lease", parse_ms, fmt_u32, F(pin_lease_ms),
	  "milliseconds without a sign of life after which a client's pins are released (0: never)",
	  LIVE },
	{ "daemon", "max_namespaces", parse_max_namespaces, fmt_u32, F(max_namespaces),
	  "namespaces at most", RESTART },
	{ "daemon", "max_namespaces_per_uid", parse_max_namespaces, fmt_u32,
	  F(max_namespaces_per_uid),
	  "namespaces one uid may create (root, the daemon's user and [ns.NAME] sections aside)",
	  LIVE },
	{ "daemon", "client_max_writing", parse_client_max_writing, fmt_u32, F(client_max_writing),
	  "unfinished (allocated, not committed) blocks one client may have at once; "
	  "more: -EDQUOT", LIVE },
	{ "daemon", "client_max_pinned", parse_size_field, fmt_size, F(client_max_pinned),
	  "bytes of blocks one client may pin or write at once (each block once); more: "
	  "-EDQUOT; 0: three quarters of host.size", LIVE },
	{ "host", "size", parse_size_field, fmt_size, F(host_bytes),
	  "bytes of the host-DRAM tier (K/M/G suffixes)", RESTART },
	{ "host", "numa_node", parse_numa_node, fmt_numa_node, F(numa_node),
	  "auto (nearest the GPU, else the local node) or a node number", RESTART },
	{ "host", "hugepages", parse_hugepages, fmt_hugepages, F(hugepages),
	  "auto (when enough are free), on (required) or off", RESTART },
	{ "host", "verify", parse_bool, fmt_bool, F(host_verify),
	  "checksum blocks at commit and check them before serving or writing them to NVMe: "
	  "a block changed since is dropped (on/off)", RESTART },
	{ "policy", "evict", parse_policy_evict, fmt_string, F(policy_evict),
	  "eviction policy of the host tier", LIVE },
	{ "policy", "nvme_evict", parse_policy_evict, fmt_string, F(policy_nvme_evict),
	  "eviction policy of the NVMe tier", LIVE },
	{ "policy", "admit", parse_admit, fmt_string, F(policy_admit),
	  "which blocks leaving host memory are written to NVMe (all = every one)", LIVE },
	{ "policy", "prefetch", parse_prefetch, fmt_string, F(policy_prefetch),
	  "prefetch policy (none, chain)", LIVE },
	{ "nvme", "path", parse_nvme_paths, fmt_nvme_paths, F(nvme_paths),
	  "files or block devices, comma-separated to stripe; empty: no NVMe tier", RESTART },
	{ "nvme", "size", parse_size_field, fmt_size, F(nvme_bytes),
	  "bytes of the NVMe tier, split over the paths (block devices: 0 = whole device)", RESTART },
	{ "nvme", "queue_depth", parse_queue_depth, fmt_u32, F(nvme_queue_depth),
	  "block I/Os in flight at most", RESTART },
	{ "nvme", "sqpoll", parse_bool, fmt_bool, F(nvme_sqpoll),
	  "kernel submission polling thread (on/off)", RESTART },
	{ "nvme", "direct", parse_bool, fmt_bool, F(nvme_direct),
	  "O_DIRECT (on/off); falls back with a log line where refused", RESTART },
	{ "nvme", "high_watermark", parse_percent, fmt_u32, F(high_watermark),
	  "percent of host.size above which blocks are demoted to NVMe", LIVE },
	{ "nvme", "low_watermark", parse_percent, fmt_u32, F(low_watermark),
	  "percent of host.size at which demotion stops", LIVE },
	{ "nvme", "io_timeout", parse_ms, fmt_u32, F(io_timeout_ms),
	  "milliseconds a request may wait on NVMe I/O before it fails with -ETIMEDOUT", LIVE },
	{ "nvme", "journal", parse_path, fmt_string, F(nvme_journal),
	  "the NVMe tier's journal file (default: the first path + .journal)", RESTART },
	{ "nvme", "journal_compact_min", parse_size_field, fmt_size, F(nvme_journal_compact_min),
	  "compact the journal while running once it is this big and over twice its live records "
	  "(0: only at start-up and shutdown)", LIVE },
	{ "gpu", "device", parse_gpu_device, fmt_string, F(gpu_device),
	  "device tier (T0): auto (the GPU when one is found, else none), emu (host memory, "
	  "for tests), none, or a CUDA device index", RESTART },
	{ "gpu", "size", parse_gpu_size, fmt_size, F(gpu_bytes),
	  "bytes of the GPU pool the daemon owns (K/M/G suffixes)", RESTART },
	{ "remote", "cluster", parse_remote_cluster, fmt_string, F(remote_cluster),
	  "remote tier (T3): seed nodes of a Redis Cluster, HOST:PORT[,HOST:PORT...] (numeric "
	  "addresses); empty: no remote tier", RESTART },
	{ "remote", "timeout", parse_remote_timeout, fmt_u32, F(remote_timeout_ms),
	  "milliseconds a cluster command may take; later is a miss (the engine recomputes)",
	  RESTART },
	{ "remote", "backoff", parse_ms, fmt_u32, F(remote_backoff_ms),
	  "milliseconds a node that failed is left alone (doubling, up to 8 times)", RESTART },
	{ "remote", "inflight", parse_remote_inflight, fmt_size, F(remote_inflight_bytes),
	  "command bytes in flight per cluster connection (K/M/G suffixes)", RESTART },
	{ "remote", "write", parse_remote_write, fmt_remote_write, F(remote_write),
	  "through (every commit is written to the cluster, asynchronously) or off (read only)",
	  RESTART },
	{ "remote", "prefix", parse_remote_prefix, fmt_string, F(remote_prefix),
	  "prefix of every key in the cluster (no braces)", RESTART },
	{ "remote", "user", parse_remote_user, fmt_string, F(remote_user),
	  "Redis ACL user; empty: AUTH with remote.password alone", RESTART },
	{ "remote", "password", parse_remote_password, fmt_string, F(remote_password),
	  "password for AUTH; empty: none", RESTART },
	{ "metrics", "listen", parse_listen, fmt_string, F(metrics_listen),
	  "ADDR:PORT of the Prometheus HTTP endpoint, e.g. 127.0.0.1:9464; empty: none", RESTART },
	{ "metrics", "allow_remote", parse_bool, fmt_bool, F(metrics_allow_remote),
	  "allow a metrics.listen address that is not loopback (on/off)", RESTART },
};

void config_defaults(struct tierd_config *c)
{
	const char *rt = getenv("RUNTIME_DIRECTORY");

	memset(c, 0, sizeof(*c));
	/* Under systemd, RuntimeDirectory= tells us where our socket belongs. */
	if (rt && *rt && strlen(rt) + sizeof("/tierd.sock") <= sizeof(c->socket))
		snprintf(c->socket, sizeof(c->socket), "%s/tierd.sock", rt);
	else
		snprintf(c->socket, sizeof(c->socket), "%s", DEFAULT_SOCKET_PATH);
	c->log_level = LOG_INFO;
	c->max_clients = DEFAULT_MAX_CLIENTS;
	c->handshake_timeout_ms = DEFAULT_HANDSHAKE_TIMEOUT_MS;
	c->max_clients_per_uid = DEFAULT_MAX_CLIENTS_PER_UID;
	c->reserved_clients = DEFAULT_RESERVED_CLIENTS;
	c->max_namespaces = DEFAULT_MAX_NAMESPACES;
	c->max_namespaces_per_uid = DEFAULT_MAX_NAMESPACES_PER_UID;
	c->client_max_writing = DEFAULT_CLIENT_MAX_WRITING;
	c->host_bytes = DEFAULT_HOST_BYTES;
	c->numa_node = -1;
	c->hugepages = HUGEPAGES_AUTO;
	snprintf(c->policy_evict, sizeof(c->policy_evict), "%s", TIER_EVICT_DEFAULT);
	snprintf(c->policy_nvme_evict, sizeof(c->policy_nvme_evict), "%s", "lru");
	snprintf(c->policy_admit, sizeof(c->policy_admit), "%s", TIER_ADMIT_DEFAULT);
	snprintf(c->policy_prefetch, sizeof(c->policy_prefetch), "%s", TIER_PREFETCH_DEFAULT);
	c->nvme_bytes = DEFAULT_NVME_BYTES;
	c->nvme_queue_depth = DEFAULT_NVME_QUEUE_DEPTH;
	c->nvme_journal_compact_min = DEFAULT_JOURNAL_COMPACT_MIN;
	c->nvme_direct = true;
	c->high_watermark = DEFAULT_HIGH_WATERMARK_PCT;
	c->low_watermark = DEFAULT_LOW_WATERMARK_PCT;
	snprintf(c->socket_group, sizeof(c->socket_group), "%s", DEFAULT_SOCKET_GROUP);
	c->io_timeout_ms = DEFAULT_IO_TIMEOUT_MS;
	snprintf(c->gpu_device, sizeof(c->gpu_device), "%s", DEFAULT_GPU_DEVICE);
	c->gpu_bytes = DEFAULT_GPU_BYTES;
	c->remote_timeout_ms = DEFAULT_REMOTE_TIMEOUT_MS;
	c->remote_backoff_ms = DEFAULT_REMOTE_BACKOFF_MS;
	c->remote_inflight_bytes = DEFAULT_REMOTE_INFLIGHT_BYTES;
	c->remote_write = REMOTE_WRITE_THROUGH;
	snprintf(c->remote_prefix, sizeof(c->remote_prefix), "%s", DEFAULT_REMOTE_PREFIX);
}

int config_line_check(const char *key, const char *value, char *why, size_t whylen)
{
	size_t n = strlen(key) + 3 + strlen(value), vl = strlen(value);

	if (n > CONFIG_LINE_MAX) {
		config_errf(why, whylen, "its line in a config file would be %zu bytes, at most %d", n,
			    CONFIG_LINE_MAX);
		return -EINVAL;
	}
	if (vl && (strchr(" \t;#", value[0]) || value[vl - 1] == ' ' || value[vl - 1] == '\t')) {
		config_errf(why, whylen, "a config file cannot hold a value that starts with a blank, ';' "
			    "or '#', or ends with a blank");
		return -EINVAL;
	}
	for (size_t i = 0; i < vl; i++) {
		unsigned char ch = (unsigned char)value[i];

		if (ch < 0x20 && ch != '\t') {
			config_errf(why, whylen, "a config file cannot hold a control character");
			return -EINVAL;
		}
		if (i && (ch == ';' || ch == '#') && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
			config_errf(why, whylen, "a config file reads ' %c' as the start of a comment", ch);
			return -EINVAL;
		}
	}
	return 0;
}

int config_set(struct tierd_config *c, const char *section, const char *key, const char *value,
	       char *err, size_t errlen)
{
	char why[256] = "";

	/* [ns.NAME]: rules of one namespace. */
	if (!strncmp(section, "ns.", 3))
		return nsrule_set(&c->ns_rules, section + 3, key, value, err, errlen);
	for (size_t i = 0; i < sizeof(config_table) / sizeof(config_table[0]); i++) {
		const struct config_item *it = &config_table[i];
		char val[NVME_PATHS_MAX * 257];
		struct tierd_config *was;

		if (strcmp(it->section, section) || strcmp(it->key, key))
			continue;
		/*
		 * What the config in force prints must read back to itself: a
		 * value whose printed line a config file cannot hold is refused,
		 * and the key keeps its old value.
		 */
		was = malloc(sizeof(*was));
		if (!was) {
			config_errf(err, errlen, "%s.%s: out of memory", section, key);
			return -ENOMEM;
		}
		*was = *c;
		if (it->parse(value, (char *)c + it->offset, why, sizeof(why)) < 0) {
			free(was);
			config_errf(err, errlen, "%s.%s: %s", section, key, why);
			return -EINVAL;
		}
		it->format((const char *)c + it->offset, val, sizeof(val));
		if (config_line_check(key, val, why, sizeof(why)) < 0) {
			*c = *was;
			free(was);
			config_errf(err, errlen, "%s.%s: %s", section, key, why);
			return -EINVAL;
		}
		free(was);
		return 0;
	}
	config_errf(err, errlen, "%s.%s: unknown key", section, key);
	return -ENOENT;
}

struct ini_ctx {
	struct tierd_config *c;
	char *err;
	size_t errlen;
	int r;
};

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	char why[300];

	if (x->r < 0)
		return 0;
	if (!name) /* a section header alone */
		return 1;
	x->r = config_set(x->c, section, name, value ? value : "", why, sizeof(why));
	if (x->r < 0) {
		config_errf(x->err, x->errlen, "%s", why);
		return 0;
	}
	return 1;
}

static int ini_result(struct ini_ctx *x, int ir, const char *what)
{
	if (x->r < 0)
		return x->r;
	if (ir < 0) {
		config_errf(x->err, x->errlen, "%s: cannot be read", what);
		return -EIO;
	}
	if (ir > 0) {
		config_errf(x->err, x->errlen, "%s: line %d: syntax error", what, ir);
		return -EINVAL;
	}
	return 0;
}

/*
 * What libinih would read as another section than the one written: it keeps
 * the first 49 bytes of a section name and ignores what follows its first
 * ']'.  Such a line is an error here rather than a rule for another name.
 */
#define INI_SECTION_MAX 49

static int sections_check(const char *text, const char *what, char *err, size_t errlen)
{
	int line = 1;

	for (const char *p = text; *p; line++) {
		size_t n = strcspn(p, "\n");
		const char *s = p, *end = p + n, *q;

		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s < end && *s == '[' && (q = memchr(s, ']', (size_t)(end - s)))) {
			if ((size_t)(q - s - 1) > INI_SECTION_MAX) {
				config_errf(err, errlen, "%s: line %d: a section name has at most %d bytes",
					    what, line, INI_SECTION_MAX);
				return -EINVAL;
			}
			for (q++; q < end && (*q == ' ' || *q == '\t' || *q == '\r'); q++)
				;
			if (q < end && *q != ';' && *q != '#') {
				config_errf(err, errlen, "%s: line %d: text after the section's ']'", what,
					    line);
				return -EINVAL;
			}
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* what: the file's path, or "config" for text; a key's error names the file. */
static int load_text(struct tierd_config *c, const char *text, const char *what, bool file,
		     char *err, size_t errlen)
{
	struct ini_ctx x = { .c = c, .err = err, .errlen = errlen };
	int ir, r = sections_check(text, what, err, errlen);

	if (r < 0)
		return r;
	ir = ini_parse_string(text, config_ini_handler, &x);
	if (x.r < 0 && file) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: %s", what, err);
		config_errf(err, errlen, "%s", tmp);
		return x.r;
	}
	return ini_result(&x, ir, what);
}

#define CONFIG_FILE_MAX (1u << 20)

int config_load_file(struct tierd_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text;
	size_t n;
	int r;

	if (!f) {
		r = -errno;
		config_errf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		config_errf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
	r = ferror(f) ? -EIO : 0;
	fclose(f);
	if (r == 0 && n > CONFIG_FILE_MAX) {
		config_errf(err, errlen, "%s: larger than %u bytes", path, CONFIG_FILE_MAX);
		r = -EFBIG;
	} else if (r < 0) {
		config_errf(err, errlen, "%s: cannot be read", path);
	} else if (memchr(text, 0, n)) {
		config_errf(err, errlen, "%s: a NUL byte (not a text file)", path);
		r = -EINVAL;
	} else {
		text[n] = 0;
		r = load_text(c, text, path, true, err, errlen);
	}
	free(text);
	return r;
}

int config_load_string(struct tierd_config *c, const char *text, char *err, size_t errlen)
{
	return load_text(c, text, "config", false, err, errlen);
}

int config_set_override(struct tierd_config *c, const char *assignment, char *err, size_t errlen)
{
	char buf[512], *dot, *eq;

	if (strlen(assignment) >= sizeof(buf)) {
		config_errf(err, errlen, "override too long");
		return -EINVAL;
	}
	strcpy(buf, assignment);
	eq = strchr(buf, '=');
	if (eq)
		*eq = 0;
	/* The key follows the last dot: "ns.NAME.owner" is section "ns.NAME", key "owner". */
	dot = strrchr(buf, '.');
	if (!eq || !dot || dot == buf || dot[1] == 0) {
		config_errf(err, errlen, "'%s': expected SECTION.KEY=VALUE", assignment);
		return -EINVAL;
	}
	*dot = 0;
	return config_set(c, buf, dot + 1, eq + 1, err, errlen);
}

int config_validate(const struct tierd_config *c, char *err, size_t errlen)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t phys = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
	uint64_t arenas = 0;

	if (c->host_bytes < MIN_HOST_BYTES) {
		config_errf(err, errlen, "host.size: %" PRIu64 " bytes is below the minimum of %llu MiB",
		     c->host_bytes, MIN_HOST_BYTES >> 20);
		return -EINVAL;
	}
	if (c->low_watermark >= c->high_watermark) {
		config_errf(err, errlen, "nvme.low_watermark: %u%% must be below nvme.high_watermark (%u%%)",
		     c->low_watermark, c->high_watermark);
		return -EINVAL;
	}
	if (c->nvme_n_paths && c->nvme_bytes / c->nvme_n_paths < MIN_NVME_BYTES_PER_PATH) {
		config_errf(err, errlen, "nvme.size: %" PRIu64 " bytes over %u paths is below %llu MiB a path",
		     c->nvme_bytes, c->nvme_n_paths, MIN_NVME_BYTES_PER_PATH >> 20);
		return -EINVAL;
	}
	if (c->metrics_listen[0]) {
		bool loopback = false;

		config_parse_listen(c->metrics_listen, NULL, NULL, &loopback);
		if (!loopback && !c->metrics_allow_remote) {
			config_errf(err, errlen,
			     "metrics.listen: %s is not a loopback address; the metrics are not "
			     "authenticated: set metrics.allow_remote = on to serve them there",
			     c->metrics_listen);
			return -EINVAL;
		}
	}
	if (phys && c->host_bytes > phys) {
		config_errf(err, errlen,
		     "host.size: %" PRIu64 " MiB is more than this machine's memory (%" PRIu64
		     " MiB)",
		     c->host_bytes >> 20, phys >> 20);
		return -EINVAL;
	}
	if (nsrule_validate(&c->ns_rules, err, errlen) < 0)
		return -EINVAL;
	/*
	 * In the shared arena every client can rewrite every block: a restricted
	 * namespace there has no confidentiality, and without host.verify no
	 * integrity either.
	 */
	for (uint32_t i = 0; i < c->ns_rules.n && !c->host_verify; i++) {
		const struct ns_rule *r = &c->ns_rules.r[i];

		if (nsrule_restricted(r) && r->arena_shared) {
			config_errf(err, errlen,
			     "ns.%s: restricted, with arena = shared: every client of the socket "
			     "can read and rewrite its blocks there; set host.verify = on (blocks "
			     "changed after commit are dropped, never served) or give it its own "
			     "arena = SIZE",
			     r->name);
			return -EINVAL;
		}
	}
	/* Private arenas come in addition to host.size. */
	for (uint32_t i = 0; i < c->ns_rules.n; i++)
		arenas += nsrule_arena_bytes(&c->ns_rules.r[i]);
	if (phys && arenas > phys - c->host_bytes) {
		config_errf(err, errlen,
		     "host.size (%" PRIu64 " MiB) and the namespaces' private arenas (%" PRIu64
		     " MiB) are more than this machine's memory (%" PRIu64 " MiB)",
		     c->host_bytes >> 20, arenas >> 20, phys >> 20);
		return -EINVAL;
	}
	return 0;
}

uint64_t config_client_max_pinned(const struct tierd_config *c, uint64_t arena_bytes)
{
	return c->client_max_pinned ? c->client_max_pinned : arena_bytes / 4 * 3;
}

int config_format(const struct tierd_config *c, char *buf, size_t len)
{
	return config_format_for(c, false, buf, len);
}

int config_format_for(const struct tierd_config *c, bool redact, char *buf, size_t len)
{
	const char *sect = "";
	size_t off = 0;

	for (size_t i = 0; i < sizeof(config_table) / sizeof(config_table[0]); i++) {
		const struct config_item *it = &config_table[i];
		char val[NVME_PATHS_MAX * 257];

		it->format((const char *)c + it->offset, val, sizeof(val));
		if (item_secret(it) && redact && val[0])
			snprintf(val, sizeof(val), "(redacted)");
		if (strcmp(sect, it->section)) {
			sect = it->section;
			off += (size_t)snprintf(buf + (off < len ? off : len), off < len ? len - off : 0,
						"%s[%s]\n", i ? "\n" : "", sect);
		}
		off += (size_t)snprintf(buf + (off < len ? off : len), off < len ? len - off : 0,
					"# %s\n%s = %s\n", it->help, it->key, val);
	}
	off += (size_t)nsrule_format(&c->ns_rules, redact, buf + (off < len ? off : len),
				     off < len ? len - off : 0);
	return (int)off;
}

int config_diff(const struct tierd_config *a, const struct tierd_config *b, config_diff_fn fn,
		void *arg)
{
	static char va[NVME_PATHS_MAX * 257], vb[NVME_PATHS_MAX * 257];
	int n = 0;

	for (size_t i = 0; i < sizeof(config_table) / sizeof(config_table[0]); i++) {
		const struct config_item *it = &config_table[i];

		it->format((const char *)a + it->offset, va, sizeof(va));
		it->format((const char *)b + it->offset, vb, sizeof(vb));
		if (strcmp(va, vb) == 0)
			continue;
		n++;
		if (fn)
			fn(arg, it->section, it->key, item_secret(it) ? "(redacted)" : va,
			   item_secret(it) ? "(redacted)" : vb, it->live);
	}
	/* Namespace rules (access, quotas, salts) apply to namespaces opened from now on. */
	if (memcmp(&a->ns_rules, &b->ns_rules, sizeof(a->ns_rules))) {
		n++;
		if (fn)
			fn(arg, "ns", "*", "", "", true);
	}
	return n;
}

int config_key_live(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof(config_table) / sizeof(config_table[0]); i++)
		if (!strcmp(config_table[i].section, section) && !strcmp(config_table[i].key, key))
			return config_table[i].live;
	return -ENOENT;
}
