"""Where the project keeps its data, templates, styles and fonts, wherever it is checked out."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
TEMPLATE_DIR = ROOT / "templates"
STYLE_DIR = ROOT / "styles"
FONT_DIR = STYLE_DIR / "fonts"
OUTPUT_DIR = ROOT / "output"
# The press editions' output intent when no --output-profile is given: FOGRA39 (ISO 12647-2, coated).
DEFAULT_PROFILE = STYLE_DIR / "icc" / "FOGRA39L-coated.icc"
