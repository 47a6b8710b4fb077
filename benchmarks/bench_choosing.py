"""Best-of-k for every k up to the candidates an evaluation sampled, read back from its metrics.json; and with
`--latency`, how long a chosen reply takes at each k.

    python benchmarks/bench_choosing.py benchmarks/.data/quality-sam/workspace/runs/Sam/<run> [--latency]

`eval --candidates N` records every candidate of every moment with its chooser score, in the order sampled. The
reply best-of-k keeps is the best-scored of the first k, so each k is judged on the same held-out moments without
generating again: told apart from the real replies (all words, and style alone, with the paired test against
the first sample, k = 1) and attributed to the persona by the who-said-it judge, trained as eval trains it.

`--latency` times whole replies, as `chat --candidates k` writes them (the run's engine, its stored chooser), to
the first 12 recorded moments, for k = 1, 2 and 4: the median seconds and tokens. Run it alone on the machine.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from gptisyou.chooser import best_index
from gptisyou.chooser.build import run_dataset
from gptisyou.data.writing import frequent_words
from gptisyou.eval import intervals, twosample
from gptisyou.eval.attribution import WhoSaidIt
from gptisyou.eval.evaluate import texts_by_speaker
from gptisyou.eval.verdict import share
from gptisyou.store.database import Store
from gptisyou.store.runs import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--latency", action="store_true", help="time chosen replies instead")
    args = parser.parse_args()
    run = Run(args.run.resolve())
    recorded = json.loads(run.eval_metrics.read_text())
    if args.latency:
        latency(run, recorded)
        return
    samples, seed = recorded["samples"], recorded["settings"]["seed"]
    if "candidates" not in samples[0]:
        raise SystemExit(f"{run.eval_metrics}: this evaluation sampled one reply per moment (eval --candidates N)")
    with Store.open(Path(os.environ.get("GPTISYOU_HOME", args.run.parents[1]))) as store:
        data = run_dataset(store, run)
    persona, others = texts_by_speaker(data.train, data.persona)  # as eval trains its judge
    judge, kept_words = (
        WhoSaidIt(persona, others, seed=seed),
        frozenset(frequent_words(persona, twosample.STYLE_WORDS)),
    )
    real = [sample["real"] for sample in samples]

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


def latency(run: Run, recorded: dict) -> None:
    from machine import describe  # benchmarks/machine.py

    from gptisyou.chooser import Chooser
    from gptisyou.engine import choice
    from gptisyou.engine.responder import Line, Sampling, Usage

    persona = recorded["persona"]
    clone = choice.load(run, persona, recorded["engine"])
    chooser = Chooser.load(run.chooser_dir)
    if chooser is None:
        raise SystemExit(f"{run.chooser_dir}: no chooser stored yet (eval --candidates N builds it)")
    histories = [[Line(**line) for line in sample["context"]] for sample in recorded["samples"][:12]]
    sampling = Sampling(max_new_tokens=recorded["settings"]["max_new_tokens"], seed=0)
    clone.reply(histories[0], sampling)  # warm: the model's first call, and the second context's for the prior
    print(f"machine: {describe()}; engine {clone.engine}; {len(histories)} moments")
    for count in (1, 2, 4):
        clone.choosing(chooser, count)
        seconds, tokens = [], []
        for history in histories:
            usage, started = Usage(), time.perf_counter()
            "".join(clone.stream(history, sampling, usage))
            seconds.append(time.perf_counter() - started)
            tokens.append(usage.completion_tokens)
        print(
            f"k = {count}: median {statistics.median(seconds):.2f} s per reply (max {max(seconds):.2f} s), "
            f"median {statistics.median(tokens):.0f} tokens kept"
        )


def best_of(candidates: list[dict], k: int) -> str:
    return candidates[best_index([candidate["score"] for candidate in candidates[:k]])]["text"]


if __name__ == "__main__":
    main()
