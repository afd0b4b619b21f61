/* SPDX-License-Identifier: MIT */
/*
 * tier-campaign VERB [options]: run one reliability campaign against the
 * tierd binary given with --tierd (docs/RELIABILITY.md).  Exit 0 when every
 * check held, 1 when one failed, 2 on bad usage; the last line of output
 * is the campaign's figures.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"

static const struct {
	const char *name;
	int (*run)(const struct camp_opts *o);
	const char *help;
} verbs[] = {
	{ "chaos", camp_chaos, "client processes SIGKILLed at random under mixed load" },
	{ "crash", camp_crash, "tierd kill -9 and restart under write load (--rounds)" },
	{ "faults", camp_faults, "injected NVMe faults under mixed load (--faults SPEC)" },
	{ "soak", camp_soak, "long mixed load; daemon RSS and descriptors stay flat" },
	{ "threads", camp_threads, "mixed load in threads of one process (for TSan)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tier-campaign VERB --tierd PATH [--seconds N] [--rounds N] "
		   "[--clients N]\n"
		   "                     [--seed N] [--faults SPEC] [--rss-growth KIB] [-v]\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-7s %s\n", verbs[i].name, verbs[i].help);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tierd", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "clients", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'S' },
		{ "faults", required_argument, NULL, 'f' },
		{ "rss-growth", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct camp_opts o = { .seconds = 20, .seed = (uint64_t)time(NULL) };
	const char *verb;
	int opt;

	if (argc < 2 || argv[1][0] == '-') {
		usage(argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	verb = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (opt) {
		case 't': o.tierd = optarg; break;
		case 's': o.seconds = atof(optarg); break;
		case 'r': o.rounds = (unsigned)atoi(optarg); break;
		case 'c': o.clients = (unsigned)atoi(optarg); break;
		case 'S': o.seed = strtoull(optarg, NULL, 0); break;
		case 'f': o.faults = optarg; break;
		case 'g': o.rss_growth_kib = atof(optarg); break;
		case 'v': o.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.tierd)
		o.tierd = getenv("TIERD");
	if (!o.tierd) {
		usage(stderr);
		return 2;
	}
	/* Output goes to a pipe under meson: keep it in order with the children's. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i].name)) {
			printf("%s: seed %llu\n", verb, (unsigned long long)o.seed);
			return verbs[i].run(&o);
		}
	usage(stderr);
	return 2;
}
