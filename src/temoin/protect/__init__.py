"""Stage 4, protect: find faces, anonymise them irreversibly, strip metadata, audit the result.

Nothing leaves the archive without passing through here: a missed face on a published photo can
put a person who did not consent in danger, so every step errs towards covering too much.
"""
