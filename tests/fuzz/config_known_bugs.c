/* SPDX-License-Identifier: MIT */
/*
 * Known config round-trip bugs that fuzz_config found (docs/RELIABILITY.md,
 * "Findings"); registered with should_fail, so it passes while they exist
 * and turns into a failure ("unexpected pass") once config.c is fixed, to be
 * moved into test_config.c then.  Exit 1 when any of them reproduces.
 *
 * 1. A value that -o accepts and config_format() writes does not load back
 *    when its line reaches libinih's INI_MAX_LINE (200 bytes): nvme.path of
 *    one 230-byte path (the field takes up to 16 x 255 bytes).
 * 2. A value starting with ';' or '#', or containing " ;" or " #", is cut
 *    at the "comment" when read back: nvme.path=/data/a ;b loads as
 *    "/data/a", nvme.path=;x as no NVMe tier at all.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"

static char fmt[64 * 1024];

/* Whether "-o assignment" survives config_format() -> config_load_string(). */
static int round_trip(const char *assignment)
{
	struct tierd_config a, b;
	char err[256] = "";

	config_defaults(&a);
	if (config_set_override(&a, assignment, err, sizeof(err)) < 0) {
		printf("  -o %.40s...: refused (%s)\n", assignment, err);
		return 1; /* refusing it at -o would be a fix too */
	}
	config_format(&a, fmt, sizeof(fmt));
	config_defaults(&b);
	if (config_load_string(&b, fmt, err, sizeof(err)) < 0) {
		printf("  -o %.40s...: formatted config does not load back: %s\n", assignment, err);
		return 0;
	}
	if (memcmp(a.nvme_paths, b.nvme_paths, sizeof(a.nvme_paths)) ||
	    a.nvme_n_paths != b.nvme_n_paths) {
		printf("  -o %.40s...: nvme.path changed: '%s' -> '%s'\n", assignment,
		       a.nvme_paths[0], b.nvme_paths[0]);
		return 0;
	}
	return 1;
}

int main(void)
{
	char long_path[300] = "nvme.path=/";
	int ok = 1;

	memset(long_path + strlen(long_path), 'a', 229);
	ok &= round_trip(long_path);
	ok &= round_trip("nvme.path=/data/a ;b");
	ok &= round_trip("nvme.path=;x");
	printf(ok ? "config round trip: no known bug reproduces\n"
		  : "config round trip: known bugs reproduce\n");
	return ok ? 0 : 1;
}
