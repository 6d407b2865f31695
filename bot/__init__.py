"""Tapestry: a multilingual Telegram bot that connects residents with local help."""
