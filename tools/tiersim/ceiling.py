#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Ceiling of a class x age ranking with tables fitted on the whole trace.

Analysis only, not a policy: it reads the trace's own future.  Every block
access gets a class from what the manager could know online (partial last
block, use count, the conversation's turn, the request's length in blocks,
the request's output length); per class and age bucket (2 an octave, age =
accesses since the start of the request that last touched the block) the
tables count the reuses and the never-reused accesses of the WHOLE trace.
The replay then evicts, from 64 sampled resident blocks, the one with the
lowest index: the chance of a reuse ("ever") or the reuses per unit of time
held over the best horizon ("gittins", what policies/survival.c computes
online).  So the figures are what these classes could give with perfect
tables; an online policy learns them as it goes and gets less.

Two more modes rank by the index too.  "online" refits the tables every 8192
accesses from the past only (reuses seen so far; accesses not yet reused
count as censored at their age): an ideal online learner, exact counts, no
sampling.  "half" fits them on the first half of the accesses only (later
reuses count as censored) and replays the whole trace with them fixed:
tables known from the start, but not from the future.

usage: ceiling.py TRACE [FEATURES] [ever|gittins|online|half]
  FEATURES: letters from T (turn of re-read blocks), L (request length of new
  blocks), O (output length of new blocks), o (output length of re-read
  blocks), G (time since the request's deepest known block was last used),
  F (share of the request already known, new blocks), D (how deep into the
  request's new blocks); the base classes are always there.  Default: none, gittins.
Prints the hit ratio and gap closed at 1, 5 and 10% (LRU and Belady from the
trace README).  About a minute per run in CPython.
"""
import collections
import json
import math
import random
import sys

LRU = {0.01: 0.0523, 0.05: 0.1954, 0.10: 0.2784}
BELADY = {0.01: 0.2464, 0.05: 0.3664, 0.10: 0.3664}


def log_bucket(x, cap=7):
    return min(int(math.log2(max(x, 0) + 1)), cap - 1)


def age_bucket(age):
    return int(2 * math.log2(age + 1))


def classify(reqs, feat):
    """(key, class, start of its request in accesses) per block access."""
    acc, seen, uses, turn, now = [], set(), collections.Counter(), {}, 0
    lastts = {}
    for r in reqs:
        h, n = r['hash_ids'], len(r['hash_ids'])
        k = 0
        while k < n and h[k] in seen:
            k += 1
        # turn: 1 + the turn that appended the deepest block re-read (past
        # the first block, which every request of this trace shares)
        t = 1 + max([turn.get(h[j], 0) for j in range(1, k)] or [0])
        part = r['input_length'] < n * 512
        ob = log_bucket(r['output_length'] // 32)
        # G: time since the deepest known block was last used (16 s units)
        gb = (log_bucket((r['timestamp'] - lastts[h[k - 1]]) // 16000, 6)
              if k > 1 else -1)
        # F: the share of the request already known, in quarters
        fb = min(int(4 * k / n), 3) if k > 1 else -1
        for j, x in enumerate(h):
            if j == n - 1 and part:
                c = ('P',)
            elif uses[x]:
                c = ('R', min(uses[x], 4))
                c += (min(t, 4),) if 'T' in feat else ()
                c += (ob,) if 'o' in feat else ()
                c += (gb,) if 'G' in feat else ()
            else:
                c = ('N', min(t, 4))
                c += (log_bucket(n),) if 'L' in feat else ()
                c += (ob,) if 'O' in feat else ()
                c += (gb,) if 'G' in feat else ()
                c += (fb,) if 'F' in feat else ()
                # D: how deep into the request's new blocks (octaves)
                c += (log_bucket(j - k, 4),) if 'D' in feat else ()
            acc.append((x, c, now - j))
            uses[x] += 1
            now += 1
        for j in range(k, n):
            turn[h[j]] = t
        seen.update(h)
        for x in h:
            lastts[x] = r['timestamp']
    return acc


def index(re, de, mode):
    """Per age bucket: chance of a reuse later, or reuses per time held."""
    v = []
    for b in range(len(re)):
        alive = sum(re[b:]) + sum(de[b:])
        if mode == 'ever':
            v.append(sum(re[b:]) / alive if alive else 0)
            continue
        best = held = got = 0
        for e in range(b, len(re)):
            if alive <= 0:
                break
            width = 2 ** ((e + 1) / 2) - 2 ** (e / 2)
            held += alive * width
            got += re[e]
            alive -= re[e] + de[e]
            best = max(best, got / held)
        v.append(best)
    return v


def fit(acc, mode):
    n = len(acc)
    nxt, last = [None] * n, {}
    for a in range(n - 1, -1, -1):
        nxt[a] = last.get(acc[a][0])
        last[acc[a][0]] = a
    nb = 64  # every age a replay can ask for (2^32 accesses)
    cnt = collections.defaultdict(lambda: ([0] * nb, [0] * nb))
    for a, (_, c, s) in enumerate(acc):
        if nxt[a] is None:
            cnt[c][1][age_bucket(n - s)] += 1
        else:
            cnt[c][0][age_bucket(acc[nxt[a]][2] - s)] += 1
    return collections.defaultdict(lambda: [0.0] * nb,
                                   {c: index(re, de, mode) for c, (re, de) in cnt.items()})


class Online:
    """Tables refitted every `period` accesses from the past only."""

    def __init__(self, n, period=8192):
        self.nb = age_bucket(n) + 2
        self.period = period
        self.reuse = collections.defaultdict(lambda: [0] * self.nb)
        self.pending, self.last = {}, {}
        self.idx = collections.defaultdict(lambda: [1.0] * self.nb)

    def see(self, a, x, c, s):
        if a and a % self.period == 0:
            cens = collections.defaultdict(lambda: [0] * self.nb)
            for pc, ps in self.pending.values():
                cens[pc][age_bucket(a - ps)] += 1
            self.idx = collections.defaultdict(lambda: [1.0] * self.nb)
            for cl in set(self.reuse) | set(cens):
                self.idx[cl] = index(self.reuse[cl], cens[cl], 'gittins')
        pa = self.last.get(x)
        if pa is not None:
            pc, ps = self.pending.pop(pa)
            self.reuse[pc][age_bucket(s - ps)] += 1
        self.last[x] = a
        self.pending[a] = (c, s)


def replay(acc, idx, cap, samples=64, seed=1):
    rnd = random.Random(seed)
    res, keys, pos, hits = {}, [], {}, 0
    online = Online(len(acc)) if idx is None else None
    for a, (x, c, s) in enumerate(acc):
        if online:
            online.see(a, x, c, s)
            idx = online.idx
        if x in pos:
            hits += 1
            res[x] = (c, s)
            continue
        if len(keys) >= cap:
            best = None
            for _ in range(samples):
                y = keys[rnd.randrange(len(keys))]
                cy, sy = res[y]
                val = (idx[cy][age_bucket(a - sy)], sy)
                if best is None or val < best[0]:
                    best = (val, y)
            y = best[1]
            i, moved = pos.pop(y), keys.pop()
            if moved != y:
                keys[i] = moved
                pos[moved] = i
            del res[y]
        pos[x] = len(keys)
        keys.append(x)
        res[x] = (c, s)
    return hits / len(acc)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    feat = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != '-' else ''
    mode = sys.argv[3] if len(sys.argv) > 3 else 'gittins'
    reqs = [json.loads(line) for line in open(sys.argv[1])]
    unique = len({h for r in reqs for h in r['hash_ids']})
    acc = classify(reqs, feat)
    if mode == 'online':
        idx = None
    elif mode == 'half':
        idx = fit(acc[:len(acc) // 2], 'gittins')
    else:
        idx = fit(acc, mode)
    for f in (0.01, 0.05, 0.10):
        h = replay(acc, idx, round(f * unique))
        gap = 100 * (h - LRU[f]) / (BELADY[f] - LRU[f])
        print(f'{feat or "base"} {mode} {f:.2f}: {h:.4f} ({gap:+.0f}%)', flush=True)


if __name__ == '__main__':
    main()
