"""`make bench`: throughput, memory, report and delta figures of the sync, beside its peers."""
