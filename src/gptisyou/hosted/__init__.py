"""Hosted fine-tuning through any OpenAI-compatible fine-tuning API: the original route, opt-in only."""
