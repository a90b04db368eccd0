"""ODCS conformance corpus: contracts written from the standard's docs, each with a data generator.

Each ``<name>.odcs.yaml`` sits beside ``<name>.py``, whose ``generate(folder, now)`` writes the
tiny data set the contract describes (with known defects) into ``folder``.
"""
