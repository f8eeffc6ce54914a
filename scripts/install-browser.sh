#!/usr/bin/env bash
# Debian's headless Chromium and a CJK font for the browser test (Playwright drives /usr/bin/chromium;
# `playwright install` is never used). Needs root or sudo; skips what is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null
