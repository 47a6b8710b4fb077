"""`gptisyou eval` end to end on a tiny trained model: every metric, deterministic, a report that renders."""

import json
from html.parser import HTMLParser

import pytest

from gptisyou.eval.config import EvalConfig
from gptisyou.eval.evaluate import evaluate_run
from gptisyou.store.database import Store


@pytest.fixture
def store(trained, workspace):
    with Store.open(workspace) as opened:
        yield opened


def test_every_metric_for_base_and_tuned_deterministically(store, trained):
    directory = evaluate_run(store, trained, EvalConfig(samples=6, max_new_tokens=8, seed=1))
    metrics = json.loads((directory / "metrics.json").read_text())
    assert metrics["persona"] == "Ann"
    assert metrics["held_out"]["samples"] == len(metrics["samples"]) == 6
    assert metrics["fit"]["tuned"]["perplexity"] < metrics["fit"]["base"]["perplexity"]  # it learned the pattern
    tuned, base = metrics["fit"]["tuned"], metrics["fit"]["base"]
    assert 0 < tuned["bits_per_byte"] < base["bits_per_byte"]  # the same order, in a unit that spans tokenizers
    # bits per byte is the loss re-based: nats per token * tokens / ln 2 / bytes, the same bytes for both models
    assert tuned["bits_per_byte"] / base["bits_per_byte"] == pytest.approx(tuned["loss"] / base["loss"])
    assert set(metrics["attribution"]) >= {"real", "tuned", "base", "others_held_out", "judge_auc", "trusted"}
    for figure in (metrics["attribution"]["tuned"], metrics["c2st"]["tuned"], metrics["memorisation"]["tuned"]):
        assert figure["low"] <= figure["value"] <= figure["high"]  # every share with its 95 % interval
    for test in ("c2st", "c2st_style"):  # by content and style, by style alone; tuned and base paired moment by moment
        assert set(metrics[test]) == {"tuned", "base", "paired"}
        assert len(metrics[test]["tuned"]["detected"]) == len(metrics["samples"])
        assert set(metrics[test]["paired"]) == {"tuned_only", "base_only", "p", "significant"}
    assert metrics["held_out"]["days"] >= 1
    assert set(metrics["style"]) == set(metrics["lengths"]) == {"training", "real", "tuned", "base"}
    words = metrics["lengths"]["training"]["words"]  # the persona's replies before the held-out period
    assert words == sorted(words)
    assert words[0] >= 1
    assert metrics["settings"]["max_new_tokens"] == 8
    assert set(metrics["memorisation"]) >= {"tuned", "base", "real"}
    assert metrics["pii_leakage"] == {"tuned": 0, "base": 0}
    sample = metrics["samples"][0]
    assert sample["context"][-1]["speaker"] == "Bob"
    assert set(sample) == {"context", "real", "tuned", "base"}

    again = json.loads(
        (evaluate_run(store, trained, EvalConfig(samples=6, max_new_tokens=8, seed=1)) / "metrics.json").read_text()
    )
    drop = {"seconds"}
    assert {k: v for k, v in again.items() if k not in drop} == {k: v for k, v in metrics.items() if k not in drop}


def test_replies_are_as_long_as_the_persona_s_and_the_period_is_the_run_s(store, trained):
    from gptisyou.store.runs import Run

    run = Run(trained)
    recorded = run.config()
    assert (recorded.hold_out, recorded.held_out_from) == ("spread", None)
    assert run.reply_tokens >= 16
    metrics = json.loads((evaluate_run(store, trained, EvalConfig(samples=2)) / "metrics.json").read_text())
    assert metrics["settings"]["max_new_tokens"] == run.reply_tokens
    assert metrics["held_out"]["rule"] == "spread"
    assert metrics["held_out"]["conversations"] == len(recorded.held_out)
    assert metrics["held_out"]["first"] == recorded.held_out[0][1][:10]  # the run's own conversations


def test_the_report_is_one_self_contained_page(store, trained):
    directory = evaluate_run(store, trained, EvalConfig(samples=6, max_new_tokens=6))
    page = (directory / "report.html").read_text()

    class Collect(HTMLParser):
        images, links, text = [], [], []

        def handle_starttag(self, tag, attrs):
            attributes = dict(attrs)
            if tag == "img":
                self.images.append(attributes["src"])
            if "href" in attributes or (tag == "script" and "src" in attributes):
                self.links.append(attributes)

        def handle_data(self, data):
            self.text.append(data)

    parser = Collect()
    parser.feed(page)
    assert len(parser.images) == 3  # training curves, metric bars, reply lengths and bubbles
    assert all(src.startswith("data:image/png;base64,iVBOR") for src in parser.images)
    assert parser.links == []  # nothing to fetch: it opens offline
    text = " ".join(parser.text)
    assert "How well does the model write like Ann?" in text
    assert "Verdict" in text
    assert "Who said it" in text
    assert "Real or generated, by content and style: a classifier tells the real replies from the tuned" in text
    assert "By style alone (content words masked): told from the real replies" in text
    assert oct((directory / "report.html").stat().st_mode & 0o777) == "0o600"


def test_eval_command_prints_the_key_figures(run, trained):
    result = run("eval", "--as", "Ann", "--samples", "3")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("Predicting Ann's real words: perplexity ") for line in lines)
    assert any(line.startswith("Copying: ") and "≤ 1%: target" in line for line in lines)
    assert lines[-1] == f"report: {trained / 'eval' / 'report.html'}"
    other = run("eval", "--as", "Bob", "--run", trained)
    assert (other.exit_code, other.stderr.strip()) == (2, f"Error: {trained} is not a run of Bob")


def test_choosing_among_candidates_sets_the_first_sample_beside_the_kept_one(store, trained):
    from gptisyou.chooser import Chooser
    from gptisyou.store.runs import Run

    directory = evaluate_run(store, trained, EvalConfig(samples=6, max_new_tokens=6, candidates=3))
    metrics = json.loads((directory / "metrics.json").read_text())
    for sample in metrics["samples"]:
        scores = [candidate["score"] for candidate in sample["candidates"]]
        assert len(scores) == 3
        assert sample["first"] == sample["candidates"][0]["text"]
        assert sample["tuned"] == sample["candidates"][scores.index(max(scores))]["text"]
    assert {"paired", "paired_first", "first"} <= set(metrics["c2st"])
    assert metrics["chooser"]["candidates"] == 4  # what it was built with, on the training period
    assert Chooser.load(Run(trained).chooser_dir) is not None
    assert "Chosen among 3 samples" in (directory / "report.html").read_text()


def test_eval_asks_every_route_for_the_same_moments_and_measures_them_in_one_table(run, trained, monkeypatch):
    from tests.conftest import live_server
    from tests.fake_openai import FakeProvider

    provider = FakeProvider("k")
    provider.models["llama3"] = {"id": "llama3", "object": "model", "created": 0, "owned_by": "local"}
    provider.chat_reply = "w9 w10"
    monkeypatch.setenv("ENDPOINT_KEY", "k")
    with live_server(provider.app()) as url:
        route = f"endpoint:llama3@{url}/v1"
        options = ["--route", "local", "--route", "base", "--route", route, "--api-key-env", "ENDPOINT_KEY"]
        result = run("eval", "--as", "Ann", "--samples", "6", "--max-new-tokens", "6", *options)
    assert result.exit_code == 0, result.output
    metrics = json.loads((trained / "eval" / "metrics.json").read_text())
    assert metrics["routes"] == ["tuned", "base", route]
    assert [sample[route] for sample in metrics["samples"]] == ["w9 w10"] * 6
    assert len(provider.chats) == 6  # one request per moment, each told the card and the training period's replies
    assert all("You are an AI imitation of Ann" in chat["messages"][0]["content"] for chat in provider.chats)
    assert all(route in metrics[key] for key in ("c2st", "c2st_style", "memorisation", "style"))
    rows = [line for line in result.stdout.splitlines() if line.strip().startswith(route)]
    assert len(rows) == 1
    assert "—" in rows[0]  # no perplexity: the endpoint gives no probabilities
    assert "local (tuned run)" in result.stdout
    assert "Every route on the same moments" in (trained / "eval" / "report.html").read_text()


def test_a_route_that_is_none_of_the_known_kinds_is_one_line(run, trained):
    result = run("eval", "--as", "Ann", "--route", "ollama")
    assert result.exit_code == 2
    assert "'ollama': a route is local, base, hosted or endpoint:MODEL@URL" in result.output


def test_a_run_that_held_nothing_out_is_judged_on_its_training_period_and_the_report_says_so(store, trained):
    config_file = trained / "config.json"
    recorded = json.loads(config_file.read_text())
    config_file.write_text(json.dumps(recorded | {"held_out": None, "held_out_from": "2100-01-01T00:00:00"}))
    directory = evaluate_run(store, trained, EvalConfig(samples=3, max_new_tokens=4))
    metrics = json.loads((directory / "metrics.json").read_text())
    assert metrics["held_out"]["none"] is True
    assert len(metrics["samples"]) == 3
    assert "Nothing was held out." in (directory / "report.html").read_text()


def test_the_hosted_route_asks_before_sending_held_out_moments_then_measures_the_hosted_model(
    run, trained, monkeypatch
):
    from gptisyou.store.database import Store
    from tests.conftest import live_server
    from tests.fake_openai import FakeProvider

    provider = FakeProvider("k")
    provider.models["ft:ann"] = {"id": "ft:ann", "object": "model", "created": 0, "owned_by": "me"}
    provider.chat_reply = "w4 w5"
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    with live_server(provider.app()) as url:
        with Store.open(trained.parent.parent.parent) as store:
            store.remote.record(f"{url}/v1", "model", "ft:ann", "Ann")
        options = ("eval", "--as", "Ann", "--samples", "4", "--max-new-tokens", "4", "--route", "hosted")
        refused = run(*options, input="n\n")
        assert refused.exit_code != 0
        assert "never uploaded before" in refused.stderr
        assert provider.chats == []  # nothing left without consent
        result = run(*options, "--yes")
    assert result.exit_code == 0, result.output
    metrics = json.loads((trained / "eval" / "metrics.json").read_text())
    assert metrics["routes"] == ["tuned", "base", "hosted"]
    assert [sample["hosted"] for sample in metrics["samples"]] == ["w4 w5"] * 4
    assert {chat["model"] for chat in provider.chats} == {"ft:ann"}


def test_the_hosted_route_without_a_hosted_model_is_one_line_and_sends_nothing(run, trained, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    result = run("eval", "--as", "Ann", "--samples", "2", "--route", "hosted", "--yes")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: no hosted model of Ann at https://api.openai.com/v1 yet: gptisyou openai train --as Ann"
    )
    assert not (trained / "eval").exists()
