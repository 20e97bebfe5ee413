"""Coverage-guided fuzzing of the C input readers (libFuzzer with ASan and UBSan), seeded from
tests/vectors, and the differential check of the C readers against the Python ones.

`python -m fuzz` (`make fuzz`) builds every target, runs each for a set time and fails on any
finding; tests/fuzz runs a short pass in CI."""
