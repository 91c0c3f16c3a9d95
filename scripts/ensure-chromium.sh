#!/usr/bin/env bash
# Make sure Debian's chromium is there for the Playwright tests; install it with apt when missing and possible.
set -u
for c in chromium chromium-browser; do
  if command -v "$c" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
if [ "$SUDO" != none ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium and CJK fonts for the browser tests..."
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
    && exit 0
  echo "warning: apt-get could not install chromium" >&2
fi
echo "warning: chromium is missing and cannot be installed here; the browser tests will report themselves skipped" >&2
exit 0
