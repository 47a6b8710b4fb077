"""The evaluation of a run: the persona's held-out replies against the tuned model's and the base model's.

The held-out turns are the run's held-out conversations (spread across the chat by default, or the latest ones
with `--hold-out latest`), never trained on.
For each sampled held-out moment, the real reply, the tuned model's and the base model's reply to the same
context. Then, for base and tuned side by side: loss, perplexity and token accuracy on the real held-out
replies; the who-said-it attribution share; style statistics; verbatim copies of training data; leaked
phone numbers and e-mail addresses. Everything lands in `metrics.json` and `report.html` in `<run>/eval/`.
"""

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path

import torch

from gptisyou.chooser import Chooser, best_index
from gptisyou.chooser.build import build_for_run, run_dataset
from gptisyou.data.dataset import PersonaData, reply_moments
from gptisyou.data.memory import Memory
from gptisyou.data.writing import frequent_words
from gptisyou.engine import choice, llama_engine
from gptisyou.engine.device import autocast_dtype, default_device, mixed_precision
from gptisyou.engine.responder import Line, Responder, Sampling, reply_length
from gptisyou.engine.torch_engine import TorchClone, load_tuned, styled
from gptisyou.eval import intervals, quiz, report, twosample
from gptisyou.eval.attribution import TRUSTED_AUC, WhoSaidIt
from gptisyou.eval.config import EvalConfig
from gptisyou.eval.copying import CopyDetector, leaked_personal_data
from gptisyou.eval.style import length_quantiles, style_of
from gptisyou.store.database import Store
from gptisyou.store.runs import Run
from gptisyou.store.workspace import ensure_private_dir, make_private
from gptisyou.train.batches import pad_token_id
from gptisyou.train.config import TrainConfig
from gptisyou.train.evaluation import bits_per_byte, evaluate, held_out, spread, target_bytes

NARROW_DAYS, NARROW_CONVERSATIONS = 7, 5  # a held-out period smaller than this tells little about a person


def evaluate_run(
    store: Store,
    run: Path,
    config: EvalConfig | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    routes: Mapping[str, Responder] | None = None,
) -> Path:
    """Evaluate `run` on its persona's held-out turns; returns the directory with metrics.json and report.html.

    `on_progress(stage, done, total)` follows the slow parts. `routes` are more clones to ask for their reply to
    the same moments (a prompted endpoint's, by name), measured as the tuned and base replies are, except for
    perplexity, which needs the model's probabilities. None of them may have seen the held-out conversations.

    Raises:
        InputError: the run has no adapter, or its persona is no longer in the workspace.
    """
    started = time.monotonic()
    config = config or EvalConfig()
    progress = on_progress or (lambda *_: None)
    torch.manual_seed(config.seed)
    run = Run(Path(run))
    engine = choice.resolved(config.engine, run)  # before minutes of work: an engine it cannot use fails now
    recorded = run.config()
    train_config = TrainConfig.recorded(recorded.train)
    device = default_device()
    frozen_dtype = autocast_dtype(device) if train_config.bf16_frozen_weights else None
    model, tokenizer = load_tuned(run, device, frozen_dtype or torch.float32)
    data = run_dataset(store, run)
    val_set = spread(held_out(data, tokenizer, train_config), config.fit_tokens)
    tuned_fit, base_fit = _fit(model, val_set, pad_token_id(tokenizer), progress)

    memory = Memory.of_training_period(data) if train_config.memory else None  # never the held-out period
    reply_tokens = config.max_new_tokens or reply_length(recorded.reply_tokens)
    repliers = _repliers(run, engine, model, tokenizer, memory, train_config, config, data, progress)
    samples = _samples(data, config, reply_tokens, repliers, routes or {}, progress)

    byte_count = target_bytes(val_set, tokenizer)
    metrics = _metrics(data, samples, tuned_fit, base_fit, config, byte_count, list(routes or ()))
    metrics["settings"]["max_new_tokens"] = reply_tokens
    if (chooser := repliers[2]) is not None:
        metrics["chooser"] = chooser.development | {"weights": chooser.weights}
    if store.quiz.of_run(str(run.directory)):  # people's answers to the blind quiz so far
        metrics["quiz"] = quiz.tally(store, run, config.seed)
    metrics |= {
        "persona": train_config.persona,
        "run": str(run.directory),
        "base": train_config.base or "gemma-3-270m",
        "style_strength": config.style_strength,
        "engine": engine,
        "seconds": round(time.monotonic() - started, 1),
    }
    directory = ensure_private_dir(run.eval_dir, inside=run.directory)
    run.eval_metrics.write_text(json.dumps(metrics | {"samples": samples}, indent=1, ensure_ascii=False))
    report.write(directory / "report.html", metrics, samples, run.metrics())
    return make_private(directory)


def _fit(model, val_set: list, pad_id: int, progress: Callable[[str, int, int], None]) -> tuple[dict, dict]:
    """How well the tuned model, then the base (the adapter off), predict the held-out replies."""
    progress("held-out loss", 0, 2)
    with mixed_precision(model.device):
        tuned_fit = evaluate(model, val_set, pad_id, batch_tokens=2048)
        progress("held-out loss", 1, 2)
        with model.disable_adapter():
            base_fit = evaluate(model, val_set, pad_id, batch_tokens=2048)
    progress("held-out loss", 2, 2)
    return tuned_fit, base_fit


def _samples(
    data: PersonaData,
    config: EvalConfig,
    reply_tokens: int,
    repliers: tuple,
    routes: Mapping[str, Responder],
    progress: Callable[[str, int, int], None],
) -> list[dict]:
    """Each moment's context, the real reply, and every model's reply to it. The moments are the held-out
    conversations'; a run that held none out (`val_fraction` 0) is judged on its training period, and its
    held-out span says so (`"none": true`)."""
    tuned_replies, base_reply, chooser = repliers
    moments = reply_moments(data.val or data.train, data.persona, config.samples, config.context_turns)
    samples = []
    for index, (context, real) in enumerate(moments):
        progress("replies", index, len(moments))
        history = [Line(turn.sender, turn.text) for turn in context]
        sampling = Sampling(config.temperature, max_new_tokens=reply_tokens, seed=config.seed + index)
        candidates, kept = tuned_replies(history, sampling)
        sample = {"context": [asdict(line) for line in history], "real": real.text, "tuned": candidates[kept]["text"]}
        if chooser is not None:  # every candidate with its score: what fewer would keep can be read back
            sample |= {"first": candidates[0]["text"], "candidates": candidates}
        sample |= {name: clone.reply(history, sampling) for name, clone in routes.items()}
        samples.append(sample | {"base": base_reply(history, sampling)})
    progress("replies", len(moments), len(moments))
    return samples


def _repliers(
    run: Run,
    engine: str,
    model,
    tokenizer,
    memory: Memory | None,
    train_config: TrainConfig,
    config: EvalConfig,
    data: PersonaData,
    progress: Callable[[str, int, int], None],
):
    """(the tuned model's replies, the base model's reply): functions of (history, sampling), on `engine`; and the
    chooser (None with one candidate). The tuned model's are (its candidates in the order sampled, each with the
    chooser's score; the index of the one kept): with one candidate, the first sample; with more, the one the
    run's chooser (built from the training period the first time) keeps."""
    persona, context = train_config.persona, train_config.context_tokens
    if engine == "llama.cpp":
        tuned = llama_engine.load(run, persona, False, config.style_strength, memory, context)
        base = llama_engine.load(run, persona, True, memory=memory, max_context_tokens=context)
        as_tuned = as_base = contextlib.nullcontext
    else:
        tuned = base = TorchClone(model, tokenizer, persona, context, memory, train_config.memory)

        @contextlib.contextmanager
        def as_tuned():
            with mixed_precision(model.device), styled(model, config.style_strength):
                yield

        @contextlib.contextmanager
        def as_base():
            with mixed_precision(model.device), model.disable_adapter():
                yield

    chooser = None
    if config.candidates > 1:
        with as_tuned():
            chooser = Chooser.load(run.chooser_dir) or build_for_run(run, tuned, data, progress)

    def tuned_replies(history, sampling) -> tuple[list[dict], int]:
        with as_tuned():
            if chooser is None:
                return [{"text": tuned.reply(history, sampling)}], 0
            candidates = tuned.candidates(history, sampling, config.candidates)
            scores = chooser.scores(candidates)
            scored = [{"text": c.text, "score": float(score)} for c, score in zip(candidates, scores, strict=True)]
            return scored, best_index(scores)

    def base_reply(history, sampling) -> str:
        with as_base():
            return base.reply(history, sampling)

    return tuned_replies, base_reply, chooser


def _metrics(
    data: PersonaData, samples: list[dict], tuned_fit, base_fit, config: EvalConfig, byte_count: int, routes: list[str]
) -> dict:
    persona_train, others_train = texts_by_speaker(data.train, data.persona)
    persona_val, others_val = texts_by_speaker(data.val, data.persona)
    chose = samples and "first" in samples[0]
    kinds = ("real", "tuned", "base", *(("first",) if chose else ()), *routes)
    replies = {kind: [sample[kind] for sample in samples] for kind in kinds}
    generated = kinds[1:]
    compared = replies | {"training": persona_train}  # the persona's own replies before the held-out period too
    metrics = {
        "held_out": _held_out_span(data)
        | {"persona_turns": data.target_turns(data.val), "tokens": tuned_fit.tokens, "samples": len(samples)},
        "fit": {
            name: asdict(fit) | {"bits_per_byte": bits_per_byte(fit, byte_count)}
            for name, fit in (("tuned", tuned_fit), ("base", base_fit))
        },
        "style": {kind: style_of(texts).to_dict() for kind, texts in compared.items()},
        "lengths": {kind: length_quantiles(texts) for kind, texts in compared.items()},
        "settings": asdict(config),
        "routes": ["tuned", "base", *routes],  # every clone asked, measured alike: the local run's two first
    }
    if persona_train and others_train:
        judge = WhoSaidIt(persona_train, others_train, seed=config.seed)
        auc = judge.auc(persona_val, others_val, seed=config.seed)
        metrics["attribution"] = {
            **{kind: intervals.share(judge.attributed(texts), config.seed) for kind, texts in replies.items()},
            "others_held_out": intervals.share(judge.attributed(others_val), config.seed),
            "persona_held_out": intervals.share(judge.attributed(persona_val), config.seed),
            "judge_auc": auc,
            "trusted": auc["value"] is not None and auc["value"] >= TRUSTED_AUC,
            "training_messages": judge.training_messages,
        }
    kept = frozenset(frequent_words(persona_train, twosample.STYLE_WORDS))
    for name, words in (("c2st", None), ("c2st_style", kept)):
        tests = {
            kind: twosample.accuracy(replies["real"], replies[kind], config.seed, kept=words) for kind in generated
        }
        metrics[name] = tests | {"paired": twosample.paired(tests["tuned"], tests["base"])}
        if "first" in tests:  # the chosen reply against the first sample: what choosing gained
            metrics[name]["paired_first"] = twosample.paired(tests["tuned"], tests["first"])
    training_texts = persona_train + others_train
    copies = CopyDetector(training_texts)
    metrics["memorisation"] = {"span_words": copies.span_words} | {
        kind: intervals.share(copies.copied(texts), config.seed) for kind, texts in replies.items()
    }
    metrics["pii_leakage"] = {kind: len(leaked_personal_data(replies[kind], training_texts)) for kind in generated}
    return metrics


def _held_out_span(data: PersonaData) -> dict:
    """When the held-out period is, and whether it is wide enough to judge a person rather than a few days' talk."""
    days = {turn.start.date() for session in data.val for turn in session.turns}
    narrow = len(days) < NARROW_DAYS or len(data.val) < NARROW_CONVERSATIONS
    return {
        "first": _day(data.val, "start"),
        "last": _day(data.val, "end"),
        "days": len(days),
        "conversations": len(data.val),
        "narrow": narrow,
        "rule": data.hold_out,
        "none": not data.val,  # nothing held out: the replies were judged on the training period
    }


def texts_by_speaker(sessions, persona: str) -> tuple[list[str], list[str]]:
    mine, theirs = [], []
    for session in sessions:
        for turn in session.turns:
            if turn.has_words:
                (mine if turn.sender == persona else theirs).append(turn.text)
    return mine, theirs


def _day(sessions, end: str) -> str | None:
    if not sessions:
        return None
    moment = sessions[0].start if end == "start" else sessions[-1].end
    return f"{moment:%Y-%m-%d}"
