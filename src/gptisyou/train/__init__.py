"""Local fine-tuning: `local` is the recipe over small components (config, model, batches, loss, evaluation,
checkpoint, distributed). Heavy imports live in here; `config` stays light for the CLI."""
