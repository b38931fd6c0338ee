"""The backtester."""
