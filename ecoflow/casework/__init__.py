"""The casework engine, between the norm and the domains, knowing no request: an action's rules
(engine), the clocks, who may see and do what (access) and the hash-chained trail."""
