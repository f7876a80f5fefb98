"""Running a build: workers, the all-or-nothing commit, and watch."""
