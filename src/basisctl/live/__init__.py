"""Live and paper operation: venue protocol, simulated venue, Hyperliquid adapter, journal, reconciliation,
controller, API/dashboard and the fault-injection suite (see docs/operations.md)."""
