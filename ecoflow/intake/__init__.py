"""Hotline centres' orders (12345, 12369) and the keys of systems that file complaints by themselves."""
