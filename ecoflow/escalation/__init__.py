"""Deadlines that act by themselves: the sweep up the escalation ladder, 督办, 吹哨报到."""
