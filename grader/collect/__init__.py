"""Stage 1: what students handed in, judged before it runs (archives, cells, the tripwire) and filed
under each student."""
