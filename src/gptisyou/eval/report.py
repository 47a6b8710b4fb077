"""report.html: one self-contained page (plots embedded as PNG) that shows how well the clone imitates."""

import base64
import html
import io
from pathlib import Path

from gptisyou.eval.verdict import ROUTE_COLUMNS, ROUTE_NAMES, route_rows, share, verdicts
from gptisyou.plots import pyplot
from gptisyou.train.curves import plot_curves

_COLOURS = {"real": "#55a868", "tuned": "#4c72b0", "base": "#c44e52", "others": "#8c8c8c"}


def write(path: Path, metrics: dict, samples: list[dict], training_metrics: list[dict]) -> None:
    persona = html.escape(metrics["persona"])
    figures = [
        _png(lambda out: plot_curves(training_metrics, out)) if training_metrics else None,
        _png(lambda out: _bars(metrics, out)),
        _png(lambda out: _lengths(metrics["lengths"], out)),
    ]
    body = [
        f"<h1>How well does the model write like {persona}?</h1>",
        (
            f"<p class=meta>Run {html.escape(Path(metrics['run']).name)} · base {html.escape(metrics['base'])} · "
            f"{metrics['held_out']['persona_turns']} held-out turns of {persona} in "
            f"{metrics['held_out']['conversations']} conversations {_rule(metrics['held_out'])} "
            f"({metrics['held_out']['first']} to {metrics['held_out']['last']}, {metrics['held_out']['days']} days), "
            "never trained on · "
            f"{metrics['held_out']['samples']} replies generated per model · {metrics['seconds']:.0f} s</p>"
        ),
        "<h2>Verdict</h2><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in verdicts(metrics)) + "</ul>",
        "<h2>What the numbers say</h2><ul>" + "".join(f"<li>{line}</li>" for line in reading(metrics)) + "</ul>",
        _table(metrics),
        "<h2>Plots</h2>",
        *(f'<img alt="plot" src="data:image/png;base64,{figure}">' for figure in figures if figure),
        "<h2>Style, real and generated</h2>",
        _style_table(metrics["style"]),
        (
            "<h2>Held-out moments</h2><p>The same context, three replies: what they really wrote, the tuned model, "
            "the untuned base model.</p>"
        ),
        _samples(samples[:25], persona, metrics.get("routes", ["tuned", "base"])[2:]),
    ]
    path.write_text(_PAGE.format(title=f"gptisyou — {persona}", body="\n".join(body)), encoding="utf-8")


def reading(metrics: dict) -> list[str]:
    """The numbers in plain words."""
    persona = html.escape(metrics["persona"])
    tuned, base = metrics["fit"]["tuned"], metrics["fit"]["base"]
    per_byte = (
        f" ({tuned['bits_per_byte']:.3f} and {base['bits_per_byte']:.3f} bits per byte, which compare across bases)"
        if "bits_per_byte" in tuned
        else ""
    )
    lines = [
        f"<b>Predicting {persona}'s real words.</b> On the held-out replies the tuned model's perplexity is "
        f"{tuned['perplexity']:.1f}, the base model's {base['perplexity']:.1f}{per_byte}: "
        + (
            f"the tuned model is {base['perplexity'] / tuned['perplexity']:.1f} times less surprised by what {persona} "
            f"actually wrote."
            if tuned["perplexity"] < base["perplexity"]
            else "tuning did not make it better at predicting them (too few steps, or too little data?)."
        )
        + f" It guesses the next token right {tuned['token_accuracy']:.0%} of the time (base: {base['token_accuracy']:.0%})."
    ]
    attribution = metrics.get("attribution")
    if attribution and attribution["trusted"]:
        lines.append(
            f"<b>Who said it?</b> A judge trained on the real messages tells {persona} from the others by how they "
            f"write (punctuation, casing, emoji, length, frequent words). It attributes "
            f"{share(attribution['real'])} of {persona}'s real held-out replies to {persona} (the ceiling) "
            f"and {share(attribution['others_held_out'])} of the others' (the floor). Tuned replies: "
            f"{share(attribution['tuned'])}; base replies: {share(attribution['base'])}."
        )
    memorisation = metrics["memorisation"]
    lines.append(
        f"<b>Copying.</b> {share(memorisation['tuned'])} of the tuned replies contain a run of "
        f"{memorisation['span_words']} words found verbatim in the training messages (base: "
        f"{share(memorisation['base'])}); it should stay near zero. Leaked phone numbers or e-mail addresses from the "
        f"training data: {metrics['pii_leakage']['tuned']} (base: {metrics['pii_leakage']['base']})."
    )
    style = metrics["style"]
    lines.append(
        f"<b>Style.</b> {persona}'s real replies average {style['real']['words']:.1f} words in "
        f"{style['real']['bubbles']:.1f} bubbles; the tuned model's {style['tuned']['words']:.1f} words in "
        f"{style['tuned']['bubbles']:.1f}, the base model's {style['base']['words']:.1f} in {style['base']['bubbles']:.1f}."
    )
    if metrics.get("held_out", {}).get("none"):
        lines.append(
            "<b>Nothing was held out.</b> This run trained on every conversation, so its replies were judged on "
            "moments it learned from: the figures flatter the clone. Train with held-out conversations to measure it."
        )
    elif shift := _held_out_shift(style):
        lines.append(shift)
    lines.append("A 270M model learns tone, length and pet phrases, not facts: read the replies below as style.")
    return lines


def _rule(held_out: dict) -> str:
    """How the held-out conversations were chosen (a run from before the rule was recorded held out the latest)."""
    if held_out.get("rule") == "spread":
        return "spread across the chat"
    return "at its end (the latest: this measures drift as much as imitation)"


def _held_out_shift(style: dict) -> str | None:
    """A warning when the held-out replies are much longer or shorter than the persona's usual ones: then the
    evaluation judges an unusual stretch of the chat, and a clone that writes like the person looks wrong."""
    usual, held_out = style["training"]["words"], style["real"]["words"]
    if not usual or not held_out or 2 / 3 <= held_out / usual <= 3 / 2:
        return None
    return (
        f"<b>An unusual held-out period.</b> The held-out replies average {held_out:.1f} words in "
        f"{style['real']['bubbles']:.1f} bubbles, the training period's {usual:.1f} words in "
        f"{style['training']['bubbles']:.1f}: the comparison with generated replies reflects that stretch of the "
        "chat as much as the clone (see the length plot)."
    )


def _table(metrics: dict) -> str:
    tuned, base = metrics["fit"]["tuned"], metrics["fit"]["base"]
    rows = [
        (
            "Perplexity on held-out replies (lower is better)",
            f"{base['perplexity']:.1f}",
            f"{tuned['perplexity']:.1f}",
            "",
        ),
        ("Loss (cross-entropy per token)", f"{base['loss']:.3f}", f"{tuned['loss']:.3f}", ""),
        ("Token accuracy", f"{base['token_accuracy']:.1%}", f"{tuned['token_accuracy']:.1%}", ""),
    ]
    attribution = metrics.get("attribution")
    if attribution and attribution["trusted"]:
        rows.append(
            (
                "Attributed to the persona",
                share(attribution["base"]),
                share(attribution["tuned"]),
                share(attribution["real"]),
            )
        )
    for key, what in (("c2st", "by content and style"), ("c2st_style", "by style alone")):
        if tests := metrics.get(key):
            rows.append(
                (
                    f"Told apart from the real replies {what} (0.5 = not at all)",
                    share(tests["base"]),
                    share(tests["tuned"]),
                    "",
                )
            )
    memorisation = metrics["memorisation"]
    rows.append(
        (
            "Replies copying 8+ words of training data",
            share(memorisation["base"]),
            share(memorisation["tuned"]),
            share(memorisation["real"]),
        )
    )
    rows.append(
        (
            "Leaked phone numbers / e-mails",
            str(metrics["pii_leakage"]["base"]),
            str(metrics["pii_leakage"]["tuned"]),
            "",
        )
    )
    cells = "".join(f"<tr><td>{name}</td><td>{b}</td><td>{t}</td><td>{r}</td></tr>" for name, b, t, r in rows)
    table = f"<table><tr><th></th><th>Base</th><th>Tuned</th><th>Real replies</th></tr>{cells}</table>"
    return table + _choosing_table(metrics) + _routes_table(metrics)


def _routes_table(metrics: dict) -> str:
    """Every route asked for the same moments, measured alike, where more than the local run's two were."""
    if len(metrics.get("routes", [])) < 3:
        return ""
    header = "".join(f"<th>{html.escape(column)}</th>" for column in ROUTE_COLUMNS)
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in route_rows(metrics)
    )
    return f"<h3>Every route on the same moments</h3><table><tr>{header}</tr>{cells}</table>"


def _choosing_table(metrics: dict) -> str:
    """The tuned model's first sample beside the reply the chooser kept, where it chose."""
    if "first" not in metrics.get("c2st", {}):
        return ""
    rows = [
        (what, share(metrics[key]["first"]), share(metrics[key]["tuned"]), f"{metrics[key]['paired_first']['p']:.2g}")
        for key, what in (("c2st", "Told apart by content and style"), ("c2st_style", "Told apart by style alone"))
    ]
    if (attribution := metrics.get("attribution")) and attribution["trusted"]:
        rows.append(("Attributed to the persona", share(attribution["first"]), share(attribution["tuned"]), ""))
    style = metrics["style"]
    rows.append(("Words per reply", f"{style['first']['words']:.1f}", f"{style['tuned']['words']:.1f}", ""))
    cells = "".join(f"<tr><td>{name}</td><td>{f}</td><td>{c}</td><td>{p}</td></tr>" for name, f, c, p in rows)
    count = metrics["settings"]["candidates"]
    return (
        f"<h3>Chosen among {count} samples</h3><table><tr><th></th><th>First sample</th>"
        f"<th>Chosen</th><th>Paired p</th></tr>{cells}</table>"
    )


def _style_table(style: dict) -> str:
    names = {
        "words": "words per reply",
        "bubbles": "bubbles per reply",
        "emoji": "with emoji",
        "questions": "with a question mark",
        "exclamations": "with an exclamation mark",
        "capitalised": "starting with a capital",
        "final_period": "ending in a full stop",
    }
    kinds = ("training", "real", "tuned", "base")
    rows = []
    for key, name in names.items():
        values = [style[kind][key] for kind in kinds]
        shown = [f"{v:.1f}" if key in ("words", "bubbles") else f"{v:.0%}" for v in values]
        rows.append(f"<tr><td>{name}</td>" + "".join(f"<td>{v}</td>" for v in shown) + "</tr>")
    for key in ("top_words", "language"):
        values = [style[kind][key] for kind in kinds]
        shown = [html.escape(", ".join(v) if isinstance(v, list) else v) for v in values]
        rows.append(f"<tr><td>{key.replace('_', ' ')}</td>" + "".join(f"<td>{v}</td>" for v in shown) + "</tr>")
    header = "<th></th><th>Real, training period</th><th>Real, held out</th><th>Tuned</th><th>Base</th>"
    return f"<table><tr>{header}</tr>" + "".join(rows) + "</table>"


def _samples(samples: list[dict], persona: str, routes: list[str]) -> str:
    """The first held-out moments with every reply: real, tuned, base and the other `routes`'."""
    rows = []
    for sample in samples:
        context = "".join(
            f"<div><b>{html.escape(line['speaker'])}:</b> {_lines(line['text'])}</div>"
            for line in sample["context"][-4:]
        )
        replies = "".join(
            f"<td class={kind}>{_lines(sample[kind]) or '<i>(nothing)</i>'}</td>"
            for kind in ("real", "tuned", "base", *routes)
        )
        rows.append(f"<tr><td class=context>{context}</td>{replies}</tr>")
    more = "".join(f"<th>{html.escape(ROUTE_NAMES.get(route, route))}</th>" for route in routes)
    header = f"<tr><th>Context</th><th>{persona} (real)</th><th>Tuned model</th><th>Base model</th>{more}</tr>"
    return f"<table class=samples>{header}{''.join(rows)}</table>"


def _lines(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def _png(draw) -> str:
    buffer = io.BytesIO()
    draw(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _bars(metrics: dict, out) -> None:
    plt = pyplot()
    panels = 2 if metrics.get("attribution", {}).get("trusted") else 1
    figure, axes = plt.subplots(1, panels, figsize=(7, 3.2), dpi=110, squeeze=False)
    fit = metrics["fit"]
    axes[0][0].bar(
        ["base", "tuned"],
        [fit["base"]["perplexity"], fit["tuned"]["perplexity"]],
        color=[_COLOURS["base"], _COLOURS["tuned"]],
    )
    axes[0][0].set_title("perplexity on held-out replies\n(lower is better)", fontsize=10)
    if panels == 2:
        attribution = metrics["attribution"]
        kinds = ["others", "base", "tuned", "real"]
        figures = [attribution[key] for key in ("others_held_out", "base", "tuned", "real")]
        values = [figure["value"] for figure in figures]
        errors = [
            [v - f["low"] for v, f in zip(values, figures, strict=True)],
            [f["high"] - v for v, f in zip(values, figures, strict=True)],
        ]
        axes[0][1].bar(kinds, values, yerr=errors, capsize=4, color=[_COLOURS[kind] for kind in kinds])
        axes[0][1].set_ylim(0, 1)
        axes[0][1].set_title("share attributed to the persona\n(real = ceiling, others = floor)", fontsize=10)
    figure.tight_layout()
    figure.savefig(out, format="png")
    plt.close(figure)


def _lengths(lengths: dict, out) -> None:
    """Words and bubbles per reply, as boxes (10th, 25th, 50th, 75th and 90th percentile): the persona's replies
    of the training period and of the held-out period, and the models' held-out replies."""
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(8, 3.2), dpi=110)
    kinds = ("training", "real", "tuned", "base")
    labels = {"training": "real\n(training)", "real": "real\n(held out)", "tuned": "tuned", "base": "base"}
    for panel, measure in zip(axes, ("words", "bubbles"), strict=True):
        boxes = []
        for kind in kinds:
            low, q1, median, q3, high = lengths[kind][measure]
            boxes.append({"label": labels[kind], "whislo": low, "q1": q1, "med": median, "q3": q3, "whishi": high})
        drawn = panel.bxp(boxes, showfliers=False, patch_artist=True)
        for box, kind in zip(drawn["boxes"], kinds, strict=True):
            box.set_facecolor(_COLOURS["real" if kind == "training" else kind])
            box.set_alpha(0.45 if kind == "training" else 0.8)
        panel.set_title(f"{measure} per reply (10th to 90th percentile)", fontsize=10)
    figure.tight_layout()
    figure.savefig(out, format="png")
    plt.close(figure)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #1d2327; }}
h1 {{ font-size: 1.6em; }} .meta {{ color: #667; }}
table {{ border-collapse: collapse; margin: 1em 0; width: 100%; }}
th, td {{ border-bottom: 1px solid #dde; padding: .35em .6em; text-align: left; vertical-align: top; }}
img {{ max-width: 100%; display: block; margin: 1em 0; }}
.samples {{ table-layout: fixed; }} .samples td {{ font-size: 14px; overflow-wrap: anywhere; }} .context {{ color: #555; }}
td.real {{ background: #eef7f0; }} td.tuned {{ background: #eef2fa; }} td.base {{ background: #fbefef; }}
</style></head>
<body>
{body}
</body></html>
"""
