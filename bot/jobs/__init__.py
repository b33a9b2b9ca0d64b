"""Jobs: durable requests for pictures, the fair scheduler that starts them, the runner
that makes and posts them, and the reporter that shows their progress."""
