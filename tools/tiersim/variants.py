#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every policy over the real trace and four real sub-traces of it, at 13 sizes.

One trace is one workload; a policy tuned on it may only win there.  The
sub-traces below are still real traffic, each a different workload of the
same service: its first and its second half hour (by timestamp), and the two
halves of its conversations (by the parity of a request's second block id,
which a conversation's turns share, so a conversation is all in one half or
all in the other).  They are written to a temporary directory, never into
the project, and deleted after.

For each policy: the gap closed per sub-trace and size, then over the 65
cells its mean gap closed, how many cells it loses to LRU, and by how much at
worst (hit ratio).

usage: variants.py TRACE [TIERSIM] [-- extra tiersim options]
  TIERSIM: the tiersim binary (default build/tools/tiersim/tiersim).
"""
import json
import os
import subprocess
import sys
import tempfile

FRACS = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]


def split(path, out):
    lines = open(path).readlines()
    reqs = [json.loads(line) for line in lines]
    end = reqs[-1]['timestamp']
    keep = {
        'whole': lambda r: True,
        'first-half-hour': lambda r: r['timestamp'] < end / 2,
        'second-half-hour': lambda r: r['timestamp'] >= end / 2,
        'even-conversations': lambda r: len(r['hash_ids']) > 1 and r['hash_ids'][1] % 2 == 0,
        'odd-conversations': lambda r: len(r['hash_ids']) > 1 and r['hash_ids'][1] % 2 == 1,
    }
    names = []
    for name, k in keep.items():
        with open(os.path.join(out, name + '.jsonl'), 'w') as f:
            f.writelines(line for line, r in zip(lines, reqs) if k(r))
        names.append(name)
    return names


def main():
    args = sys.argv[1:]
    extra = []
    if '--' in args:
        extra = args[args.index('--') + 1:]
        args = args[:args.index('--')]
    if not args:
        sys.exit(__doc__)
    tiersim = args[1] if len(args) > 1 else 'build/tools/tiersim/tiersim'
    fracs = ','.join(str(f) for f in FRACS)
    rows, summary = {}, {}
    with tempfile.TemporaryDirectory(prefix='tierd-variants-') as tmp:
        for name in split(args[0], tmp):
            out = subprocess.run([tiersim, '--trace', os.path.join(tmp, name + '.jsonl'), '--all',
                                  '--fracs', fracs, '--json'] + extra,
                                 check=True, capture_output=True, text=True).stdout
            res = json.loads(out)
            lru = {x['capacity_frac']: x['hit_ratio'] for x in res if x['policy'] == 'lru'}
            for x in res:
                p, f = x['policy'], x['capacity_frac']
                rows.setdefault(p, {}).setdefault(name, []).append(x['gap_closed'])
                s = summary.setdefault(p, [0.0, 0, 0.0])
                s[0] += x['gap_closed']
                if x['hit_ratio'] < lru[f]:
                    s[1] += 1
                    s[2] = min(s[2], x['hit_ratio'] - lru[f])
    print('sizes: ' + ' '.join(f'{100 * f:g}%' for f in FRACS))
    for p, per in rows.items():
        for name, gaps in per.items():
            print(f'{p:10} {name:19} ' + ' '.join(f'{100 * g:+4.0f}' for g in gaps))
    cells = len(FRACS) * 5
    print()
    print(f'{"policy":10} {"mean gap":>8} {"losses to lru":>14} {"worst loss":>11}')
    for p, (tot, losses, worst) in summary.items():
        print(f'{p:10} {100 * tot / cells:+7.1f}% {losses:>7} of {cells} {worst:+11.4f}')


if __name__ == '__main__':
    main()
