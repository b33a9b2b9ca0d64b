"""Scheduling of provider work: how many pictures are painted at once, and who waits."""

from bot.jobs.slots import SlotQueue

__all__ = ["SlotQueue"]
