"""Checking a copy of the archive against its embedded source, and its signature."""
