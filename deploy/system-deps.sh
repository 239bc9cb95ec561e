#!/usr/bin/env bash
# System packages silvergym needs on Debian 12 / Ubuntu / Pi OS: a Python venv, Mosquitto (the
# local MQTT broker), a font with Hangul, espeak-ng for voice cues, fontconfig to find the font.
# Installs only what is missing, so a second run is quick. Needs root or sudo for the install.
#   deploy/system-deps.sh [--test | --boot | --boot-arm64]
#   --test: also Chromium, the real browser the carer's report and web app are opened in by make test,
#           and its ChromeDriver (the web app's tests click through it with Selenium)
#   --boot: also debootstrap and systemd-nspawn for make test-boot
#   --boot-arm64: and qemu-user-static (binfmt) and an arm64 C compiler for make test-boot-arm64
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
have mosquitto || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
have mosquitto_passwd || missing+=(mosquitto-clients)
have fc-list || missing+=(fontconfig)
if ! fc-list :lang=ko file 2>/dev/null | grep -q .; then missing+=(fonts-nanum); fi
have espeak-ng || missing+=(espeak-ng)
have openssl || missing+=(openssl)
if [ "${1:-}" = "--test" ]; then
  have chromium || missing+=(chromium)
  have chromedriver || missing+=(chromium-driver)
fi
if [ "${1:-}" = "--boot" ] || [ "${1:-}" = "--boot-arm64" ]; then
  have debootstrap || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
  have systemd-nspawn || missing+=(systemd-container)
fi
if [ "${1:-}" = "--boot-arm64" ]; then
  have qemu-aarch64-static || missing+=(qemu-user-static)
  have update-binfmts || missing+=(binfmt-support)
  have aarch64-linux-gnu-gcc || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing system packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if have sudo; then SUDO="sudo"; else
    echo "error: need root to install ${missing[*]}; run as root or install them with apt" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system-wide broker on install; silvergym's demo and tests start their own on
# 127.0.0.1 and a free port, so the packaged one is left as the distribution configured it.
