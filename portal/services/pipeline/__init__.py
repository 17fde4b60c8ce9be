"""The pipeline before a contract (policy chapter 3): potential key accounts (prospects)."""
