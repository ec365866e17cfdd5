"""The officers' inbox, and the senders that carry notices out (SMS, e-mail)."""
