#!/usr/bin/env bash
# Build textssl's wheel, install it (not editable) into a fresh venv, and use it from outside the checkout.
#
#   .ci/wheel_smoke.sh [PYTHON]      PYTHON: an interpreter whose environment has textssl's dependencies
#                                    (default: python3 on PATH, e.g. the activated .venv)
#
# Offline by construction: the wheel is built without build isolation (setuptools comes from PYTHON's
# environment) and installed with --no-index --no-deps; the fresh venv reaches the dependencies through a .pth
# line naming PYTHON's site-packages. A .pth line only appends a directory to sys.path (the .pth files inside
# it, such as an editable textssl's finder, are not run), so `import textssl` can only find the wheel's copy;
# the script checks that, and runs everything from an empty directory with PYTHONPATH unset.
# SMOKE_QUICKSTART=0 skips the quickstart run (the slowest step, 1.3-2 minutes on 2 shared CPU cores).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${1:-python3}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
unset PYTHONPATH
work="$(mktemp -d "${TMPDIR:-/tmp}/textssl-wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Build from a copy of the tracked and untracked-but-not-ignored files, so stale build/ output never leaks
# into the wheel and the checkout is left untouched.
mkdir "$work/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp -P --parents -t "$work/src")
"$python" -m pip wheel -q --no-deps --no-build-isolation --no-index "$work/src" -w "$work/dist"
wheel="$(ls "$work"/dist/textssl-*.whl)"
echo "built $(basename "$wheel")"

deps="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
"$python" -m venv --without-pip "$work/venv"
site="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$deps" >"$site/_textssl_smoke_deps.pth"
"$python" -m pip --python "$work/venv/bin/python" install -q --no-index --no-deps "$wheel"

mkdir "$work/run"
cd "$work/run"
py="$work/venv/bin/python"
"$py" - "$repo" "$site" "$deps" <<'EOF'
import sys
from pathlib import Path

import textssl
from textssl.glue import compute_metrics
from textssl.tokenization import TOKENIZER_KINDS, load_tokenizer

repo, site, deps = (Path(a).resolve() for a in sys.argv[1:4])
where = Path(textssl.__file__).resolve()
assert where.is_relative_to(site), f"textssl imported from {where}, not from the installed wheel in {site}"
# The dependencies' site-packages may live inside the checkout (CI's .venv); nothing else of it may be on the path.
inside = [p for p in sys.path if Path(p or ".").resolve().is_relative_to(repo)]
assert all(Path(p).resolve().is_relative_to(deps) for p in inside), f"the checkout is on sys.path: {inside}"
assert (where.parent / "py.typed").is_file(), "py.typed is missing from the wheel"
for kind in TOKENIZER_KINDS:
    tok = load_tokenizer(kind)
    assert len(tok) > 16000, (kind, len(tok))
    print(f"tokenizer {kind}: {len(tok)} tokens")
scores = compute_metrics("mrpc", [1, 0, 1, 1], [1, 0, 0, 1])
assert abs(scores["accuracy"] - 0.75) < 1e-9 and abs(scores["f1"] - 0.8) < 1e-9, scores
print("glue metric (mrpc):", scores)
EOF
"$work/venv/bin/textssl" corrupt --strategy whole_word_masking "The quick brown fox jumps over the lazy dog."
"$work/venv/bin/textssl" corrupt --strategy t5_span_corruption "The quick brown fox jumps over the lazy dog."
if [ "${SMOKE_QUICKSTART:-1}" != 0 ]; then
    "$work/venv/bin/textssl" quickstart --steps 50 --seeds 1 --output "$work/run/quickstart"
    for f in pretrain/model/config.json pretrain/model/tokenizer.json glue/results.md; do
        test -s "$work/run/quickstart/$f" || { echo "quickstart did not write $f" >&2; exit 1; }
    done
fi
echo "wheel smoke test passed"
