# hgbackup image for the scheduled CronJob (see cronjob.yaml and schedules/).
FROM python:3.12-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hgbackup ./hgbackup
RUN pip install --no-cache-dir . && rm -rf /src
# A fixed non-root user; the CronJob also sets runAsNonRoot and a read-only root filesystem (HOME is /tmp there).
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["hgbackup"]
CMD ["--help"]
