"""Intake: complaints in, the case lifecycle, the case record. Others learn of it by events."""
