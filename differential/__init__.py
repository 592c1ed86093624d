"""The differential default-invariance suite: the same scenarios, run on the pristine release and on the patched
stack with every new keyword left at its default, compared bit for bit."""
