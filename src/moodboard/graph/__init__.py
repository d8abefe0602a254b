"""Taste graph: pin-board-user CSR snapshots, Pixie random walks, real-time overlay, PinnerSage profiles."""
