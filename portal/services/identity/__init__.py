"""Sign-in, sessions, passwords, and an account's own users."""
