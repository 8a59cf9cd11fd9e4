#!/usr/bin/env bash
# The package as a user gets it: build the wheel, install it into a clean virtual environment
# outside the source tree, and run the installed `alert` from an empty folder:
#   python -m alert --help; alert demo; alert decide laptop-cpu --json (strict JSON);
#   alert reproduce --quick --no-figures --out R, whose report must hold the measured sections
#   (CPU and H100 platforms, sentence task) read from the package data.
# Usage: scripts/check_wheel.sh [PYTHON]   (default .venv/bin/python; it only needs pip)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
py="${1:-.venv/bin/python}"
case "$py" in /*) ;; */*) py="$root/$py" ;; esac
work="$(mktemp -d /tmp/alert-wheel.XXXXXX)"
trap 'rm -rf "$work"' EXIT
t0=$SECONDS
step() { echo "check_wheel: $* ($((SECONDS - t0)) s)"; }

# build from a copy of what the wheel is made of, so a stale build/ of a checkout cannot leak in;
# examples/ comes along because the package data links into it
mkdir "$work/tree" "$work/dist" "$work/run"
cp -a pyproject.toml README.md src examples "$work/tree/"
"$py" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" "$work/tree"
wheel=("$work"/dist/alert_atc-*.whl)
step "built $(basename "${wheel[0]}") ($(du -k "${wheel[0]}" | cut -f1) KiB)"

"$py" -m venv "$work/venv"
venv="$work/venv/bin"
"$venv/pip" install -q --disable-pip-version-check "${wheel[0]}"
step "installed into a clean venv"

cd "$work/run"
where=$("$venv/python" -c "import alert, pathlib; print(pathlib.Path(alert.__file__).parent)")
case "$where" in "$work/venv/"*) ;; *) echo "check_wheel: alert imported from $where, not the venv" >&2; exit 1;; esac
"$venv/python" -m alert --help >/dev/null
"$venv/alert" demo >/dev/null
"$venv/alert" decide laptop-cpu --goal min-energy:deadline=0.2,accuracy=0.88 --json > decide.json
"$venv/python" - decide.json <<'EOF'
import json, sys
def bad(c):
    raise ValueError(f"not strict JSON: {c}")
doc = json.loads(open(sys.argv[1]).read(), parse_constant=bad)
assert doc["model"], doc
EOF
step "python -m alert --help, alert demo, alert decide laptop-cpu --json"

# the installed package evaluates every recorded platform the source tree has
platforms='from alert.cli.evaluation import packaged_platforms as p; print(" ".join(f.name for f in p()[0]))'
want=$(cd "$root" && PYTHONPATH=src "$py" -c "$platforms")
got=$("$venv/python" -c "$platforms")
[ "$want" = "$got" ] || { echo "check_wheel: the wheel has platforms [$got], the source tree [$want]" >&2; exit 1; }

"$venv/alert" reproduce --quick --no-figures --out R >reproduce.log 2>&1 || { cat reproduce.log >&2; exit 1; }
test -s R/results.json
for section in '## Measured platform `this-cpu`' '## Measured platform `h100-gpu`' '## Sentence prediction'; do
  grep -qF "$section" R/report.md || { echo "check_wheel: R/report.md lacks: $section" >&2; head -20 R/report.md >&2; exit 1; }
done
step "alert reproduce --quick from $PWD: report.md has the measured platforms ($got) and the sentence task"
