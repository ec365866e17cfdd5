"""The inter-bureau exchange: signed JSON envelopes, a transactional outbox, an idempotent inbox,
the transports (in-process for the unified platform, HTTP between separate instances) and the
handlers that turn incoming messages into domain actions. See docs/exchange.md."""
