#!/usr/bin/env bash
# Install the Debian packages the portal needs, when they are missing.
#   ensure-system-packages.sh run   -> Pango for WeasyPrint's PDFs, the CJK font (required for PDFs in Chinese)
#   ensure-system-packages.sh test  -> also PostgreSQL 15 and Chromium (required by the test suite)
# Uses apt-get as root, or through sudo when that works without a password; otherwise says what to install.
set -euo pipefail
purpose=${1:-run}

required=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)  # WeasyPrint renders PDFs with Pango
optional=(fonts-wqy-microhei)          # Chinese glyphs in PDF summaries
if [ "$purpose" = test ]; then
  required+=(postgresql chromium fonts-wqy-microhei redis-server dovecot-imapd)  # test database; the browser; the PDFs' CJK font; the shared page cache; the IMAP server mail is polled from
elif [ "$purpose" = bench ]; then
  required+=(wrk postgresql)           # the load generator of make bench; its PostgreSQL runs
fi

missing() {
  local out=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || out+=("$pkg")
  done
  echo "${out[@]:-}"
}

want=$(missing "${required[@]}" "${optional[@]}")
[ -z "$want" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  apt=(sudo apt-get)
else
  apt=()
fi

if [ ${#apt[@]} -gt 0 ]; then
  echo "Installing system packages: $want"
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" update -qq
  # shellcheck disable=SC2086
  "${apt[@]}" install -y -qq $want >/dev/null
  exit 0
fi

still_required=$(missing "${required[@]}")
echo "Cannot install system packages here (not root, no password-less sudo). Please run:"
echo "    sudo apt-get install $want"
echo "  fonts-wqy-microhei: Chinese text in PDF summaries (optional for running the portal)"
[ "$purpose" = test ] && echo "  postgresql, chromium, redis-server, dovecot-imapd: the PostgreSQL test run, the browser tests, the shared page cache test, the IMAP test"
if [ -n "$still_required" ]; then
  echo "Missing required packages: $still_required" >&2
  exit 1
fi
