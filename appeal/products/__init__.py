"""The products of a build: the table of outputs and the recipe that makes each."""
