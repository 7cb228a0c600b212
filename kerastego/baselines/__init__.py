"""Non-deep baselines to compare the detectors with (optional extra `baselines`)."""
