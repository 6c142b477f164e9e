"""Call flows: the caller's journey from the first ring to a queue, a person or a message.

Pure logic on the injected clock (``runner.FlowRun`` driven through ``runner.FlowIO``),
flows stored as versioned JSON graphs (``flowstore``), prompts made on the box
(``prompts``), waiting-time announcements (``announce``) and voicemail (``voicemail``).
See docs/ivr.md.
"""
