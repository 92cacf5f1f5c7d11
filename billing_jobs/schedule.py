"""The beat schedule, defined once (msp_portal/celery.py installs it). Imports no models.

Times are Asia/Tokyo (CELERY_TIMEZONE; no daylight saving time). Beat only triggers: the scan
decides from the database what is due, so a missed or doubled beat changes nothing.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Every hour at :05: the first scan after midnight runs the day's billing (due cancellations,
    # the 25th's consumption, suspension, reminder days); later scans only retry a day whose run
    # did not succeed. Expires before the next one so a backlog never piles up.
    "billing-scan-hourly": {
        "task": "billing_jobs.tasks.billing_scan",
        "schedule": crontab(minute=5),
        "options": {"expires": 55 * 60},
    },
    # Every hour at :35: delete export files past their retention (the job rows stay as history).
    "exports-expire-hourly": {
        "task": "exports.tasks.expire_exports",
        "schedule": crontab(minute=35),
        "options": {"expires": 55 * 60},
    },
    # Every minute: send the webhook deliveries whose retry is due (and the first attempts a lost
    # worker never made). Expires before the next one so a backlog never piles up.
    "webhooks-retry-every-minute": {
        "task": "webhooks.tasks.retry_due_deliveries",
        "schedule": crontab(),
        "options": {"expires": 55},
    },
}
