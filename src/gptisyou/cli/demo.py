"""`demo`: the whole product on a bundled sample chat."""

import click

from gptisyou.cli.chats import chats, import_command, people, show
from gptisyou.cli.context import open_store, stderr_console


@click.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Run the product end to end on a bundled sample chat (two real people, 4,981 messages).

    Writes the sample as a WhatsApp export into the workspace, imports it, and shows what came in.
    """
    from gptisyou import demo as sample

    console = stderr_console(ctx)
    console.rule("[bold]1. A WhatsApp export of a real two-person chat (chitchat-dataset, MIT)")
    export = sample.write_sample_export(ctx.obj["workspace"] / "demo")
    console.print(f"wrote {export}")
    console.rule("[bold]2. Import it into the workspace")
    ctx.invoke(import_command, files=(export,))
    console.rule("[bold]3. What is in the workspace")
    ctx.invoke(chats)
    ctx.invoke(people)
    console.rule("[bold]4. The latest messages")
    with open_store(ctx) as store:
        chat_id = max(chat.id for chat in store.chats() if chat.title == "Sam")
    ctx.invoke(show, chat_id=chat_id, last=8)
    console.rule("[bold]Next")
    console.print(f"Try: gptisyou --workspace {ctx.obj['workspace']} show --chat {chat_id} --json | head")
