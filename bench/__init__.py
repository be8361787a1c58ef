"""Side-by-side benchmarks of neurona against its peers (run: python -m bench)."""
