"""A hosted clone is prompted exactly as its model was trained: one rendering of the OpenAI chat format."""

from types import SimpleNamespace

from gptisyou.data.conversations import Turn
from gptisyou.data.dataset import Example
from gptisyou.data.formats import openai_record
from gptisyou.engine.responder import Line
from gptisyou.hosted import finetuned as hosted_clone
from gptisyou.store.database import Store


class _Recording:
    """The part of the openai client a clone uses, answering "ok" and keeping what it was sent."""

    def __init__(self) -> None:
        self.sent = []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, messages, **_):
        self.sent.append(messages)
        delta = SimpleNamespace(choices=[SimpleNamespace(finish_reason="stop", delta=SimpleNamespace(content="ok"))])
        return iter([delta])


def _turn(sender: str, text: str) -> Turn:
    from datetime import datetime

    return Turn(sender, (text,), datetime(2024, 1, 1), datetime(2024, 1, 1), True)


def test_a_group_clone_is_prompted_as_its_training_file_was_written():
    turns = [_turn("Bob", "hi all"), _turn("Cat", "yo"), _turn("Ann", "hey")]
    trained = openai_record(Example(1, tuple(turns)), "Ann", group=True)["messages"]
    api = _Recording()
    clone = hosted_clone.HostedClone(api, "ft:model", "Ann", group=True)
    assert clone.reply([Line("Bob", "hi all"), Line("Cat", "yo")]) == "ok"
    assert api.sent[0] == [{k: v for k, v in message.items() if k != "weight"} for message in trained[:3]]
    assert api.sent[0][1]["content"] == "Bob: hi all"  # the other speakers named, as in training


def test_load_knows_from_the_job_whether_its_model_learned_a_group(workspace, monkeypatch):
    monkeypatch.setattr(hosted_clone, "client", lambda target: _Recording())
    target = SimpleNamespace(base_url="http://provider.test/v1")
    with Store.open(workspace) as store:
        store.remote.record(target.base_url, "job", "job-1", "Ann", status="succeeded", group=True)
        store.remote.record(target.base_url, "model", "ft:ann", "Ann", job="job-1")
        assert hosted_clone.load(store, target, "Ann").group is True
        store.remote.record(target.base_url, "job", "job-2", "Ann", status="succeeded", group=False)
        store.remote.record(target.base_url, "model", "ft:ann-2", "Ann", job="job-2")
        assert hosted_clone.load(store, target, "Ann").group is False


def test_a_redacting_hosted_clone_sends_pseudonyms_and_gives_the_real_names_back():
    from gptisyou.data.redact import Redactor

    api = _Recording()
    redactor = Redactor(["Carla Jones"], ["Ann", "Bob", "Carla Jones"])
    clone = hosted_clone.HostedClone(api, "ft:model", "Ann", redactor=redactor)
    pseudonym = redactor.redact("Carla Jones")
    api.chat.completions.create = lambda messages, **_: iter(
        [
            SimpleNamespace(
                choices=[SimpleNamespace(finish_reason="stop", delta=SimpleNamespace(content=f"hi {pseudonym}"))]
            )
        ]
    )
    assert clone.reply([Line("Bob", "did Carla Jones call? +44 7911 123456")]) == "hi Carla Jones"
    sent = _Recording()
    hosted_clone.HostedClone(sent, "ft:model", "Ann", redactor=redactor).reply([Line("Bob", "did Carla Jones call?")])
    assert "Carla" not in str(sent.sent)
    assert pseudonym in str(sent.sent)
