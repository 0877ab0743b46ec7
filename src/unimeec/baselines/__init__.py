"""The two baselines UniMEEC is measured against (METHOD.md section 8).

- :mod:`~unimeec.baselines.cause_rule`: every emotion utterance is caused by itself and the
  previous utterance (on gold or predicted emotions);
- :mod:`~unimeec.baselines.context_classifier`: plain fine-tuning of the same backbone as a
  per-utterance emotion classifier with context (no causal prompt, no THC).

Importing this package is cheap; torch and transformers load with the classifier module.
"""

from unimeec.baselines.cause_rule import apply_cause_rule, self_and_previous_pairs

__all__ = ["apply_cause_rule", "self_and_previous_pairs"]
