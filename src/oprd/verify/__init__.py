"""Answer checking shared by selection, training and evaluation: extraction, equivalence, majority vote.

Importing this package is cheap; math-verify (and sympy) load on the first equivalence check that needs them.
"""

from oprd.verify.equivalence import is_equivalent, reward_against
from oprd.verify.extract import extract_answer
from oprd.verify.vote import AnswerCluster, cluster_answers, majority_cluster, majority_vote

__all__ = ["extract_answer", "is_equivalent", "reward_against", "cluster_answers", "AnswerCluster", "majority_cluster", "majority_vote"]
