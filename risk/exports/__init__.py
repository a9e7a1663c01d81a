"""Exports (SigmaSight Part II E1 and E2): report files built by a batch job, and the
streamed historical data export."""
