"""Finishing stages on PDF bytes: PDF/A and PDF/UA, PDF/X, imposition, concatenation, signing."""
