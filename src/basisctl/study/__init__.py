"""The path study (issue 18): many independent price paths, common random numbers, paired statistics.

``studyfile`` (the pre-registered TOML), ``paths`` (real walk-forward windows), ``generators`` (FHS and Kou
block-bootstrap paths), ``calibrate`` (every rule of a path from its own calibration data), ``batch`` (all
rules on one compiled kernel, metrics inside), ``stats`` (pure statistics), ``run`` (the study end to end).
"""
