"""Puts the newest `hedgegate bench` results (bench/results/bench-*.json) into README's block between
``<!-- bench:begin -->`` and ``<!-- bench:end -->``, so that README's figures are the run's
(tests/test_bench_smoke.py fails when the two differ).

    hedgegate bench --out bench/results && python bench/update_readme.py
"""

import json
import re
import sys
from pathlib import Path

from hedgegate.host.bench import markdown_table, newest_results

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- bench:begin -->\n)(?:.*?\n)?(<!-- bench:end -->)", re.S)


def readme_with(results_path: Path, readme: str) -> str:
    if not BLOCK.search(readme):
        raise SystemExit("README.md has no <!-- bench:begin --> ... <!-- bench:end --> block")
    text = markdown_table(json.loads(results_path.read_text()))
    png = results_path.with_suffix(".png")
    if png.exists():
        text += "\n\n![latency, tick to recommendation: the FPGA core, the board pin to pin, the model, " \
                "the Rust engine's quoted figures]" \
                f"({png.relative_to(ROOT).as_posix()})"
    return BLOCK.sub(lambda match: match[1] + text + "\n" + match[2], readme)


def main():
    path = newest_results(ROOT / "bench" / "results")
    if path is None:
        sys.exit("no bench/results/bench-*.json: run `hedgegate bench --out bench/results` first")
    readme = ROOT / "README.md"
    readme.write_text(readme_with(path, readme.read_text()))
    print(f"README.md: the figures of {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
