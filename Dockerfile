# hgbackup image for the scheduled CronJob (see cronjob.yaml and schedules/).
# Every dependency comes from requirements.lock (exact versions, sha256-checked); scripts/install-locked holds the
# install steps, and scripts/test-install runs them as a non-root user in CI (no Docker engine needed).
FROM python:3.12-slim
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY scripts/install-locked ./scripts/install-locked
COPY hgbackup ./hgbackup
RUN scripts/install-locked /opt/hgbackup && rm -rf /src
ENV PATH=/opt/hgbackup/bin:$PATH
# A fixed non-root user; the CronJob also sets runAsNonRoot and a read-only root filesystem (HOME is /tmp there).
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["hgbackup"]
CMD ["--help"]
