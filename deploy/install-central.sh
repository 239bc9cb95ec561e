#!/usr/bin/env bash
# Install silvergym's central side on Debian 12 (or Ubuntu) under systemd: a local Mosquitto, the
# collector on SQLite and the carers' web app, each a unit of its own. Idempotent: run it again after
# an update (the config in /etc/silvergym/central.toml is kept). `--dry-run` prints the plan.
# tests/test_boot.py runs it on a fresh Debian 12 booted under systemd. For a try on a
# workstation without systemd, `make central` starts the same three in the background instead.
#
#   sudo deploy/install-central.sh [--dry-run]
#
# What it does not do (deploy/README.md): open the broker to the Pis (TLS, a password per device),
# put a TLS proxy in front of the web app, or move the store to PostgreSQL.
set -euo pipefail

DRY=0
usage="usage: $0 [--dry-run]"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done

SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/silvergym
STATE=/var/lib/silvergym-central
CONFIG=/etc/silvergym/central.toml

# shellcheck source=deploy/install-lib.sh
. "$(dirname "$0")/install-lib.sh"
need_root
[ "$DRY" -eq 1 ] && echo "dry run: nothing below is executed"

export DEBIAN_FRONTEND=noninteractive
step "1. Debian's packages"
run apt-get update -qq
run apt-get install -y -qq --no-install-recommends ca-certificates rsync python3 python3-venv \
  mosquitto mosquitto-clients fonts-nanum fontconfig

step "2. The silvergym-central user (owns the database; no login)"
if ! id silvergym-central >/dev/null 2>&1; then
  run useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin silvergym-central
fi

step "3. Code and venv in $PREFIX, with the central side's packages (Django, jsonschema, matplotlib, ...)"
run install -d -m 0755 "$PREFIX"
run rsync -a --delete --exclude .git --exclude .venv --exclude out "$SRC/" "$PREFIX/"
if [ ! -x "$PREFIX/.venv/bin/python" ]; then run python3 -m venv "$PREFIX/.venv"; fi
run "$PREFIX/.venv/bin/pip" install --quiet "$PREFIX[central]"

step "4. Config in $CONFIG (kept if present)"
if [ -e "$CONFIG" ]; then echo "kept $CONFIG"; else
  write "$CONFIG" 0644 <<CONF
# The central side (deploy/README.md). Secrets go to /etc/silvergym/central.env (mode 600) as
# SILVERGYM_COLLECTOR_PASSWORD, SILVERGYM_ACK_SECRET, SILVERGYM_WEB_SECRET.
[collector]
db = "$STATE/central.db"      # or postgresql://user@host/silvergym
host = "127.0.0.1"
port = 1883
# carers = ["mailto://..."]   # who hears of every site's falls at once (docs/mqtt.md)
# [collector.site_carers]     # who hears of one site's falls only (a family, a center's staff)
# center1 = ["mailto://...?to=staff@center1.kr"]

[web]
listen = "127.0.0.1"
port = 8090
time_zone = "Asia/Seoul"
# hosts = ["care.example.kr"]; behind_tls = true   # once a TLS proxy is in front
CONF
fi

step "5. Mosquitto: a listener on 127.0.0.1:1883 for the collector (the Pis' TLS listener: deploy/README.md)"
write /etc/mosquitto/conf.d/silvergym-central.conf 0644 < "$SRC/deploy/mosquitto/central-local.conf"
run systemctl enable mosquitto
run systemctl restart mosquitto

step "6. systemd units: silvergym-collector@1 and silvergym-web"
write /etc/systemd/system/silvergym-collector@.service 0644 < "$SRC/deploy/systemd/silvergym-collector@.service"
write /etc/systemd/system/silvergym-web.service 0644 < "$SRC/deploy/systemd/silvergym-web.service"
run systemctl daemon-reload
run systemctl enable silvergym-collector@1.service silvergym-web.service
run systemctl restart silvergym-collector@1.service silvergym-web.service

echo
echo "done: the carers' web app is at http://127.0.0.1:8090/ on this machine; the database is $STATE/central.db"
echo "the first admin: sudo -u silvergym-central $PREFIX/.venv/bin/silvergym users add admin --role admin --config $CONFIG"
echo "see the whole path: $PREFIX/.venv/bin/silvergym send-test --broker 127.0.0.1:1883"
echo "a Pi joins: deploy/README.md, 'A Pi joins' (TLS listener, a password per device; on the Pi: install.sh --bridge)"
echo "logs: journalctl -u 'silvergym-collector@*' -u silvergym-web -f"
