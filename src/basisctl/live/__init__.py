"""Live and paper operation: venue protocol, simulated venue, aggregator spot route, journal, reconciliation,
controller, API/dashboard and the fault-injection suite (see docs/operations.md). Venue adapters live in
``basisctl.venues.<name>`` (Hyperliquid: ``basisctl.venues.hyperliquid``)."""
