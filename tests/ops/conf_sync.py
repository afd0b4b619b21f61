#!/usr/bin/env python3
"""The example tierd.conf, tierd.conf(5) and the config table agree.

Every key `tierd --check-config` prints is in dist/tierd.conf, commented,
with the same default; the example as installed changes nothing; with every
line uncommented it still parses to the defaults; and tierd.conf(5) has an
entry for every key.  usage: conf_sync.py TIERD DIST_DIR
"""
import os, re, subprocess, sys, tempfile

tierd, dist = sys.argv[1], sys.argv[2]
env = {k: v for k, v in os.environ.items() if k != "RUNTIME_DIRECTORY"}

def check_config(*args):
    return subprocess.run([tierd, "--check-config", *args], env=env, check=True,
                          capture_output=True, text=True).stdout

def keys(text, commented):
    out, sect = {}, None
    pat = re.compile(r"^#([a-z_]+) = (.*)$" if commented else r"^([a-z_]+) = (.*)$")
    for line in text.splitlines():
        if line.startswith("["):
            sect = line.strip("[]")
        m = pat.match(line)
        if m:
            out[sect + "." + m.group(1)] = m.group(2)
    return out

defaults_text = check_config()
defaults = keys(defaults_text, False)
example_text = open(os.path.join(dist, "tierd.conf")).read()
example = keys(example_text, True)
assert defaults, defaults_text
assert set(example) == set(defaults), ("keys differ", set(example) ^ set(defaults))
for k, v in defaults.items():
    assert example[k] == v, (k, example[k], v)

with tempfile.TemporaryDirectory() as d:
    p = os.path.join(d, "example.conf")
    open(p, "w").write(example_text)
    assert check_config("-c", p) == defaults_text, "the example changes something"
    open(p, "w").write(re.sub(r"^#([a-z_]+ = )", r"\1", example_text, flags=re.M))
    assert check_config("-c", p) == defaults_text, "uncommented example != defaults"

man = open(os.path.join(dist, "man", "tierd.conf.5")).read()
for k in defaults:
    assert (".B " + k + "\n") in man, "tierd.conf(5) lacks " + k
print("conf_sync: %d keys agree across --check-config, tierd.conf, tierd.conf(5)" % len(defaults))
