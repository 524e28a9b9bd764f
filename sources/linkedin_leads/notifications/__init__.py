"""Lead notifications: new leads within seconds and deleted leads deleted, beside the pull.

LinkedIn calls a webhook for each lead created or deleted (its "lead notifications"). This
package receives them (``receiver``), writes each to a durable journal before answering
(``journal``), and loads them in micro-batches through the pull's pipeline (``loader``,
``source``), into the same tables with the same rows. ``subscriptions`` creates LinkedIn's
subscriptions for every owner. Run it with ``python -m linkedin_leads.notifications`` (see
``__main__``); its packages are in ``requirements-notifications.txt``. The scheduled pull stays
the backup: a lead whose notification never came is loaded by the next pull, once.
"""
