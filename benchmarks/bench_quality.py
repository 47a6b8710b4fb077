"""Imitation quality on a real pair of the chitchat-dataset package: import, train, eval, one row of figures.

    python benchmarks/bench_quality.py --pair third [--minutes 20] [--candidates 4] [-- TRAIN OPTIONS]

The pairs: `sam` (the demo pair, the persona Sam), `jo` (Alex and Jo; the persona Jo) — the two the recipe was
chosen on — and `third`, the pair with the longest history (11,431 messages over three weeks), on which no
ablation was run: it confirms or refutes the recipe. Each run goes through the real path in a fresh workspace
(`benchmarks/.data/quality-<pair>/`): a WhatsApp export written from the dataset, `gptisyou import`, `train` with
the default recipe plus what follows `--`, and `eval --seed 0` with eval's defaults unless `--samples`, `--engine`
or `--candidates` say otherwise. Printed: the machine, minutes of training and evaluation, and the key figures
with their 95 % intervals, as the README's quality table has them; with candidates, the kept reply's beside the
first sample's.
Run it alone on the machine: two torch processes on two cores each run many times slower.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from machine import describe  # benchmarks/machine.py

from gptisyou.sources import sample

DATA = Path(__file__).resolve().parent / ".data"
PAIRS = {  # chitchat-dataset sender ids → names; the persona is the second
    "sam": sample.DEMO_PAIR,
    "jo": {"31267496-e50f-4f91-a197-c5b1bfde803b": "Alex", "720840be-e522-47ba-9e9f-143f66372673": "Jo"},
    "third": {"549cc1d1-270e-4a53-b561-133a8d0086b4": "Robin", "a54af4d5-736a-4ef6-8f51-f45b6c5fdab7": "Kim"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pair", choices=PAIRS, required=True)
    parser.add_argument("--minutes", type=float, help="stop training after this many minutes (default: one epoch)")
    parser.add_argument("--samples", type=int, help="held-out moments (default: eval's)")
    parser.add_argument("--engine", choices=("torch", "llama.cpp", "auto"), help="default: eval's")
    parser.add_argument("--candidates", type=int, help="replies sampled per moment, the chooser keeping one")
    parser.add_argument("train_options", nargs="*", help="more `gptisyou train` options, after --")
    args = parser.parse_args()
    names = PAIRS[args.pair]
    persona = list(names.values())[1]
    home = DATA / f"quality-{args.pair}"
    shutil.rmtree(home, ignore_errors=True)
    environment = os.environ | {"GPTISYOU_HOME": str(home / "workspace")}

    def gptisyou(*arguments: str) -> str:
        command = [sys.executable, "-m", "gptisyou", *arguments]
        return subprocess.run(command, env=environment, check=True, capture_output=True, text=True).stdout

    gptisyou("import", str(sample.write_sample_export(home / "export", names)))
    minutes = ["--minutes", str(args.minutes)] if args.minutes else []
    started = time.monotonic()
    trained = gptisyou("train", "--as", persona, *minutes, *args.train_options)
    training = time.monotonic() - started
    asked = {"--samples": args.samples, "--engine": args.engine, "--candidates": args.candidates}
    gptisyou("eval", "--as", persona, "--seed", "0", *(f"{name}={value}" for name, value in asked.items() if value))
    evaluating = time.monotonic() - started - training
    run = Path(trained.splitlines()[0].removeprefix("run: "))
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    print(
        f"machine: {describe()}; pair {args.pair} (persona {persona}); train {' '.join(minutes + args.train_options)}"
    )
    print(f"training {training / 60:.1f} min ({trained.splitlines()[1]}); evaluation {evaluating / 60:.1f} min")
    for line in _figures(metrics):
        print(line)


def _figures(metrics: dict) -> list[str]:
    def share(figure: dict) -> str:
        return f"{figure['value']:.0%} [{figure['low']:.0%}-{figure['high']:.0%}]"

    held, fit = metrics["held_out"], metrics["fit"]
    lines = [
        (
            f"held out: {held['first']} to {held['last']}, {held['days']} days, {held['conversations']} conversations, "
            f"{held['persona_turns']} turns; {held['samples']} moments; replies up to {metrics['settings']['max_new_tokens']} tokens"
        ),
        (
            f"perplexity tuned / base: {fit['tuned']['perplexity']:.1f} / {fit['base']['perplexity']:.1f} = "
            f"{fit['tuned']['perplexity'] / fit['base']['perplexity']:.2f}x; bits per byte "
            f"{fit['tuned']['bits_per_byte']:.3f} / {fit['base']['bits_per_byte']:.3f}"
        ),
        (
            f"told apart from real: tuned {share(metrics['c2st']['tuned'])}, base {share(metrics['c2st']['base'])}"
            f" (paired p = {metrics['c2st']['paired']['p']:.2g}); by style alone: tuned "
            f"{share(metrics['c2st_style']['tuned'])}, base {share(metrics['c2st_style']['base'])}"
        ),
        f"copies of 8+ words: tuned {share(metrics['memorisation']['tuned'])}",
    ]
    if attribution := metrics.get("attribution"):
        lines.append(
            f"judge AUC {attribution['judge_auc']['value']:.2f}; attributed: tuned "
            f"{share(attribution['tuned'])}, base {share(attribution['base'])}, "
            f"real {share(attribution['real'])}"
        )
    if "first" in metrics["c2st"]:  # replies chosen among candidates: the kept one against the first sample
        c2st, style_only = metrics["c2st"], metrics["c2st_style"]
        lines.append(
            f"chosen among {metrics['settings']['candidates']}: told apart kept {share(c2st['tuned'])}, first "
            f"{share(c2st['first'])} (paired p = {c2st['paired_first']['p']:.2g}); by style alone kept "
            f"{share(style_only['tuned'])}, first {share(style_only['first'])} (p = {style_only['paired_first']['p']:.2g})"
        )
        if attribution:
            lines.append(f"attributed: kept {share(attribution['tuned'])}, first {share(attribution['first'])}")
    style = metrics["style"]
    lines.append(
        "words / bubbles per reply: "
        + ", ".join(
            f"{kind} {style[kind]['words']:.1f} / {style[kind]['bubbles']:.1f}"
            for kind in ("training", "real", "tuned", "base", "first")
            if kind in style
        )
    )
    return lines


if __name__ == "__main__":
    main()
