"""How well a tuned model imitates its persona, measured on held-out replies (see `evaluate`)."""
