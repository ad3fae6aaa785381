"""Railway Infrastructure as Code for godo-streams: the whole project in one file.

`railway config plan` previews and `railway config apply` applies it (Python IaC is in beta:
`pip install railway-sdk`). Three services run from this repository (a Railway service runs
one start command) next to one Redis database: web (the operator API), worker (the
consumers, scaled with replicas) and scheduler (the periodic jobs; standbys wait on a lease).
"""

from __future__ import annotations

from railway_sdk import define_railway, github, project, redis, service

# The GitHub repository Railway builds from: change it to your fork.
REPO = "godo-app/godo-streams"
BRANCH = "main"
WORKER_REPLICAS = 2
# Workers stop reading on SIGTERM and get STREAMS_SHUTDOWN_TIMEOUT_MS (25 s) to finish
# in-flight handlers; Railway sends SIGKILL after drainingSeconds (default 0), so leave margin.
WORKER_DRAINING_S = 30
SHUTDOWN_TIMEOUT_MS = "25000"
RESTART = {"restartPolicyType": "ON_FAILURE", "restartPolicyMaxRetries": 10}


@define_railway
def main(ctx: object = None) -> object:
    db = redis("redis")  # Railway's Redis image, pinned to a major.minor version by the SDK
    env = {
        # Reference to the database's private URL (*.railway.internal, IPv6 in older environments).
        "REDIS_URL": db.env.REDIS_URL,
        "STREAMS_SHUTDOWN_TIMEOUT_MS": SHUTDOWN_TIMEOUT_MS,
        "NOTIFICATIONS_WEBHOOK_HOSTS": "",
    }
    source = github(REPO, branch=BRANCH)
    web = service(
        "web",
        source=source,
        start="streams api --host ::",
        healthcheck="/health",
        healthcheckTimeout=60,
        env=env,
        deploy={**RESTART, "drainingSeconds": 15},
    )
    worker = service(
        "worker",
        source=source,
        start="streams worker",
        replicas=WORKER_REPLICAS,
        env=env,
        deploy={**RESTART, "drainingSeconds": WORKER_DRAINING_S},
    )
    scheduler = service(
        "scheduler",
        source=source,
        start="streams scheduler",
        env=env,
        deploy={**RESTART, "drainingSeconds": 10},
    )
    return project("godo-streams", resources=[db, web, worker, scheduler])
