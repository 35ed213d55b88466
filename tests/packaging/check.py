#!/usr/bin/env python3
"""The packaging check: the Dockerfile, the compose file and the Helm chart, as far as a machine
without a container engine or a cluster allows.

* Dockerfile: hadolint; the build stage's `cargo build --locked` run on exactly the files its
  COPY instructions send (after .dockerignore); the binary so built run as the image would run
  it (its ENV, USER, WORKDIR, ENTRYPOINT and CMD), its HEALTHCHECK command asked, and stopped
  with its STOPSIGNAL.
* compose: `docker-compose config` (the Compose schema), `haproxy -c` on the balancer's file,
  and a node started with the compose file's environment on PostgreSQL.
* Helm chart: `helm lint --strict`, rendered in several configurations and each validated
  against the schemas of the oldest and newest Kubernetes it supports; wrong values refused with
  a message; a node started with the rendered Deployment's environment, arguments and Secret,
  its probes asked, the NOTES' init run, and stopped within its grace period.

Run by scripts/test. Tools come from .test-deps (scripts/install-test-deps.sh). PostgreSQL from
GATEHOUSE_TEST_POSTGRES_URL; without it the runs that need it are skipped, unless CI=true."""

from chart import check_chart
from common import CI
from compose import check_compose
from image import check_dockerfile
from node import postgres_database

if __name__ == "__main__":
    database = postgres_database()
    if database is None:
        if CI:
            raise SystemExit("PostgreSQL is not reachable; CI needs it for the packaging check")
        print("== packaging: PostgreSQL not reachable; the runs on it are skipped")
    binary, image = check_dockerfile()
    check_compose(binary, image, database)
    check_chart(binary, image, database)
    print("== packaging: all checks passed")
