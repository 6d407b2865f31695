"""End-to-end tests: the real bot against a strict fake Telegram Bot API on loopback."""
