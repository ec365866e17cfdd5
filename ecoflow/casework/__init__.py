"""The casework engine, knowing no request: taking an action (engine, above the domains whose effects
its table names), and below every domain who may see and do what (access), the clocks and the
hash-chained trail."""
