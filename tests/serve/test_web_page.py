"""The chat page in headless Chromium: it loads offline, sends a message and shows the streamed reply."""

import json
import re
from pathlib import Path

import playwright.sync_api as playwright
import pytest
import transformers

from gptisyou.engine.torch_engine import TorchClone
from gptisyou.serve.server import Served, create_app
from tests.conftest import ScriptedModel, live_server

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)"),
]


@pytest.fixture
def browser():
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield launched
        launched.close()


def app_saying(text: str, tiny_base, **options):
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_base)
    return create_app(
        TorchClone(ScriptedModel.saying(text, tokenizer), tokenizer, "Ann"), Served("ann", me="Bob", **options)
    )


def test_a_message_gets_a_streamed_reply_on_a_phone_sized_screen(browser, tiny_base):
    with live_server(app_saying("w1 w2 <eot>", tiny_base)) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        requests = []
        page.on("request", lambda request: requests.append(request))
        page.goto(url)
        expect = playwright.expect
        expect(page.locator("#persona")).to_have_text("Ann")
        expect(page.locator("#status")).to_have_text("online")
        expect(page.locator("#disclosure")).to_contain_text("An AI imitation of Ann")  # said before anything else
        page.fill("#input", "w3 w4")
        page.press("#input", "Enter")
        expect(page.locator(".bubble.mine .text")).to_have_text("w3 w4")
        expect(page.locator(".bubble.theirs .text")).to_have_text("w1 w2")
        expect(page.locator(".bubble.theirs .who")).to_have_text("Ann")
        page.fill("#input", "w5")
        page.click("#send")
        expect(page.locator(".bubble.theirs .text")).to_have_count(2)

        assert all(request.url.startswith(url) for request in requests)  # no CDN, nothing outside the server
        completions = [json.loads(r.post_data) for r in requests if r.url.endswith("/v1/chat/completions")]
        assert completions[0] == {"model": "ann", "stream": True, "messages": [{"role": "user", "content": "w3 w4"}]}
        assert [m["role"] for m in completions[1]["messages"]] == ["user", "assistant", "user"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone


def test_the_page_asks_for_the_api_key_when_the_server_needs_one(browser, tiny_base):
    with live_server(app_saying("w1 <eot>", tiny_base, api_key="sesame")) as url:
        page = browser.new_page()
        page.on("dialog", lambda dialog: dialog.accept("sesame"))
        page.goto(url)
        page.fill("#input", "w3")
        page.press("#input", "Enter")
        playwright.expect(page.locator(".bubble.theirs .text")).to_have_text("w1")


def test_the_quiz_page_is_off_unless_asked_and_then_behind_the_key(browser, tiny_base, workspace):
    from gptisyou.eval.quiz import WebQuiz
    from gptisyou.store.database import Store

    with live_server(app_saying("w1 <eot>", tiny_base)) as url:
        assert browser.new_page().goto(f"{url}/quiz").status == 404  # real messages: not served unless asked

    from tests.conftest import fake_trained_run
    from tests.eval.test_quiz import SAMPLES

    evaluated = fake_trained_run(workspace, samples=SAMPLES)
    app = app_saying("w1 <eot>", tiny_base, api_key="sesame", quiz=WebQuiz(workspace, evaluated, "Ann", seed=1))
    with live_server(app) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.on("dialog", lambda dialog: dialog.accept("sesame"))
        page.goto(f"{url}/quiz")
        expect = playwright.expect
        expect(page.locator("#title")).to_have_text("Which did Ann really write?")
        expect(page.locator(".line")).to_contain_text("[PHONE_1]")
        expect(page.locator(".choices button")).to_have_count(2)
        page.locator(".choices button").first.click()
        expect(page.locator("#result")).to_have_text(re.compile("^(Right|No): "))
        expect(page.locator(".choices button.real")).to_have_count(1)
        expect(page.locator("#score")).to_contain_text("of 1 times")
    with Store.open(workspace) as store:
        assert len(store.quiz.of_run(str(evaluated.directory))) == 1


def test_the_portrait_page_is_off_unless_asked_behind_the_key_and_fetches_nothing_else(
    browser, tiny_base, workspace, tmp_path
):
    from gptisyou.portrait import build, page
    from gptisyou.store.database import Store
    from tests.portrait.test_portrait import _import, _planted_topics

    with live_server(app_saying("w1 <eot>", tiny_base)) as url:
        assert browser.new_page().goto(f"{url}/portrait").status == 404  # real words: not served unless asked
    with _import(workspace, tmp_path, _planted_topics()):
        pass
    with Store.open(workspace) as store:
        html = page.render(build.portrait(store, "Ann"))
    with live_server(app_saying("w1 <eot>", tiny_base, api_key="sesame", portrait=html)) as url:
        viewer = browser.new_page(viewport={"width": 1100, "height": 900})
        requests = []
        viewer.on("request", lambda request: requests.append(request.url))
        viewer.on("dialog", lambda dialog: dialog.accept("sesame"))
        viewer.goto(f"{url}/portrait")
        frame = viewer.frame_locator("#page")
        for heading in (
            "What kind of people they are",
            "At a glance",
            "Rhythm",
            "Voice",
            "What you talked about",
            "Tone",
        ):
            playwright.expect(frame.locator("h2", has_text=heading)).to_have_count(1)
        images = frame.locator("img")
        playwright.expect(images).to_have_count(6)  # the heatmaps, months, reply delays, voices, topics, tone
        widths = [images.nth(i).evaluate("image => image.naturalWidth") for i in range(6)]
        assert all(width > 300 for width in widths)  # every plot decoded and drawn
        assert all(request.startswith((url, "data:", "about:")) for request in requests), requests


def test_a_reply_marked_not_them_on_the_page_is_stored_as_a_correction(browser, tiny_base, workspace):
    from gptisyou.store.database import Store

    Store.open(workspace).close()

    def store_correction(context, reply, rewrite):
        with Store.open(workspace) as store:
            return store.corrections.add("Ann", context, reply, rewrite, via="web")

    with live_server(app_saying("w1 w2 <eot>", tiny_base, corrections=store_correction)) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.on("dialog", lambda dialog: dialog.accept("w9 w9"))
        page.goto(url)
        playwright.expect(page.locator("#status")).to_have_text("online")
        page.fill("#input", "w3 w4")
        page.press("#input", "Enter")
        button = page.locator(".not-them")
        playwright.expect(button).to_have_text("not Ann?")
        button.click()
        playwright.expect(button).to_have_text("noted: the next training learns from it")
    with Store.open(workspace) as store:
        [correction] = store.corrections.of("Ann")
    assert (correction.context, correction.reply, correction.rewrite, correction.via) == (
        (("Bob", "w3 w4"),),
        "w1 w2",
        "w9 w9",
        "web",
    )


def test_without_a_place_to_store_corrections_the_page_offers_none(browser, tiny_base):
    with live_server(app_saying("w1 <eot>", tiny_base)) as url:
        page = browser.new_page()
        page.goto(url)
        page.fill("#input", "w3")
        page.press("#input", "Enter")
        playwright.expect(page.locator(".bubble.theirs .text")).to_have_text("w1")
        playwright.expect(page.locator(".not-them")).to_have_count(0)
