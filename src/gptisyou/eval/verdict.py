"""The evaluation in plain words, one verdict per measure: better than the base model? close to the real person?
Shown first in the report and printed by `gptisyou eval`. Figures come with their 95 % intervals.

The targets are design.md's, each named once here: perplexity ≤ 0.68x the base's; attributed to the persona
≥ 0.9x as often as the real replies and ≥ 20 points more than the base's; told from the real replies by style
alone ≤ 60 % of the time, and by content and style ≥ 8 points less often than the base's replies, significantly
in the paired test; 8-word copies ≤ 1 %.
"""

from gptisyou.eval import twosample
from gptisyou.eval.attribution import TRUSTED_AUC

# the targets, design.md's, each with its reason
PERPLEXITY_RATIO = 0.68  # the tuned model predicts the person's real words clearly better than the base
ATTRIBUTION_RATIO, ATTRIBUTION_GAIN = 0.9, 0.20  # a judge of real messages takes its replies for theirs
STYLE_TWO_SAMPLE = 0.60  # by style alone, a classifier is barely better than chance at telling it from them
TWO_SAMPLE_GAIN = 0.08  # by content and style, clearly (and significantly) closer to them than the base
COPIES = 0.01  # it writes like them without repeating their messages
TARGETS = {  # as docs/quality.md's tables write them, signs included (tests/test_docs.py holds them to it)
    "perplexity": f"≤ {PERPLEXITY_RATIO}\u00d7",
    "attribution": f"≥ {ATTRIBUTION_RATIO}\u00d7 real, ≥ base + {ATTRIBUTION_GAIN * 100:.0f}",
    "two-sample": f"≤ base \u2212 {TWO_SAMPLE_GAIN * 100:.0f}, significant",
    "style": f"≤ {STYLE_TWO_SAMPLE:.0%}".replace("%", " %"),
    "copies": f"≤ {COPIES:.0%}".replace("%", " %"),
}
ROUTE_NAMES = {"tuned": "local (tuned run)", "base": "base (untuned)"}
ROUTE_COLUMNS = ("route", "perplexity", "told apart", "by style alone", "attributed", "copies", "words / bubbles")


def share(figure: dict | None) -> str:
    """`58 % [48-67]`."""
    if not figure or figure.get("value") is None:
        return "—"
    return f"{figure['value']:.0%} [{figure['low']:.0%}-{figure['high']:.0%}]"


def verdicts(metrics: dict) -> list[str]:
    persona = metrics["persona"]
    return [
        line
        for line in (
            _span(metrics),
            _fit(metrics, persona),
            _attribution(metrics, persona),
            _two_sample(metrics),
            _style(metrics),
            _choosing(metrics),
            _routes(metrics, persona),
            _people(metrics, persona),
            _copies(metrics),
        )
        if line
    ]


def _met(ok: bool) -> str:
    return "target met" if ok else "target not met"


def _span(metrics: dict) -> str | None:
    held = metrics["held_out"]
    if not held.get("narrow"):
        return None
    if held.get("rule") == "spread":
        return (
            f"Careful: the held-out set is {held['conversations']} conversation(s) on {held['days']} day(s) "
            "across the chat (its conversations are long: more would pass a fifth of the turns); few to judge "
            "a person rather than a few conversations' topics."
        )
    return (
        f"Careful: the held-out period spans {held['days']} day(s) and {held['conversations']} conversation(s); "
        "too narrow to judge a person rather than a few days' topics."
    )


def _fit(metrics: dict, persona: str) -> str:
    tuned, base = metrics["fit"]["tuned"]["perplexity"], metrics["fit"]["base"]["perplexity"]
    ratio = tuned / base
    better = "better than" if ratio < 1 else "no better than"
    return (
        f"Predicting {persona}'s real words: perplexity {tuned:.1f} against the base's {base:.1f} ({ratio:.2f}x), "
        f"{better} the base; ≤ {PERPLEXITY_RATIO}x: {_met(ratio <= PERPLEXITY_RATIO)}."
    )


def _attribution(metrics: dict, persona: str) -> str | None:
    attribution = metrics.get("attribution")
    if not attribution:
        return None
    auc = attribution["judge_auc"]
    judge = f"AUC {auc['value']:.2f} [{auc['low']:.2f}-{auc['high']:.2f}]" if auc["value"] is not None else "no AUC"
    if not attribution["trusted"]:
        return (
            f"Who said it: the judge tells {persona}'s real held-out turns from the others' with {judge}, below "
            f"{TRUSTED_AUC}: its attributions cannot be trusted for this chat, so none are given as results."
        )
    real, tuned, base = (attribution[kind]["value"] for kind in ("real", "tuned", "base"))
    close = real > 0 and tuned / real >= ATTRIBUTION_RATIO
    gain = tuned - base >= ATTRIBUTION_GAIN
    return (
        f"Who said it (judge {judge}): attributed to {persona}: tuned {share(attribution['tuned'])}, base "
        f"{share(attribution['base'])}, real {share(attribution['real'])}. Tuned vs real "
        f"{tuned / real if real else 0:.2f}x (≥ {ATTRIBUTION_RATIO}x: {_met(close)}); "
        f"{(tuned - base) * 100:+.0f} points over base (≥ +{ATTRIBUTION_GAIN * 100:.0f}: {_met(gain)})."
    )


def _tests(metrics: dict, key: str) -> dict | None:
    """A two-sample test's figures, where there were replies enough for it."""
    tests = metrics.get(key)
    return tests if tests and tests["tuned"].get("value") is not None else None


def _two_sample(metrics: dict) -> str | None:
    if not (tests := _tests(metrics, "c2st")):
        return None
    tuned, base = tests["tuned"]["value"], tests["base"]["value"]
    paired = tests.get("paired")
    if paired is None:  # an evaluation from before the paired test
        closer = "closer to real than the base" if tuned < base else "no closer to real than the base"
        return (
            f"Real or generated: a classifier tells the real replies from the tuned model's {share(tests['tuned'])} "
            f"of the time, from the base model's {share(tests['base'])} (0.5 = indistinguishable); {closer}."
        )
    significant = paired["significant"] and tuned < base
    closer = "closer to the person than the base" if significant else "not significantly closer than the base"
    met = significant and base - tuned >= TWO_SAMPLE_GAIN
    return (
        f"Real or generated, by content and style: a classifier tells the real replies from the tuned model's "
        f"{share(tests['tuned'])} of the time, from the base model's {share(tests['base'])} (0.5 = "
        f"indistinguishable): {(base - tuned) * 100:+.0f} points, {closer} (paired test on the same moments, "
        f"p = {paired['p']:.2g}); ≥ {TWO_SAMPLE_GAIN * 100:.0f} points below the base and significant: "
        f"{_met(met)}."
    )


def _style(metrics: dict) -> str | None:
    if not (tests := _tests(metrics, "c2st_style")):
        return None
    tuned = tests["tuned"]["value"]
    return (
        f"By style alone (content words masked): told from the real replies {share(tests['tuned'])} of the "
        f"time (base {share(tests['base'])}); ≤ {STYLE_TWO_SAMPLE:.0%}: {_met(tuned <= STYLE_TWO_SAMPLE)}."
    )


def _choosing(metrics: dict) -> str | None:
    """What keeping one of several sampled replies gained over the first sample, on the same moments."""
    tests, style = _tests(metrics, "c2st"), _tests(metrics, "c2st_style")
    if not tests or "first" not in tests or not style:
        return None
    count = metrics["settings"]["candidates"]
    return (
        f"Chosen among {count} samples: told apart {share(tests['tuned'])} of the time against the first "
        f"sample's {share(tests['first'])} (paired p = {tests['paired_first']['p']:.2g}); by style alone "
        f"{share(style['tuned'])} against {share(style['first'])} (p = {style['paired_first']['p']:.2g})."
    )


def route_rows(metrics: dict) -> list[tuple[str, ...]]:
    """One row per route asked (`ROUTE_COLUMNS`), the real replies' last for their lengths; perplexity only where
    the route gives its probabilities (the local run and its base)."""
    rows = []
    for route in metrics.get("routes", ["tuned", "base"]):
        fit = metrics["fit"].get(route)
        attribution = metrics.get("attribution", {})
        style = metrics["style"][route]
        rows.append(
            (
                ROUTE_NAMES.get(route, route),
                f"{fit['perplexity']:.1f}" if fit else "—",
                share(metrics["c2st"].get(route)),
                share(metrics["c2st_style"].get(route)),
                share(attribution.get(route)) if attribution.get("trusted") else "—",
                share(metrics["memorisation"].get(route)),
                f"{style['words']:.1f} / {style['bubbles']:.1f}",
            )
        )
    real = metrics["style"]["real"]
    rows.append(("real replies", "", "", "", "", "", f"{real['words']:.1f} / {real['bubbles']:.1f}"))
    return rows


def closest_route(metrics: dict) -> tuple[str, bool] | None:
    """(the route whose replies are told from the real ones least often by style alone, whether it is so
    significantly against every other route in the paired test); None with fewer than three routes."""
    routes = metrics.get("routes", [])
    tests = metrics.get("c2st_style") or {}
    measured = [route for route in routes if (tests.get(route) or {}).get("value") is not None]
    if len(routes) < 3 or len(measured) < 2:
        return None
    best = min(measured, key=lambda route: tests[route]["value"])
    pairs = [twosample.paired(tests[best], tests[other]) for other in measured if other != best]
    return best, all(pair is not None and pair["significant"] for pair in pairs)


def _routes(metrics: dict, persona: str) -> str | None:
    if (closest := closest_route(metrics)) is None:
        return None
    best, significant = closest
    figures = ", ".join(
        f"{ROUTE_NAMES.get(route, route)} {share(metrics['c2st_style'].get(route))}" for route in metrics["routes"]
    )
    said = (
        f"{ROUTE_NAMES.get(best, best)} sounds most like {persona}, significantly against every other route"
        if significant
        else f"no route sounds significantly more like {persona} than the others (paired tests on the same moments)"
    )
    return f"Every route on the same moments, told from the real replies by style alone: {figures}; {said}."


def _people(metrics: dict, persona: str) -> str | None:
    if not (answers := metrics.get("quiz")):
        return None
    return (
        f"People, blind: shown {persona}'s real reply and the clone's, they picked the real one "
        f"{share(answers)} of {answers['n']} times (50 % = they could not tell)."
    )


def _copies(metrics: dict) -> str:
    copies = metrics["memorisation"]
    tuned = copies["tuned"]["value"]
    return (
        f"Copying: {share(copies['tuned'])} of the tuned replies repeat {copies['span_words']}+ words of the "
        f"training messages (base {share(copies['base'])}); ≤ {COPIES:.0%}: {_met(tuned <= COPIES)}."
    )
