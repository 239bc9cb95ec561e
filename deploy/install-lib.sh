# Shared by deploy/install.sh and deploy/install-central.sh (sourced, never run): the plan's
# headings, and commands and files that a dry run prints instead of doing. Needs DRY (0 or 1).
step() { echo; echo "== $*"; }
run() {
  if [ "$DRY" -eq 1 ]; then printf '+ %s\n' "$*"; else "$@"; fi
}
write() {  # write FILE MODE < content
  local file=$1 mode=$2
  if [ "$DRY" -eq 1 ]; then echo "+ write $file (mode $mode)"; cat >/dev/null; else
    install -D -m "$mode" /dev/stdin "$file"; fi
}
need_root() {
  if [ "$DRY" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "error: run as root (sudo $0), or with --dry-run to see the plan" >&2; exit 1
  fi
}
