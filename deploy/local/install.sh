#!/usr/bin/env bash
# Install what the project needs on this machine: the Python environment from the lock file,
# and (as root, when missing) TeX, the fonts of the Typst templates and the PDF tools from
# Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'

if [[ ! -x .venv/bin/python ]]; then
  echo "-- creating .venv"
  "$PYTHON" -m venv .venv
fi
if ! cmp -s requirements.lock .venv/.installed-lock 2>/dev/null; then
  echo "-- installing Python dependencies from requirements.lock"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.lock
  .venv/bin/pip install -q --no-deps -e .
  cp requirements.lock .venv/.installed-lock
fi

debian_packages=()
command -v pdflatex >/dev/null || debian_packages+=(texlive-latex-base texlive-latex-recommended
  texlive-fonts-recommended texlive-latex-extra lmodern)
# the Typst templates' fonts (Typst finds them through fontconfig's configuration)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || debian_packages+=(fonts-dejavu-core)
[[ -d /usr/share/texmf/fonts/opentype/public/lm ]] || debian_packages+=(fonts-lmodern)
[[ -f /etc/fonts/fonts.conf ]] || debian_packages+=(fontconfig-config)
# ... and those of the scripts they show besides Latin: Arabic and Persian, Hebrew
[[ -f /usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf ]] ||
  debian_packages+=(fonts-hosny-amiri)
[[ -f /usr/share/fonts/truetype/culmus/FrankRuehlCLM-Medium.ttf ]] || debian_packages+=(culmus)
command -v pdftotext >/dev/null || debian_packages+=(poppler-utils)
command -v wrk >/dev/null || debian_packages+=(wrk)  # the benchmarks' load generator
command -v npm >/dev/null || debian_packages+=(nodejs npm)  # package.json: the JSON Resume schema, the web client
[[ -x /usr/bin/chromium ]] || debian_packages+=(chromium)  # the browser tests' browser (never a downloaded one)
if ((${#debian_packages[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "!! missing: ${debian_packages[*]} (Debian: sudo apt-get install --no-install-recommends ${debian_packages[*]})" >&2
    exit 1
  fi
  echo "-- installing ${debian_packages[*]} from Debian's packages (TeX takes about 2 minutes)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debian_packages[@]}" >/dev/null
fi
if ! cmp -s package-lock.json node_modules/.installed-lock 2>/dev/null; then
  echo "-- installing JavaScript packages from package-lock.json"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.installed-lock
fi
echo "ok installed"
