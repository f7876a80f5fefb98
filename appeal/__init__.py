"""The print-ready edition of the Joint Appeal: YAML data to typeset, verifiable PDFs."""

from appeal.layout.fonts import isolate_fontconfig

# Before WeasyPrint is imported anywhere: the build must be unable to reach system fonts.
isolate_fontconfig()
