"""Key accounts as the back office keeps them: their record and classification (accounts)."""
