"""IAM for the local stack: who is calling (``principals``), what the call needs
(``request_resources``), whether the principal's identity policies allow it
(``policy_evaluation`` on moto's evaluator, ``policy_language`` for what moto gets wrong), the
refusal in AWS's shape and the on/off switch (``enforcement``), and the credentials each
function, state machine, rule and person acts with (``credentials``). moto reaches it through
``aws.moto_patches.iam_enforcement``."""
