"""Verification: schema fingerprints (and, later, reversibility proofs and traces)."""
