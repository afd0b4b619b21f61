/* SPDX-License-Identifier: MIT */
/*
 * Unit: the spin gate (libtier/spin.c) that keeps both ends of a ring from
 * spinning while the machine has more runnable tasks than CPUs.  The
 * /proc/loadavg parser on good and bad lines; a zeroed gate (never
 * initialized) allows spinning; and a real gate closes while more busy
 * processes than CPUs run.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spin.h"
#include "../helpers/testutil.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

START_TEST(test_parse)
{
	ck_assert_int_eq(spin_parse_loadavg("0.50 0.40 0.30 3/345 9912\n"), 3);
	ck_assert_int_eq(spin_parse_loadavg("12.01 8.00 4.00 17/1024 1"), 17);
	ck_assert_int_eq(spin_parse_loadavg("0.00 0.00 0.00 0/1 1"), 0);
	ck_assert_int_eq(spin_parse_loadavg(""), -1);
	ck_assert_int_eq(spin_parse_loadavg("0.50 0.40 0.30"), -1);
	ck_assert_int_eq(spin_parse_loadavg("0.50 0.40 0.30 x/345 1"), -1);
	ck_assert_int_eq(spin_parse_loadavg("0.50 0.40 0.30 3 1"), -1);
	ck_assert_int_eq(spin_parse_loadavg("0.50 0.40 0.30 -3/345 1"), -1);
}
END_TEST

START_TEST(test_zeroed_gate_spins)
{
	struct spin_gate g = { 0 };

	ck_assert(spin_gate_open(&g, mono_ns()));
	/* Must not close descriptor 0, which a zeroed gate's fd field names. */
	spin_gate_deinit(&g);
	ck_assert_int_ne(fcntl(0, F_GETFD), -1);
}
END_TEST

START_TEST(test_closes_when_cpus_are_taken)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n = (int)(ncpu > 0 ? ncpu : 1) + 2;
	pid_t pids[66];
	struct spin_gate g;
	bool closed = false;
	uint64_t end;

	ck_assert_int_le(n, 66);
	spin_gate_init(&g);
	ck_assert_int_ge(g.fd, 0);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			alarm(30);
			for (;;)
				__asm__ volatile("" ::: "memory");
		}
	}
	/* The runnable count is a sample: look for a while, not once. */
	end = mono_ns() + 3000000000ULL;
	while (!closed && mono_ns() < end) {
		closed = !spin_gate_open(&g, mono_ns());
		usleep(2000);
	}
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	ck_assert_msg(closed, "the gate stayed open with %d busy processes on %ld CPUs", n, ncpu);
	ck_assert_uint_gt(g.busy_looks, 0);
	spin_gate_deinit(&g);
}
END_TEST

static Suite *ring_gate_suite(void)
{
	Suite *s = suite_create("ring_gate");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_zeroed_gate_spins);
	tcase_add_test(tc, test_closes_when_cpus_are_taken);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return t_run_suite(ring_gate_suite());
}
