"""`make demo`: the main job of jaxloss.

``python -m jaxloss.demo --table`` prints the catalog of every public function on a small
example batch (`jaxloss._catalog`).
"""

from __future__ import annotations

import argparse

from jaxloss import _catalog


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jaxloss.demo", description=__doc__)
    parser.add_argument("--table", action="store_true", help="print the catalog and exit")
    parser.parse_args(argv)
    _catalog.main()


if __name__ == "__main__":
    main()
