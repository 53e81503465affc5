"""Step 1: metric depth from video. Backends behind one registry (`registry`), the
temporal stabiliser (`stabilise`), relative-to-metric alignment (`metric_align`) and the
resumable step itself (`step.convert`). Heavy packages load only inside a backend."""
