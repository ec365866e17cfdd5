"""Complaints: intake, the lifecycle actions, clocks, and the audit trail of each case."""
