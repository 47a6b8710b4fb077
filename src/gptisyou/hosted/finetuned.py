"""A hosted fine-tuned model behind the same interface as a local `Clone`: chat, ask and serve use either."""

from collections.abc import Callable, Iterator, Sequence

from gptisyou.data.formats import openai_messages
from gptisyou.data.redact import Redactor
from gptisyou.engine.responder import Line, Sampling, Usage
from gptisyou.errors import InputError
from gptisyou.hosted.providers import Endpoint, client, endpoint, provider_errors
from gptisyou.store.database import Store


class HostedClone:
    def __init__(
        self,
        api,
        model_id: str,
        persona: str,
        group: bool = False,
        redactor: Redactor | None = None,
        provider: str = "",
    ) -> None:
        """`group`: the model was trained on a group chat, where every other speaker's turn carries their name.
        `redactor`: the conversation is sent with its pseudonyms, and the reply comes back whole, the pseudonyms
        put back (None: sent as written, the reply streamed). `provider`: the API's base URL, for people."""
        self.api, self.model_id, self.persona, self.group = api, model_id, persona, group
        self.redactor, self.provider = redactor, provider

    def stream(
        self,
        history: Sequence[Line],
        sampling: Sampling = Sampling(),
        usage: Usage | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        """The persona's next turn from the provider, as it streams; the conversation is sent as it was trained."""
        if self.redactor is not None:
            redacted = [Line(line.speaker, self.redactor.redact(line.text)) for line in history]
            pieces = self._streamed(redacted, sampling, usage, cancelled)
            yield self.redactor.restore("".join(pieces))
            return
        yield from self._streamed(history, sampling, usage, cancelled)

    def _streamed(
        self,
        history: Sequence[Line],
        sampling: Sampling,
        usage: Usage | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        usage = usage or Usage()
        messages = openai_messages(((line.speaker, line.text) for line in history), self.persona, self.group)
        with provider_errors("chat"):
            chunks = self.api.chat.completions.create(
                model=self.model_id,
                messages=messages,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_new_tokens,
                seed=sampling.seed,
                stop=list(sampling.stop) or None,
                stream=True,
            )
            for chunk in chunks:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.finish_reason:
                    usage.finish_reason = choice.finish_reason
                if choice.delta.content:
                    usage.completion_tokens += 1
                    yield choice.delta.content
                if cancelled():
                    return

    def reply(self, history: Sequence[Line], sampling: Sampling = Sampling()) -> str:
        return "".join(self.stream(history, sampling)).strip()


def load(store: Store, target: Endpoint, persona: str) -> HostedClone:
    """The persona's most recent fine-tuned model at this provider.

    Raises:
        InputError: none is recorded (the job has not finished, or nothing was trained there).
    """
    models = [
        m for m in store.remote.objects(persona, kind="model", include_deleted=False) if m.provider == target.base_url
    ]
    if not models:
        raise InputError(
            f"no hosted model of {persona} at {target.base_url} yet: gptisyou openai train --as {persona}"
        )
    jobs = {job.remote_id: job for job in store.remote.objects(persona, kind="job") if job.provider == target.base_url}
    trained_by = jobs.get(models[-1].detail.get("job"))
    group = bool(trained_by and trained_by.detail.get("group"))
    return HostedClone(client(target), models[-1].remote_id, persona, group, provider=target.base_url)


def load_latest(store: Store, persona: str) -> HostedClone:
    """The persona's most recent fine-tuned model, at the provider it was made at.

    Raises:
        InputError: none is recorded, or no API key for that provider.
    """
    models = store.remote.objects(persona, kind="model", include_deleted=False)
    return load(store, endpoint(base_url=models[-1].provider if models else None), persona)
