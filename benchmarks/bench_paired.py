"""Two evaluations of the same held-out moments, side by side with the paired test: a recipe or a sampling setting
against another, read back from their metrics.json files, without generating again.

    python benchmarks/bench_paired.py <run A>/eval/metrics.json <run B>/eval/metrics.json [--as-label A B]

Both evaluations must have answered the same moments (the same held-out set, `--samples` and `--seed`): their real
replies are compared first. For each two-sample test (all words, style alone), it prints each evaluation's tuned
figure and McNemar's exact p of A against B, moment by moment, then each one's base and attribution.
"""

import argparse
import json
from pathlib import Path

from gptisyou.eval import twosample
from gptisyou.eval.verdict import share

TESTS = (("c2st", "told apart (all words)"), ("c2st_style", "by style alone"))
ROUTES = ("real", "tuned", "base")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("metrics", type=Path, nargs=2)
    parser.add_argument("--as-label", nargs=2, default=("A", "B"), metavar=("A", "B"))
    args = parser.parse_args()
    first, second = (json.loads(path.read_text()) for path in args.metrics)
    if [s["real"] for s in first["samples"]] != [s["real"] for s in second["samples"]]:
        raise SystemExit("the two evaluations answered different moments: same held-out set, --samples and --seed")
    labels = args.as_label
    print(f"{first['persona']}: {len(first['samples'])} held-out moments; {labels[0]} = {args.metrics[0]}")
    print(f"{' ' * len(first['persona'])}  {labels[1]} = {args.metrics[1]}")
    for key, name in TESTS:
        a, b = first[key]["tuned"], second[key]["tuned"]
        p = twosample.paired(a, b)["p"]
        print(
            f"{name:24} {labels[0]} {share(a)}  {labels[1]} {share(b)}  p = {p:.2g}   "
            f"(base: {share(first[key]['base'])} / {share(second[key]['base'])})"
        )
    for label, metrics in zip(labels, (first, second), strict=True):
        attributed = ", ".join(f"{route} {share(metrics['attribution'][route])}" for route in ROUTES)
        lengths = ", ".join(f"{route} {median_length(metrics['lengths'][route])}" for route in ROUTES)
        print(f"{label}: attributed {attributed}; median words/bubbles {lengths}")


def median_length(lengths: dict) -> str:
    """`9/1`: the median words and bubbles of `eval`'s length quantiles."""
    middle = lengths["quantiles"].index(0.5)
    return f"{lengths['words'][middle]:g}/{lengths['bubbles'][middle]:g}"


if __name__ == "__main__":
    main()
