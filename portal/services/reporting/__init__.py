"""The numbers: KPI assessment, PDF service summaries, exports and statements, billable work."""
