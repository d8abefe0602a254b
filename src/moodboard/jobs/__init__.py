"""Batch jobs (reader -> mapper -> writer): embed, align, index and graph builds that publish snapshots."""
