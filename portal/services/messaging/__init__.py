"""Who is told what (notifications), composing and sending email, the periodic reminders."""
