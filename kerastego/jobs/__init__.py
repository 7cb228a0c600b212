"""Jobs: end-to-end work built from the library (demo, detection on files, the CALPA
prune job). They sit above everything else: nothing in the library imports them."""
