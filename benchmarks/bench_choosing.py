"""Best-of-k for every k up to the candidates an evaluation sampled, read back from its metrics.json.

    python benchmarks/bench_choosing.py benchmarks/.data/quality-sam/workspace/runs/<run>

`eval --candidates N` records every candidate of every moment with its chooser score, in the order sampled. The
reply best-of-k keeps is the best-scored of the first k, so each k is judged on the same held-out moments without
generating again: told apart from the real replies (all words, and style alone, with the paired test against
the first sample, k = 1) and attributed to the persona by the who-said-it judge, trained as eval trains it.
"""

import argparse
import json
import os
from pathlib import Path

from gptisyou.chooser import best_index
from gptisyou.chooser.build import run_dataset
from gptisyou.data.writing import frequent_words
from gptisyou.eval import intervals, twosample
from gptisyou.eval.attribution import WhoSaidIt
from gptisyou.store.database import Store
from gptisyou.store.runs import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    args = parser.parse_args()
    run = Run(args.run.resolve())
    recorded = json.loads(run.eval_metrics.read_text())
    samples, seed = recorded["samples"], recorded["settings"]["seed"]
    if "candidates" not in samples[0]:
        raise SystemExit(f"{run.eval_metrics}: this evaluation sampled one reply per moment (eval --candidates N)")
    with Store.open(Path(os.environ.get("GPTISYOU_HOME", args.run.parents[1]))) as store:
        data = run_dataset(store, run)
    persona = [turn.text for s in data.train for turn in s.turns if turn.sender == data.persona and turn.has_words]
    others = [turn.text for s in data.train for turn in s.turns if turn.sender != data.persona and turn.has_words]
    judge, kept_words = (
        WhoSaidIt(persona, others, seed=seed),
        frozenset(frequent_words(persona, twosample.STYLE_WORDS)),
    )
    real = [sample["real"] for sample in samples]

    def share(figure: dict) -> str:
        return f"{figure['value']:.0%} [{figure['low']:.0%}-{figure['high']:.0%}]"

    first = None
    print(f"{recorded['persona']}: {len(samples)} held-out moments, {len(samples[0]['candidates'])} candidates each")
    print("k  told apart (all words)  p vs k=1  by style alone        p vs k=1  attributed")
    for k in range(1, len(samples[0]["candidates"]) + 1):
        replies = [best_of(sample["candidates"], k) for sample in samples]
        tests = [twosample.accuracy(real, replies, seed), twosample.accuracy(real, replies, seed, kept=kept_words)]
        first = first or tests
        p = [twosample.paired(test, baseline)["p"] for test, baseline in zip(tests, first, strict=True)]
        attributed = intervals.share(judge.attributed(replies), seed)
        print(f"{k}  {share(tests[0]):22}  {p[0]:<8.2g}  {share(tests[1]):20}  {p[1]:<8.2g}  {share(attributed)}")


def best_of(candidates: list[dict], k: int) -> str:
    return candidates[best_index([candidate["score"] for candidate in candidates[:k]])]["text"]


if __name__ == "__main__":
    main()
