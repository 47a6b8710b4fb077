"""Serving a clone: the OpenAI-compatible HTTP API and the web chat page (`server`, `web/chat.html`)."""
