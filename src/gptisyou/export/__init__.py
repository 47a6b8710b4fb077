"""Taking a clone out of gptisyou: its adapter, a merged model, with a model card."""
