"""Laying out HTML with WeasyPrint: templates, the bundled fonts, the fetcher, the box tree."""
