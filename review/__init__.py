"""``python -m review``: the person in the loop. Unsure photos (LowConfidenceAction Review) wait in
the stack's review queue; a reviewer lists them (``pending``), gives a verdict (``decide``) or uses
the page (``serve``). A verdict completes the waiting execution and joins the reviewed data set."""
