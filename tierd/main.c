/* SPDX-License-Identifier: MIT */
/*
 * tierd: the KV-cache tier manager daemon.  main() reads in a straight line:
 * arguments, config, checks, create the server, notify ready, run, tear down.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build-config.h"
#include "config.h"
#include "log.h"
#include "server.h"

#define MAX_OVERRIDES 64

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tierd [OPTIONS]\n"
		"KV-cache tier manager: GPU HBM, host DRAM and NVMe tiers for LLM inference.\n\n"
		"  -c, --config FILE         read the INI configuration FILE\n"
		"  -o, --option S.KEY=VALUE  override one key (repeatable), e.g. -o host.size=1G\n"
		"  -f, --foreground          do not detach (implied under systemd)\n"
		"      --check-config        check the configuration, print it, and exit\n"
		"      --version             print the version and exit\n"
		"  -h, --help                this text\n\n"
		"Without -c, the embedded defaults apply; see tierd.conf(5).\n");
}

struct args {
	const char *config;
	const char *overrides[MAX_OVERRIDES];
	int n_overrides;
	bool foreground;
	bool check_config;
};

/* 0 to go on, 1 to exit successfully, -1 to exit with an error. */
static int parse_args(int argc, char **argv, struct args *a)
{
	enum { OPT_CHECK = 0x100, OPT_VERSION };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "option", required_argument, NULL, 'o' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:o:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'o':
			if (a->n_overrides == MAX_OVERRIDES) {
				fprintf(stderr, "tierd: too many -o options\n");
				return -1;
			}
			a->overrides[a->n_overrides++] = optarg;
			break;
		case 'f':
			a->foreground = true;
			break;
		case OPT_CHECK:
			a->check_config = true;
			break;
		case OPT_VERSION:
			printf("tierd %s\n", TIERD_VERSION);
			return 1;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tierd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int load_config(const struct args *a, struct tierd_config *cfg)
{
	char err[512];

	config_defaults(cfg);
	if (a->config && config_load_file(cfg, a->config, err, sizeof(err)) < 0) {
		fprintf(stderr, "tierd: config: %s\n", err);
		return -1;
	}
	for (int i = 0; i < a->n_overrides; i++)
		if (config_set_override(cfg, a->overrides[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "tierd: -o %s\n", err);
			return -1;
		}
	if (config_validate(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "tierd: config: %s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	static struct tierd_config cfg;
	static struct server srv;
	bool under_systemd = getenv("NOTIFY_SOCKET") || getenv("INVOCATION_ID");
	int r;

	r = parse_args(argc, argv, &a);
	if (r)
		return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	if (load_config(&a, &cfg) < 0)
		return EXIT_FAILURE;
	/* SIGHUP rereads it after daemon() has moved to "/". */
	static char config_abs[PATH_MAX];

	if (a.config && realpath(a.config, config_abs))
		a.config = config_abs;
	if (a.check_config) {
		static char text[16384];

		config_format(&cfg, text, sizeof(text));
		fputs(text, stdout);
		return EXIT_SUCCESS;
	}
	log_set_level(cfg.log_level);

	if (!a.foreground && !under_systemd) {
		if (daemon(0, 0) < 0) {
			fprintf(stderr, "tierd: daemon: %m\n");
			return EXIT_FAILURE;
		}
		log_to_syslog("tierd");
	}

	r = server_init(&srv, &cfg);
	if (r < 0)
		return EXIT_FAILURE;
	reload_set_source(&srv, a.config, a.overrides, a.n_overrides);
	r = server_run(&srv);
	server_deinit(&srv);
	log_info("stopped");
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
