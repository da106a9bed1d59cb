"""Learning: the actions a response commits to, followed up until done."""
