"""Supervised tasks for neural families: data, tokenizers and metrics."""
