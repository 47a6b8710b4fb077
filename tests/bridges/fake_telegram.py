"""A fake Telegram Bot API server on 127.0.0.1: the methods a bridge calls (getMe, getUpdates, sendMessage,
sendChatAction, setMyName), with the wire format python-telegram-bot speaks (form fields, JSON in the complex
ones; `{"ok": …, "result": …}` back). Tests put updates in and read what the bot sent."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

BOT_ID = 7000
PEOPLE = {42: "Alex", 43: "Stranger", 44: "Kim"}


class FakeTelegram:
    def __init__(self, token: str, bot_name: str = "Sam") -> None:
        self.token, self.bot_name, self.username = token, bot_name, "sam_clone_bot"
        self.updates: list[dict] = []
        self.sent: list[dict] = []  # {"chat_id", "text", …} in order
        self.actions: list[dict] = []
        self.calls: list[str] = []
        self.offsets: list[int | None] = []
        self.fail_next = 0  # answer this many requests with a 502 first
        self.refuse_names = False
        self.refuse_sends = 0  # answer this many sendMessage with 403 Forbidden (a chat that blocked the bot)
        self.next_update, self.next_message = 1, 1
        self.changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what people do --------------------------------------------------------------------------------------

    def says(
        self,
        user: int,
        text: str | None,
        chat: int | None = None,
        group: bool = False,
        mention: bool = False,
        reply_to_bot: bool = False,
        sticker: bool = False,
    ) -> int:
        """Queue a message from `user` (in their private chat, or a group `chat`); returns its update id."""
        chat = chat or user
        message = {
            "message_id": self.next_message,
            "date": int(time.time()),
            "chat": {
                "id": chat,
                "type": "group" if group else "private",
                **({"title": "Friends"} if group else {"first_name": PEOPLE[user]}),
            },
            "from": {"id": user, "is_bot": False, "first_name": PEOPLE[user]},
        }
        if text is not None:
            message["text"] = text
            if mention:
                at = f"@{self.username}"
                message["text"] = f"{at} {text}"
                message["entities"] = [{"type": "mention", "offset": 0, "length": len(at)}]
        if sticker:
            message["sticker"] = {
                "file_id": "s1",
                "file_unique_id": "u1",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        if reply_to_bot:
            message["reply_to_message"] = {
                "message_id": 1,
                "date": int(time.time()),
                "chat": message["chat"],
                "from": self._bot(),
                "text": "earlier",
            }
        with self.changed:
            update_id = self.next_update
            self.updates.append({"update_id": update_id, "message": message})
            self.next_update += 1
            self.next_message += 1
            self.changed.notify_all()
        return update_id

    def raw(self, update: dict) -> int:
        """Queue an update as given (malformed ones too), numbered; returns its number."""
        with self.changed:
            update_id = self.next_update
            self.updates.append({"update_id": update_id, **update})
            self.next_update += 1
            self.changed.notify_all()
        return update_id

    def wait_for(self, condition, timeout: float = 20.0) -> None:
        """Until `condition(self)` holds (the bot is answered in another thread)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition(self):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; sent so far: {[m['text'] for m in self.sent]}"
                self.changed.wait(left)

    def texts(self, chat: int) -> list[str]:
        return [message["text"] for message in self.sent if message["chat_id"] == chat]

    # --- the API -------------------------------------------------------------------------------------------

    def _bot(self) -> dict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _answer(self, method: str, fields: dict):
        with self.changed:
            self.calls.append(method)
            self.changed.notify_all()
        if method == "getMe":
            return self._bot()
        if method == "getUpdates":
            offset = int(fields["offset"]) if "offset" in fields else None
            self.offsets.append(offset)
            with self.changed:
                self.changed.wait_for(lambda: any(u["update_id"] >= (offset or 0) for u in self.updates), timeout=0.2)
                return [u for u in self.updates if offset is None or u["update_id"] >= offset]
        if method == "sendMessage":
            if self.refuse_sends:
                self.refuse_sends -= 1
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            with self.changed:
                sent = {
                    "chat_id": int(fields["chat_id"]),
                    "text": fields["text"],
                    **{key: fields[key] for key in fields if key not in ("chat_id", "text")},
                }
                self.sent.append(sent)
                self.changed.notify_all()
            return {
                "message_id": 10_000 + len(self.sent),
                "date": int(time.time()),
                "text": fields["text"],
                "chat": {"id": int(fields["chat_id"]), "type": "private"},
                "from": self._bot(),
            }
        if method == "sendChatAction":
            self.actions.append(fields)
            return True
        if method == "setMyName":
            if self.refuse_names:
                raise _ApiError(400, "Bad Request: can't change the name")
            with self.changed:
                self.bot_name = fields["name"]
                self.changed.notify_all()
            return True
        raise _ApiError(404, "Not Found: method not found")

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                fields = dict(parse_qsl(body)) if body else {}
                prefix, _, method = self.path.rpartition("/")
                if fake.fail_next:
                    fake.fail_next -= 1
                    return self._reply(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
                if prefix != f"/bot{fake.token}":
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                try:
                    return self._reply(200, {"ok": True, "result": fake._answer(method, fields)})
                except _ApiError as error:
                    return self._reply(error.code, {"ok": False, "error_code": error.code, "description": error.text})

            do_GET = do_POST

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot hung up on a long poll as it stopped

            def log_message(self, *args):  # quiet
                pass

        return Handler


class _ApiError(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text
