"""Reading and checking every input: the appeal, its words, endorsements, sign-on settings, letters."""
