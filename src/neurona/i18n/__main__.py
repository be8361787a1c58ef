"""`python -m neurona.i18n`: compile every .po catalogue to its .mo and list messages that lack a translation."""

from __future__ import annotations

import sys
from pathlib import Path

from . import DOMAIN, LOCALE_DIR
from .catalog import TRANSLATED_PACKAGES, compile_mo, extract_messages, parse_po, python_sources


def main() -> int:
    used = extract_messages(python_sources(Path(__file__).resolve().parent.parent, TRANSLATED_PACKAGES))
    missing = 0
    for po in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        messages = parse_po(po.read_text(encoding="utf-8"), str(po))
        po.with_suffix(".mo").write_bytes(compile_mo(messages))
        lacking = sorted(k for k in used if k not in messages)
        missing += len(lacking)
        print(f"{po.with_suffix('.mo')}: {len(messages) - 1} messages; {len(lacking)} used but not translated")
        for key in lacking:
            print(f"  {key!r}  ({', '.join(used[key][:3])})")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
