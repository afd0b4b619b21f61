/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the config parser (tierd/config.c).
 *
 * The first byte chooses the entry point: INI text through
 * config_load_string(), or one "section.key=value" per line through
 * config_set_override().  Whatever parses is validated and formatted; an
 * error must come with a message, and a config that loads and validates
 * must survive the round trip: config_format()'s text loads back into the
 * same config (compared through its formatted text).
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
/*
 * What the INI reader (libinih as Debian builds it) cannot carry, although
 * -o accepts it and config_format() writes it: a line of 200 bytes or more
 * (INI_MAX_LINE; nvme.path holds up to 16 x 255 bytes) is a syntax error, a
 * value starting with ';' or '#' or containing " ;" or " #" is cut at the
 * comment, and leading or trailing blanks are stripped.  Those are known
 * findings (docs/RELIABILITY.md, "config round trip"); the round trip is
 * checked for formatted configs free of them, so the fuzzer goes on looking
 * for anything else.  FUZZ_CONFIG_STRICT=1 in the environment checks all.
 */
#define INI_LINE_MAX 200

static char fmt1[FMT_MAX], fmt2[FMT_MAX];

static bool ini_safe(const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "\n");
		const char *eq = memchr(s, '=', n);

		if (n + 1 >= INI_LINE_MAX)
			return false;
		if (s[0] != '#' && s[0] != '[' && eq) {
			const char *v = eq + 2, *end = s + n; /* "key = value" */

			if (v < end && (*v == ';' || *v == '#' || *v == ' ' || *v == '\t' ||
					end[-1] == ' ' || end[-1] == '\t'))
				return false;
			for (const char *q = v; q < end; q++)
				if ((*q == ';' || *q == '#') && q > v &&
				    (q[-1] == ' ' || q[-1] == '\t'))
					return false;
				else if ((unsigned char)*q < 0x20 && *q != '\t')
					return false;
		}
		s += n + (s[n] == '\n');
	}
	return true;
}

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
	if (!ini_safe(fmt1) && !getenv("FUZZ_CONFIG_STRICT"))
		return 0;
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
