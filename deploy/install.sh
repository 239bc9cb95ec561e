#!/usr/bin/env bash
# Install silvergym on Raspberry Pi OS Bookworm (64-bit) or Debian 12, with or without a Coral
# USB Accelerator. Idempotent: run it again after an update. `--dry-run` prints the plan and
# changes nothing. tests/test_boot.py runs it on a fresh Debian 12 booted under systemd.
#
#   sudo deploy/install.sh [--dry-run] [--bridge central.example.org:8883 --ack-key KEY]
#                          [--models-from DIR] [--libedgetpu FILE]
#
# --ack-key KEY: this device's key for the collector's signed acknowledgements, printed on the
# central server by `silvergym ack-key --site SITE --device DEVICE` (made from the collector's
# secret); kept in /etc/silvergym/environment (mode 0600). With it the uplink deletes a record
# only on the collector's own signed word.
# --models-from DIR: take the model files from a folder (a USB stick, ../shared/models) instead
# of downloading them; checksums are verified either way.
# --libedgetpu FILE: the Edge TPU library to install, a .deb or a libedgetpu.so.1 (default: the
# build README 'Models' names, downloaded when the box can reach it). Whatever it is, it is tried
# in a child process before the Edge TPU model is left enabled.
set -euo pipefail

DRY=0
BRIDGE=""
MODELS_FROM=""
LIBEDGETPU=""
ACK_KEY=""
usage="usage: $0 [--dry-run] [--bridge HOST:PORT [--ack-key KEY]] [--models-from DIR] [--libedgetpu FILE]"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --bridge) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; BRIDGE="$2"; shift ;;
    --models-from) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; MODELS_FROM="$2"; shift ;;
    --libedgetpu) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; LIBEDGETPU="$2"; shift ;;
    --ack-key) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; ACK_KEY="$2"; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$LIBEDGETPU" ] && [ ! -f "$LIBEDGETPU" ]; then
  echo "error: --libedgetpu $LIBEDGETPU is not a file: give the libedgetpu .deb or libedgetpu.so.1" >&2; exit 2
fi
if [ -n "$ACK_KEY" ] && ! [[ "$ACK_KEY" =~ ^[0-9a-f]{64}$ ]]; then
  echo "error: --ack-key is not 64 hex digits: copy what \`silvergym ack-key --site SITE --device DEVICE\` prints on the central server" >&2; exit 2
fi
if [ -n "$MODELS_FROM" ] && [ ! -d "$MODELS_FROM" ]; then
  echo "error: --models-from $MODELS_FROM is not a folder: give the folder that holds the .tflite files" >&2; exit 2
fi

SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/silvergym
CACHE=/var/cache/silvergym/models
# The Edge TPU library built against the TensorFlow closest to the runtime silvergym uses
# (ai-edge-litert); Coral's own libedgetpu1-std 16.0 was built against TensorFlow 2.5 and
# segfaults with any runtime from 2.12 on (README 'Models').
LIBEDGETPU_RELEASE=16.0TF2.19.1-1
LIBEDGETPU_VERSION=16.0tf2.19.1-1

# shellcheck source=deploy/install-lib.sh
. "$(dirname "$0")/install-lib.sh"
need_root
arch=$(uname -m)
[ "$DRY" -eq 1 ] && echo "dry run on $arch: nothing below is executed"

export DEBIAN_FRONTEND=noninteractive
step "1. Debian's packages (a bare Debian 12 lacks even curl and python3)"
run apt-get update -qq
run apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg rsync openssl \
  python3 python3-venv python3-dev mosquitto mosquitto-clients fonts-nanum espeak-ng fontconfig \
  v4l-utils libgl1 libegl1

step "1b. The Edge TPU library (libedgetpu1-std $LIBEDGETPU_VERSION, or --libedgetpu FILE)"
# Without it silvergym runs its CPU model: a box without a Coral, or without the network, still
# gets a working install, and this step says so. Coral's apt repository is not used: its
# libedgetpu1-std 16.0 crashes with the runtime silvergym uses.
debarch=$(dpkg --print-architecture 2>/dev/null || echo "$arch")
if [ -n "$LIBEDGETPU" ]; then
  case "$LIBEDGETPU" in
    *.deb) run apt-get install -y -qq --no-install-recommends "$(readlink -f "$LIBEDGETPU")" ;;
    *) run install -D -m 0644 "$LIBEDGETPU" /usr/local/lib/libedgetpu.so.1 && run ldconfig ;;
  esac
elif [ "$(dpkg-query -W -f='${Version}' libedgetpu1-std 2>/dev/null)" = "$LIBEDGETPU_VERSION" ]; then
  echo "libedgetpu1-std $LIBEDGETPU_VERSION is installed"
else
  deb="libedgetpu1-std_${LIBEDGETPU_VERSION}.bookworm_${debarch}.deb"
  url="https://github.com/feranick/libedgetpu/releases/download/${LIBEDGETPU_RELEASE}/${deb}"
  if [ "$DRY" -eq 1 ]; then echo "+ download $url and apt-get install it"; elif
    curl -fsSL --max-time 60 -o "/tmp/$deb" "$url"; then
    echo "downloaded $deb (sha256 $(sha256sum "/tmp/$deb" | cut -d' ' -f1))"
    run apt-get install -y -qq --no-install-recommends "/tmp/$deb" \
      || echo "note: $deb did not install: silvergym uses its CPU model until it does"
    rm -f "/tmp/$deb"
  else
    echo "note: the Edge TPU library ($url) is unreachable: installing without the Edge TPU runtime;" \
         "silvergym uses its CPU model. Run this script again when it is reachable, or give the file" \
         "with --libedgetpu FILE."
  fi
fi

step "2. The silvergym user (camera: video; Coral: plugdev; screen: render, input; sound: audio)"
# Pi OS has all five groups; a bare Debian lacks render and input until udev makes them, and a
# unit whose SupplementaryGroups names a missing group does not start (status 216/GROUP).
for group in video plugdev render input audio; do
  getent group "$group" >/dev/null || run groupadd --system "$group"
done
if ! id silvergym >/dev/null 2>&1; then
  run useradd --system --home-dir /var/lib/silvergym --shell /usr/sbin/nologin silvergym
fi
run usermod -a -G video,plugdev,render,input,audio silvergym

step "3. udev rule: the Coral in both USB identities, for group plugdev, no sudo"
write /etc/udev/rules.d/99-silvergym-coral.rules 0644 < "$SRC/deploy/udev/99-silvergym-coral.rules"
if command -v udevadm >/dev/null 2>&1 && [ -S /run/udev/control ]; then
  run udevadm control --reload-rules
  run udevadm trigger --subsystem-match=usb
else
  echo "note: udev is not running here (a container?): the rule applies when udev next starts"
fi

step "4. Code and venv in $PREFIX"
run install -d -m 0755 "$PREFIX"
run rsync -a --delete --exclude .git --exclude .venv --exclude out "$SRC/" "$PREFIX/"
if [ ! -x "$PREFIX/.venv/bin/python" ]; then run python3 -m venv "$PREFIX/.venv"; fi
# The same TFLite runtime (ai-edge-litert) on the Pi as on x86_64 (pyproject.toml).
run "$PREFIX/.venv/bin/pip" install --quiet "$PREFIX"

step "5. Models into $CACHE (checksums verified)"
run install -d -o silvergym -g silvergym -m 0755 "$CACHE"
for model in blazepose-full movenet-lightning movenet-lightning-edgetpu; do
  run "$PREFIX/.venv/bin/silvergym" models fetch "$model" --cache "$CACHE" ${MODELS_FROM:+--from "$MODELS_FROM"}
done
run chown -R silvergym:silvergym "$CACHE"

step "6. Config in /etc/silvergym (kept if present)"
fresh_config=0
if [ ! -f /etc/silvergym/silvergym.toml ]; then
  write /etc/silvergym/silvergym.toml 0644 < "$SRC/deploy/silvergym.toml"
  fresh_config=1
fi

step "6b. The Edge TPU library tried in a child process (a crash or hang there harms nothing)"
if [ "$DRY" -eq 1 ]; then echo "+ silvergym edgetpu-probe --config /etc/silvergym/silvergym.toml"; else
  # Its one line on stdout (the runtime's own chatter goes to stderr).
  probe=$("$PREFIX/.venv/bin/silvergym" edgetpu-probe --config /etc/silvergym/silvergym.toml 2>/dev/null | tail -n 1)
  echo "$probe"
  case "$probe" in
    ready:*|"no device:"*|"no library:"*) ;;  # works, or waits for a Coral / a library: the CPU meanwhile
    *)
      if [ "$fresh_config" -eq 1 ]; then
        sed -i 's/^model = "movenet-lightning-edgetpu".*/model = "movenet-lightning"   # the Edge TPU library failed its probe at install (see above)/' \
          /etc/silvergym/silvergym.toml
        echo "note: the Edge TPU model is left off in /etc/silvergym/silvergym.toml until the library works;" \
             "fix what the line above says, then set inference.model = \"movenet-lightning-edgetpu\""
      fi ;;
  esac
fi
if [ ! -f /etc/silvergym/environment ]; then
  printf '# SILVERGYM_MQTT_PASSWORD=... (step 7 writes the local broker password here)\n' | write /etc/silvergym/environment 0600
fi

step "7. Local Mosquitto on 127.0.0.1, with a password (and a bridge to the central broker if --bridge)"
write /etc/mosquitto/conf.d/silvergym.conf 0644 < "$SRC/deploy/mosquitto/local.conf"
# The uplink's login to the local broker: generated once, kept in files only root, mosquitto and
# systemd read (mode 600), never on a command line.
if [ ! -f /etc/mosquitto/silvergym.passwd ]; then
  if [ "$DRY" -eq 1 ]; then echo "+ generate the local broker's password for user silvergym-uplink (files mode 0600)"; else
    password=$(openssl rand -hex 24)
    install -m 0600 -o mosquitto -g mosquitto /dev/null /etc/mosquitto/silvergym.passwd
    printf 'silvergym-uplink:%s\n' "$password" > /etc/mosquitto/silvergym.passwd
    mosquitto_passwd -U /etc/mosquitto/silvergym.passwd
    printf 'SILVERGYM_MQTT_PASSWORD=%s\n' "$password" | write /etc/silvergym/environment 0600
    unset password
  fi
fi
if [ -n "$BRIDGE" ]; then
  # It holds the device's central login: mode 0600, readable by the broker's user only.
  # This box's own topics out and its acknowledgements in, under a client id of its own.
  if [ "$DRY" -eq 1 ]; then echo "+ silvergym bridge --central $BRIDGE > /etc/mosquitto/conf.d/silvergym-bridge.conf (mode 0600)"; else
    "$PREFIX/.venv/bin/silvergym" bridge --central "$BRIDGE" --config /etc/silvergym/silvergym.toml \
      --template "$SRC/deploy/mosquitto/bridge.conf.example" | write /etc/mosquitto/conf.d/silvergym-bridge.conf 0600
  fi
  run chown mosquitto:mosquitto /etc/mosquitto/conf.d/silvergym-bridge.conf
  [ -n "$ACK_KEY" ] || echo "note: no --ack-key: this device will take unsigned acknowledgements; give it its key" \
    "(silvergym ack-key on the central server) and run this again with --ack-key"
fi
if [ -n "$ACK_KEY" ]; then
  if [ "$DRY" -eq 1 ]; then echo "+ put SILVERGYM_ACK_KEY in /etc/silvergym/environment (mode 0600)"; else
    kept=$(grep -v '^SILVERGYM_ACK_KEY=' /etc/silvergym/environment || true)
    printf '%s\nSILVERGYM_ACK_KEY=%s\n' "$kept" "$ACK_KEY" | write /etc/silvergym/environment 0600
    unset kept
  fi
fi
run systemctl enable --now mosquitto
run systemctl restart mosquitto

step "8. systemd units: silvergym@{camera,inference,scoring,renderer,uplink} under silvergym.target"
write /etc/systemd/system/silvergym@.service 0644 < "$SRC/deploy/systemd/silvergym@.service"
write /etc/systemd/system/silvergym.target 0644 < "$SRC/deploy/systemd/silvergym.target"
run systemctl daemon-reload
run systemctl enable silvergym.target
run systemctl restart silvergym.target

step "9. Check"
# doctor reads the broker password from /etc/silvergym/environment as the services do. A missing
# camera or screen is for the carer to plug in, not a failed install: say so, exit 0.
run "$PREFIX/.venv/bin/silvergym" doctor --config /etc/silvergym/silvergym.toml \
  || echo "note: fix what doctor lists above, then check again with: sudo $PREFIX/.venv/bin/silvergym doctor --config /etc/silvergym/silvergym.toml"
echo
echo "done: the TV shows silvergym after boot; logs: journalctl -u 'silvergym@*' -f"
