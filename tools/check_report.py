"""Open a neurona report in headless Chromium, take a screenshot and check that its figures are drawn.

    python tools/check_report.py                         # runs `neurona demo --quick` into a temporary folder
    python tools/check_report.py neurona-report          # checks an existing report (folder or index.html)
    python tools/check_report.py --screenshot shot.png   # keeps the screenshot to look at

What is checked: the HTML embeds every figure as a base64 PNG and loads nothing from the network; Chromium
renders the page (run with --no-sandbox --disable-gpu, so it works in containers); the screenshot holds
as many coloured pixels as figures would paint (a page whose images failed to decode is white and grey).
Needs a Chromium: `chromium`, `chromium-headless-shell` (Debian: apt-get install chromium-headless-shell),
`google-chrome` or `chromium-browser`, or its path in $CHROMIUM; Pillow for the pixel check.

The README's pictures were made with: python tools/check_report.py --full --width 1000 --height 1000
--screenshot docs/images/report.png, and the same with --height 9000 --crop TOP:BOTTOM around the digits
sections for docs/images/report_digits.png
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-headless-shell", "google-chrome", "chromium-browser", "headless_shell")


def find_browser() -> str | None:
    """The path of a Chromium-family browser, or None."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 8000, browser: str | None = None) -> None:
    """Render `html` with headless Chromium into `png` (the top `height` pixels of the page)."""
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium found: install chromium-headless-shell or set $CHROMIUM")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={png}", html.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
    if not png.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot for {html}")


def check_html(html: str) -> int:
    """The number of embedded figures; raises if the page would load anything from outside."""
    if re.search(r'(src|href)="(https?:)?//', html) or "<script" in html or "<link" in html:
        raise AssertionError("the report loads an external resource")
    return len(re.findall(r'<img src="data:image/png;base64,', html))


def coloured_fraction(png: Path) -> float:
    """Fraction of the page body's pixels with clear colour (saturation), which only the figures paint.

    The header band (rows almost entirely one saturated colour) is left out; links add a few pixels only.
    """
    import numpy as np
    from PIL import Image

    saturated = np.asarray(Image.open(png).convert("HSV"))[..., 1] > 60
    body = saturated[saturated.mean(axis=1) < 0.9]
    return float(body.mean()) if body.size else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", help="a report folder or index.html (default: run the demo)")
    parser.add_argument("--full", action="store_true", help="run the full demo rather than --quick")
    parser.add_argument("--screenshot", help="where to keep the screenshot (PNG)")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=8000)
    parser.add_argument("--crop", metavar="TOP:BOTTOM", help="keep only these rows of the screenshot (needs Pillow)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.report:
            html_path = Path(args.report)
            html_path = html_path / "index.html" if html_path.is_dir() else html_path
        else:
            from neurona.cli import main as neurona

            html_path = Path(tmp) / "report" / "index.html"
            if neurona(["demo", "--out", str(html_path.parent)] + ([] if args.full else ["--quick"])) != 0:
                return 1
        figures = check_html(html_path.read_text(encoding="utf-8"))
        png = Path(args.screenshot) if args.screenshot else Path(tmp) / "shot.png"
        screenshot(html_path, png, args.width, args.height)
        try:
            fraction = coloured_fraction(png)
        except ImportError:
            print("Pillow is not installed: pixel check skipped")
            return 0
        print(f"{html_path}: {figures} embedded figures; coloured pixels in the screenshot: {fraction:.1%}")
        if figures and fraction < 0.01:
            print("the figures do not appear in the rendered page", file=sys.stderr)
            return 1
        if args.crop:
            from PIL import Image

            top, bottom = (int(v) for v in args.crop.split(":"))
            Image.open(png).crop((0, top, args.width, bottom)).save(png, optimize=True)
        print(f"screenshot: {png} ({png.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
