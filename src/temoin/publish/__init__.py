"""Stage 5, publish: stories, the static site, the Atom feed, the newsletter and BagIt export."""
