"""The alert sink: the webhook receiver Alertmanager notifies, read back by the harness.

POST /hook (any body) is stamped with its arrival time and kept, and always answered 200: Alertmanager
retries only on 5xx, and a sink that refused a notification would distort the time to notify it
measures. GET /notifications?since=N returns the notifications from index N on, so a poller reads
each one once. The webhook has no sent-at field; the arrival stamp is the notification time.
"""
