"""Local fine-tuning: the base model, and (to come) the LoRA training recipe. Heavy imports live only in here."""
