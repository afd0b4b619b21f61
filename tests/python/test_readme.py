# SPDX-License-Identifier: MIT
"""The README's Python example runs against a real tierd: twice, and the second
run finds the four blocks the first one saved."""
import os
import re
import subprocess
import sys

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def test_the_readme_example_runs(daemon, client):
    with open(README) as f:
        m = re.search(r"^```python\n(.*?)^```$", f.read(), re.S | re.M)
    assert m, "no Python example in README.md"
    env = dict(os.environ, TIER_SOCKET=daemon.socket)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", m.group(1)], env=env, check=True, timeout=60)
    ns = {n["name"]: n for n in client.stats()["namespaces"]}["llama3-8b-bf16"]
    assert ns["blocks"] == 4 and ns["hits"] >= 4
