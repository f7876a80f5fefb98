"""Build the print-ready editions of the Joint Appeal: `python build.py --help`."""

from appeal.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
