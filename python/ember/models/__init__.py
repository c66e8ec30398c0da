"""Reference implementations of model families: one module per architecture (config, model, from_pretrained)."""
