"""Answer checking shared by selection, training and evaluation: extraction, equivalence, grading,
majority vote. Behaviour and options: ``docs/grader.md``.

Importing this package is cheap; math-verify (and sympy) load on the first check that needs them.
"""

from oprd.verify.equivalence import is_equivalent
from oprd.verify.extract import extract_answer
from oprd.verify.grade import grade, reward_against
from oprd.verify.options import (
    GraderOptions,
    default_options,
    grader_options_from,
    set_default_options,
    using_options,
)
from oprd.verify.vote import AnswerCluster, cluster_answers, majority_cluster, majority_vote

__all__ = ["extract_answer", "is_equivalent", "grade", "reward_against", "GraderOptions", "default_options",
           "grader_options_from", "set_default_options", "using_options", "cluster_answers", "AnswerCluster",
           "majority_cluster", "majority_vote"]
