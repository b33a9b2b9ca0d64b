"""Jobs: durable requests for pictures. The runner makes and posts each one; the line
(its rules in `rules`, in one process or shared by workers) decides when it paints; the
engine (`engine`, `cluster`) runs jobs and sweeps up what nobody runs; the reporter shows
their progress."""
