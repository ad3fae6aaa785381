"""Railway Infrastructure as Code for godo-streams: the whole project in one file.

`railway config plan` previews and `railway config apply` applies it (Python IaC is in beta:
`pip install railway-sdk`). The GitHub repository Railway builds from is $GODO_GITHUB_REPO
(owner/name), else this checkout's git remote `origin`; with neither, planning fails saying so. Three services run from this repository (a Railway service runs
one start command) next to one Redis database: web (the operator API), worker (the
consumers, scaled with replicas) and scheduler (the periodic jobs; standbys wait on a lease).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from railway_sdk import define_railway, github, project, redis, service

REPO_VARIABLE = "GODO_GITHUB_REPO"
BRANCH = "main"
WORKER_REPLICAS = 2
# Workers stop reading on SIGTERM and get STREAMS_SHUTDOWN_TIMEOUT_MS (25 s) to finish
# in-flight handlers; Railway sends SIGKILL after drainingSeconds (default 0), so leave margin.
WORKER_DRAINING_S = 30
SHUTDOWN_TIMEOUT_MS = "25000"
RESTART = {"restartPolicyType": "ON_FAILURE", "restartPolicyMaxRetries": 10}
_OWNER_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_GITHUB_URL = re.compile(
    r"^(?:https://(?:[^@/]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)


def repository() -> str:
    """owner/name of the GitHub repository to build: $GODO_GITHUB_REPO, else git remote origin."""
    configured = os.environ.get(REPO_VARIABLE, "").strip()
    if configured:
        if not _OWNER_NAME.match(configured):
            raise SystemExit(f"{REPO_VARIABLE}: expected owner/name, got {configured!r}")
        return configured
    remote = _origin()
    if remote is None:
        raise SystemExit(
            f"railway.py: set {REPO_VARIABLE}=owner/name, the GitHub repository Railway builds "
            "from (this checkout has no git remote 'origin' to take it from)"
        )
    found = _GITHUB_URL.match(remote)
    if found is None:  # the URL is not shown: it may hold a token
        raise SystemExit(
            f"railway.py: git remote 'origin' is not a GitHub repository URL; "
            f"set {REPO_VARIABLE}=owner/name"
        )
    return found["repo"]


def _origin() -> str | None:
    try:
        done = subprocess.run(
            ["git", "remote", "get-url", "origin"],  # noqa: S607  # git from PATH, fixed arguments
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    url = done.stdout.strip()
    return url if done.returncode == 0 and url else None


@define_railway
def main(ctx: object = None) -> object:
    db = redis("redis")  # Railway's Redis image, pinned to a major.minor version by the SDK
    env = {
        # Reference to the database's private URL (*.railway.internal, IPv6 in older environments).
        "REDIS_URL": db.env.REDIS_URL,
        "STREAMS_SHUTDOWN_TIMEOUT_MS": SHUTDOWN_TIMEOUT_MS,
        "NOTIFICATIONS_WEBHOOK_HOSTS": "",
    }
    source = github(repository(), branch=BRANCH)
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
