#!/usr/bin/env python3
"""Replay requests against llama.cpp's llama-server, one after another.

  llama-server-replay.py URL PROMPTS [--no-cache-prompt]

PROMPTS holds one request a line, token ids separated by spaces (what
`tier-llama --print-prompts` writes, so these are the very requests tier-llama
serves).  Each request is a POST URL/completion with the token ids as the
prompt, n_predict 1 and greedy sampling: its prompt phase and first token,
what tier-llama's ttft_s measures.  One JSON object a request on stdout, with
tier-llama's field names where they mean the same:
  prompt_tokens    the request's length
  restored_tokens  timings.cache_n: tokens llama-server did not compute
                   (reused from its slot or loaded from --cache-ram)
  computed_tokens  timings.prompt_n
  ttft_s           wall clock on this side: request sent -> answer read
  prompt_ms        llama-server's own timings.prompt_ms
"""
import json
import sys
import time
import urllib.request


def main():
    url, path = sys.argv[1], sys.argv[2]
    cache_prompt = "--no-cache-prompt" not in sys.argv[3:]
    with open(path) as f:
        prompts = [[int(t) for t in line.split()] for line in f if line.strip()]
    for i, tok in enumerate(prompts):
        body = json.dumps({"prompt": tok, "n_predict": 1, "cache_prompt": cache_prompt,
                           "samplers": ["top_k"], "top_k": 1}).encode()
        req = urllib.request.Request(url + "/completion", data=body,
                                     headers={"Content-Type": "application/json"})
        t0 = time.monotonic()
        with urllib.request.urlopen(req, timeout=600) as r:
            ans = json.load(r)
        ttft = time.monotonic() - t0
        t = ans["timings"]
        if t["cache_n"] + t["prompt_n"] != len(tok):
            sys.exit(f"request {i}: cache_n {t['cache_n']} + prompt_n {t['prompt_n']}"
                     f" != {len(tok)} tokens")
        print(json.dumps({"request": i, "prompt_tokens": len(tok),
                          "restored_tokens": t["cache_n"], "computed_tokens": t["prompt_n"],
                          "ttft_s": round(ttft, 6), "prompt_ms": t["prompt_ms"]}), flush=True)


if __name__ == "__main__":
    main()
