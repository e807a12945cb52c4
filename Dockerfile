# netmon: network monitoring for the Trà Vinh province WAN.
#   docker build -t netmon:0.1.0 .          (docker-compose.yml builds it as the `netmon` service)
# Runs `netmon run` as an unprivileged user; /metrics, /healthz and /readyz on :9750, SNMP traps on :1162/udp.
# Settings are NETMON_* environment variables (netmon/settings.py); the inventory is /app/inventory (the
# sample province is baked in; mount your own over it). Secrets are never in the image: the inventory's
# credential profiles reference env:NAME or file:/run/secrets/NAME.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY netmon ./netmon
RUN python -m venv /opt/netmon && /opt/netmon/bin/pip install .

FROM python:3.11-slim-bookworm
# ICMP (loss, RTT, and "down" needs ICMP *and* SNMP failing) uses raw sockets: give the interpreter
# CAP_NET_RAW as a file capability, so the non-root user can ping when NETMON_ICMP=true (Docker's default
# capability set includes NET_RAW; drop it with cap_drop to forbid).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && setcap cap_net_raw+ep "$(readlink -f /usr/local/bin/python3.11)" \
 && apt-get purge -y --auto-remove libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin netmon \
 && mkdir -p /app/data \
 && chown netmon:netmon /app/data
COPY --from=build /opt/netmon /opt/netmon
COPY inventory /app/inventory

ENV PATH=/opt/netmon/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NETMON_INVENTORY=/app/inventory \
    NETMON_DATABASE_URL=sqlite:////app/data/netmon.db \
    NETMON_LISTEN=0.0.0.0:9750 \
    NETMON_TRAP_LISTEN=0.0.0.0:1162
WORKDIR /app
USER netmon:netmon
EXPOSE 9750 1162/udp
VOLUME ["/app/data"]

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9750/healthz', timeout=4)"]

CMD ["netmon", "run"]
