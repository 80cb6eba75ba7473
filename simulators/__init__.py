"""Stand-ins for the systems lienthong reads from: WSGI apps serving each source's contract over
deterministic data, with fault knobs, so every sync, test and demo runs without the real systems."""
