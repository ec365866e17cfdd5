"""Where notices go beyond the inbox. Configure NOTIFICATION_SENDER with an import path; a
gateway sender (SMS, e-mail) implements send(notification) and raises when it cannot."""

import logging

log = logging.getLogger(__name__)


class LoggingSender:
    """Writes each notice to the log: the default, since no gateway is configured."""

    def send(self, notification):
        log.info(
            "notice to officer %s [%s] %s: %s",
            notification.officer_id,
            notification.kind,
            notification.case_no or "-",
            notification.message,
        )
