/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the config parser (tierd/config.c).
 *
 * The first byte chooses the entry point: INI text through
 * config_load_string(), or one "section.key=value" per line through
 * config_set_override().  Whatever parses is validated and formatted; an
 * error must come with a message, and a config that loads and validates
 * must survive the round trip: config_format()'s text loads back into the
 * same config (compared through its formatted text).  Every such config:
 * what a config file cannot hold (a long line, a comment character, a
 * section libinih would cut) is refused where it is set.
 */
#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FMT_MAX (64 * 1024)

static char fmt1[FMT_MAX], fmt2[FMT_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tierd_config c, c2;
	char err[256];
	char *text;
	int r, n;

	if (size < 1 || size > 16384)
		return 0;
	text = malloc(size);
	assert(text);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	config_defaults(&c);
	err[0] = 0;
	if (data[0] & 1) {
		r = config_load_string(&c, text, err, sizeof(err));
	} else {
		char *save = NULL;

		r = 0;
		for (char *l = strtok_r(text, "\n", &save); l && r == 0;
		     l = strtok_r(NULL, "\n", &save))
			r = config_set_override(&c, l, err, sizeof(err));
	}
	free(text);
	assert(r <= 0);
	if (r < 0) {
		assert(err[0]); /* every refusal names the key or line */
		return 0;
	}
	if (config_validate(&c, err, sizeof(err)) < 0)
		return 0;
	n = config_format(&c, fmt1, sizeof(fmt1));
	assert(n > 0 && (size_t)n < sizeof(fmt1));
	config_defaults(&c2);
	r = config_load_string(&c2, fmt1, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "formatted config does not load back: %s\n---\n%s---\n", err, fmt1);
		abort();
	}
	n = config_format(&c2, fmt2, sizeof(fmt2));
	assert(n > 0 && (size_t)n < sizeof(fmt2));
	if (strcmp(fmt1, fmt2)) {
		fprintf(stderr, "round trip changed the config:\n---\n%s---\n%s---\n", fmt1, fmt2);
		abort();
	}
	return 0;
}
