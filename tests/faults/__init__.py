"""Fault injection for tests: a TCP proxy that can cut, refuse and freeze connections."""
