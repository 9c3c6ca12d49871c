"""The aggregator spot route (1inch / 0x quotes, simulated on-chain settlement in paper mode)."""
