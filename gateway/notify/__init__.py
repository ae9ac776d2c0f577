"""Notifications: alert transitions sent to people where they are (e-mail, Zalo, SMS, chat).

``config`` (the site file's ``notifications:`` section), ``routing`` (which
transition goes to which channel and when: routes, escalation, quiet hours),
``batching`` (grouping per zone, digests, retry backoff) and ``texts`` (the
messages, Vietnamese or English) are pure. ``outbox`` (SQLite, in the alert
store's transaction), ``channels`` (Apprise and templated HTTP) and
``notifier`` (the delivery loop) are the shell. docs/alerts.md describes it all.
"""
